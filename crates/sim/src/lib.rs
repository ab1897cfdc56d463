//! sensorium-sim: Deterministic synthetic driving scenes with ground truth, written as ROS1 bags.
