//! sensorium-ros: the sensorium node on ROS 1 (rosrust) or ROS 2 (ros2-client on RustDDS), no message
//! codegen for either.
//!
//! Inputs are subscribed as raw bodies (ROS 1 serialization or CDR) and decoded by the same
//! [`sensorium_pipeline::streams::decode`] that replay uses; outputs are encoded by `sensorium-msgs`
//! (OccupancyGrid, MarkerArray, DiagnosticArray) and [`scene_msg`] (`sensorium_msgs/Scene`), published
//! raw with their md5sum and definition on ROS 1 and converted to CDR on ROS 2. One processing loop
//! ([`node`]) serves both.

pub mod diagnostics;
mod input;
pub mod master;
pub mod node;
mod ros1;
pub mod ros2;
pub mod scene_msg;
pub mod settings;

pub use node::{NodeReport, EXIT_MASTER_RESTARTED};
pub use ros1::run_node;
pub use ros2::{run_node_ros2, Ros2Settings};
pub use settings::NodeSettings;
