//! `sensorium_msgs/Scene` for rosrust: the encoding, md5sum and definition live in
//! [`sensorium_msgs::scene`] (shared with `replay --record`); this adds the raw-message
//! descriptions rosrust publishes with.

pub use sensorium_msgs::scene::*;
use sensorium_msgs::RosMessage;
pub use sensorium_pipeline::publish::occupancy_grid;

/// What rosrust needs to publish raw `sensorium_msgs/Scene` bodies.
pub fn description() -> rosrust::RawMessageDescription {
    rosrust::RawMessageDescription {
        msg_definition: definition().to_string(),
        md5sum: md5sum().to_string(),
        msg_type: DATATYPE.to_string(),
    }
}

/// rosrust description of any message sensorium-msgs encodes.
pub fn description_for<M: RosMessage>() -> rosrust::RawMessageDescription {
    rosrust::RawMessageDescription {
        msg_definition: M::DEFINITION.to_string(),
        md5sum: M::MD5SUM.to_string(),
        msg_type: M::DATATYPE.to_string(),
    }
}
