//! Which topic plays which role, and decoding of a serialized message by its role.
//!
//! The same functions serve replay (bag payloads) and the live node (raw message bodies):
//! a bug found in replay is a bug found live.

// outside bytes (recordings, live topics) pass through here: no panicking shortcuts
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

use crate::groundtruth;
use sensorium_core::{MapText, PointsSoA, RgbImage, Stamp};
use sensorium_fusion::metrics::GroundTruth;
use sensorium_msgs::{
    ros1_name, CameraInfo, CdrMessage, CompressedImage, Image, MsgError, PointCloud2, RosMessage, StringMsg,
    TFMessage,
};

/// The part a topic plays in the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    CameraRaw,
    CameraCompressed,
    CameraInfo,
    Lidar,
    MapText,
    TfStatic,
    GroundTruth,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::CameraRaw => "camera",
            Role::CameraCompressed => "camera_compressed",
            Role::CameraInfo => "camera_info",
            Role::Lidar => "lidar",
            Role::MapText => "map_text",
            Role::TfStatic => "tf_static",
            Role::GroundTruth => "ground_truth",
        }
    }
}

/// Topic names per role (from the configuration).
#[derive(Debug, Clone, PartialEq)]
pub struct TopicMap {
    pub camera: String,
    pub camera_compressed: String,
    pub prefer_compressed: bool,
    pub camera_info: String,
    pub lidar: String,
    pub map_text: String,
    pub tf_static: String,
    pub ground_truth: String,
}

impl TopicMap {
    /// No camera topic configured (image, compressed image and camera_info all empty): a LiDAR-only rig.
    pub fn lidar_only(&self) -> bool {
        self.camera.is_empty() && self.camera_compressed.is_empty() && self.camera_info.is_empty()
    }

    /// Remaps the topic named `from` (a ROS remapping `from:=to`); false when no topic has that name.
    pub fn remap(&mut self, from: &str, to: &str) -> bool {
        let mut hit = false;
        for t in [
            &mut self.camera,
            &mut self.camera_compressed,
            &mut self.camera_info,
            &mut self.lidar,
            &mut self.map_text,
            &mut self.tf_static,
            &mut self.ground_truth,
        ] {
            if t.as_str() == from {
                *t = to.to_string();
                hit = true;
            }
        }
        hit
    }

    /// Every configured topic with its role (empty names included), inputs first, ground truth last.
    pub fn roles(&self) -> [(&str, Role); 7] {
        [
            (&self.camera, Role::CameraRaw),
            (&self.camera_compressed, Role::CameraCompressed),
            (&self.camera_info, Role::CameraInfo),
            (&self.lidar, Role::Lidar),
            (&self.map_text, Role::MapText),
            (&self.tf_static, Role::TfStatic),
            (&self.ground_truth, Role::GroundTruth),
        ]
        .map(|(t, r)| (t.as_str(), r))
    }

    /// The role of `topic`, if it has one.
    pub fn role_of(&self, topic: &str) -> Option<Role> {
        self.roles()
            .into_iter()
            .find(|(t, _)| *t == topic)
            .map(|(_, r)| r)
    }

    pub fn topics(&self) -> Vec<String> {
        self.roles().iter().map(|(t, _)| t.to_string()).collect()
    }
}

/// A decoded input message.
#[derive(Debug, Clone)]
pub enum Decoded {
    Camera(RgbImage),
    CameraInfo(Box<CameraInfo>),
    Lidar(PointsSoA),
    MapText(MapText),
    TfStatic(TFMessage),
    GroundTruth(Box<GroundTruth>),
}

/// A decoding failure, naming the topic, its role and the problem.
#[derive(Debug, thiserror::Error)]
#[error("{topic} ({role}): {detail}")]
pub struct DecodeError {
    pub topic: String,
    pub role: &'static str,
    pub detail: String,
}

/// A message of type `M` in its ROS1 or ROS 2 (CDR) serialization.
fn decode_as<M: RosMessage + CdrMessage>(cdr: bool, payload: &[u8]) -> Result<M, MsgError> {
    if cdr {
        M::decode_cdr(payload)
    } else {
        M::decode(payload)
    }
}

/// Decodes `payload` (no length prefix) of `datatype` arriving on `topic` in `role`. A ROS 2 type name
/// (`sensor_msgs/msg/Image`, from an MCAP recording) means a CDR payload.
pub fn decode(role: Role, topic: &str, datatype: &str, payload: &[u8]) -> Result<Decoded, DecodeError> {
    let err = |detail: String| DecodeError {
        topic: topic.to_string(),
        role: role.name(),
        detail,
    };
    let ros2 = ros1_name(datatype);
    let cdr = ros2.is_some();
    let datatype = ros2.as_deref().unwrap_or(datatype);
    let expect = |want: &str| -> Result<(), DecodeError> {
        if datatype == want || datatype == "*" {
            Ok(())
        } else {
            Err(err(format!("expected type {want}, got {datatype}")))
        }
    };
    match role {
        Role::CameraRaw => {
            expect(Image::DATATYPE)?;
            let m = decode_as::<Image>(cdr, payload).map_err(|e| err(e.to_string()))?;
            m.to_rgb().map(Decoded::Camera).map_err(|e| err(e.to_string()))
        }
        Role::CameraCompressed => {
            expect(CompressedImage::DATATYPE)?;
            let m = decode_as::<CompressedImage>(cdr, payload).map_err(|e| err(e.to_string()))?;
            m.to_rgb().map(Decoded::Camera).map_err(|e| err(e.to_string()))
        }
        Role::CameraInfo => {
            expect(CameraInfo::DATATYPE)?;
            decode_as::<CameraInfo>(cdr, payload)
                .map(|m| Decoded::CameraInfo(Box::new(m)))
                .map_err(|e| err(e.to_string()))
        }
        Role::Lidar => {
            expect(PointCloud2::DATATYPE)?;
            // In place: the points are read straight out of `payload` (no copy of the cloud).
            let soa = if cdr {
                sensorium_msgs::pointcloud::decode_soa_cdr(payload)
            } else {
                sensorium_msgs::pointcloud::decode_soa(payload)
            };
            soa.map(Decoded::Lidar).map_err(|e| err(e.to_string()))
        }
        Role::MapText => {
            expect(StringMsg::DATATYPE)?;
            let m = decode_as::<StringMsg>(cdr, payload).map_err(|e| err(e.to_string()))?;
            Ok(Decoded::MapText(sensorium_msgs::map_text::parse(
                &m.data,
                Stamp::ZERO,
            )))
        }
        Role::TfStatic if cdr => {
            expect(TFMessage::DATATYPE)?;
            TFMessage::decode_cdr(payload)
                .map(Decoded::TfStatic)
                .map_err(|e| err(e.to_string()))
        }
        Role::TfStatic => TFMessage::decode_any(datatype, payload)
            .map(Decoded::TfStatic)
            .map_err(|e| err(e.to_string())),
        Role::GroundTruth => {
            expect(StringMsg::DATATYPE)?;
            let m = decode_as::<StringMsg>(cdr, payload).map_err(|e| err(e.to_string()))?;
            groundtruth::parse(&m.data)
                .map(|g| Decoded::GroundTruth(Box::new(g)))
                .map_err(err)
        }
    }
}
