//! sensorium-msgs: ROS1 wire decode/encode of the sensor messages sensorium uses (Image, CompressedImage,
//! CameraInfo, PointCloud2, String, TFMessage) and of the messages it publishes (OccupancyGrid, Marker,
//! MarkerArray, DiagnosticArray, and sensorium's own `sensorium_msgs/Scene` in [`scene`]).
//!
//! One decoding layer serves live ROS (rosrust raw message bodies) and replay (bag payloads): `decode`
//! takes the serialized body without the 4-byte length prefix. Decoders never panic on outside input and
//! never reserve more memory than the input can fill; errors name the message, field and numbers.

#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

pub mod camera_info;
pub mod defs;
pub mod image;
pub mod map_text;
pub mod pointcloud;
pub mod publish;
pub mod record;
pub mod ros2;
pub mod scene;
pub mod std_msgs;
pub mod tf;
pub mod wire;

pub use camera_info::{CameraInfo, RegionOfInterest};
pub use image::{CompressedImage, Image};
pub use pointcloud::{FieldType, PointCloud2, PointCloud2Ref, PointCloud2View, PointField};
pub use publish::{
    DiagnosticArray, DiagnosticStatus, KeyValue, MapMetaData, Marker, MarkerArray, OccupancyGrid, Pose,
};
pub use std_msgs::{Header, StringMsg};
pub use tf::{LegacyTfMessage, TFMessage, Transform, TransformStamped};

pub use sensorium_core::Stamp;

/// What went wrong while decoding or converting a message.
#[derive(Debug, thiserror::Error)]
pub enum MsgError {
    #[error("{msg}: truncated at field `{field}` (offset {offset}): need {need} bytes, {have} left")]
    Truncated {
        msg: &'static str,
        field: &'static str,
        offset: usize,
        need: usize,
        have: usize,
    },
    #[error("{msg}: {len} bytes but the fields end at byte {consumed}")]
    TrailingBytes {
        msg: &'static str,
        consumed: usize,
        len: usize,
    },
    #[error("{msg}: field `{field}`: {detail}")]
    Invalid {
        msg: &'static str,
        field: String,
        detail: String,
    },
    #[error("{msg}: unsupported encoding {encoding:?}")]
    UnknownEncoding { msg: &'static str, encoding: String },
    #[error("{msg}: cannot decode {format} data ({len} bytes): {detail}")]
    Codec {
        msg: &'static str,
        format: String,
        len: usize,
        detail: String,
    },
}

impl MsgError {
    pub(crate) fn invalid(msg: &'static str, field: impl Into<String>, detail: impl Into<String>) -> Self {
        MsgError::Invalid {
            msg,
            field: field.into(),
            detail: detail.into(),
        }
    }
}

/// A message type as ROS 2 serializes it (CDR), for the input types read from MCAP and ROS 2 bags.
pub trait CdrMessage: Sized {
    /// `package/msg/Name`.
    const ROS2_TYPE: &'static str;
    /// Decodes a CDR serialized message (the 4-byte encapsulation header first).
    fn decode_cdr(buf: &[u8]) -> Result<Self, MsgError>;
}

/// The ROS1 name (`package/Name`) of a ROS 2 type name (`package/msg/Name`), else `None`.
pub fn ros1_name(ros2_type: &str) -> Option<String> {
    let (pkg, name) = ros2_type.split_once("/msg/")?;
    Some(format!("{pkg}/{name}"))
}

/// A ROS1 message type with its identity (datatype, md5sum, full definition) and wire form.
pub trait RosMessage: Sized {
    /// `package/Name`.
    const DATATYPE: &'static str;
    /// The md5sum ROS computes from the definition (what rosbag and the master compare).
    const MD5SUM: &'static str;
    /// The full definition text as `gendeps --cat` and rosbag connection headers give it.
    const DEFINITION: &'static str;
    /// Decodes a serialized body (without the 4-byte length prefix).
    fn decode(buf: &[u8]) -> Result<Self, MsgError>;
    /// Appends the serialized body (without length prefix) to `out`.
    fn encode(&self, out: &mut Vec<u8>);

    /// The serialized body in a fresh buffer.
    fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.encode(&mut v);
        v
    }
}

/// The stamp of a message that begins with a `std_msgs/Header` (bytes 4..12 of the body).
pub fn header_stamp(payload: &[u8]) -> Result<Stamp, MsgError> {
    let mut r = wire::Reader::new(payload, "std_msgs/Header");
    r.u32("seq")?;
    r.time("stamp")
}

/// The header at the start of a stamped message of `datatype`: ROS1 (`pkg/Name`) or, for a ROS 2 type
/// name (`pkg/msg/Name`), CDR.
pub fn stamped_header(datatype: &str, payload: &[u8]) -> Result<Header, MsgError> {
    if ros1_name(datatype).is_some() {
        Header::decode_prefix_cdr(payload)
    } else {
        Header::decode_prefix(payload)
    }
}
