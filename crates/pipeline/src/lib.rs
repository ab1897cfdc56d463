//! sensorium-pipeline: the perception pipeline assembled — stream decoding, synchronization,
//! encoders, fusion → [`sensorium_core::Scene`]. Shared by `sensorium replay` and the ROS node.

pub mod calibration;
pub mod groundtruth;
pub mod streams;
