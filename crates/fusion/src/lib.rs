//! sensorium-fusion: LiDAR pillarization, point painting, map-text encoding, fusion and open-vocabulary queries into a Scene.
