//! sensorium-ros: the sensorium ROS1 node (rosrust, no message codegen).
//!
//! Inputs are subscribed as raw bodies ([`rosrust::RawMessage`]) and decoded by the same
//! [`sensorium_pipeline::streams::decode`] that replay uses; outputs are encoded by `sensorium-msgs`
//! (OccupancyGrid, DiagnosticArray) and [`scene_msg`] (`sensorium_msgs/Scene`) and published raw with
//! their md5sum and definition.

pub mod diagnostics;
mod input;
pub mod master;
pub mod node;
pub mod scene_msg;
pub mod settings;

pub use node::{run_node, NodeReport, EXIT_MASTER_RESTARTED};
pub use settings::NodeSettings;
