//! sensorium-geometry: Camera models, extrinsics, transform tree, calibration loaders and LiDAR-to-camera projection.
