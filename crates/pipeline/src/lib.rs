//! sensorium-pipeline: the perception pipeline assembled — stream decoding, synchronization,
//! encoders, fusion → [`sensorium_core::Scene`]. Shared by `sensorium replay` and the ROS node.

pub mod assembly;
pub mod calib_check;
pub mod calibration;
pub mod groundtruth;
pub mod models;
pub mod perception;
pub mod publish;
pub mod replay;
pub mod runtime;
pub mod sinks;
pub mod staged;
pub mod streams;
pub mod summary;
pub mod trace;
