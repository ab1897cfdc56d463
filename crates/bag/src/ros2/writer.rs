//! Writing an MCAP file of ROS 2 messages: each channel's schema is its `ros2msg` definition, each
//! message CDR, chunks zstd-compressed with their CRCs, the summary written on finish (what
//! `ros2 bag record -s mcap` writes; `ros2 bag`, rosbags, mcap-ros2-support and Foxglove read it).

use crate::error::BagError;
use sensorium_core::Stamp;
use std::collections::BTreeMap;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

/// rosbag2's QoS profile of a latched topic: reliable, transient local, keep last 1.
const TRANSIENT_LOCAL: &str = "- history: 1\n  depth: 1\n  reliability: 1\n  durability: 1\n  deadline:\n    sec: 9223372036\n    nsec: 854775807\n  lifespan:\n    sec: 9223372036\n    nsec: 854775807\n  liveliness: 1\n  liveliness_lease_duration:\n    sec: 9223372036\n    nsec: 854775807\n  avoid_ros_namespace_conventions: false\n";

pub struct McapWriter {
    path: PathBuf,
    writer: mcap::Writer<BufWriter<std::fs::File>>,
    sequence: u32,
}

fn err(path: &Path, e: impl std::fmt::Display) -> BagError {
    BagError::Ros2 {
        path: path.to_path_buf(),
        what: "writing MCAP",
        problem: e.to_string(),
    }
}

impl McapWriter {
    pub fn create(path: &Path) -> Result<McapWriter, BagError> {
        let file = std::fs::File::create(path).map_err(|e| BagError::Io {
            path: path.to_path_buf(),
            what: "creating".into(),
            source: e,
        })?;
        let writer = mcap::WriteOptions::new()
            .profile("ros2")
            .library("sensorium")
            .compression(Some(mcap::Compression::Zstd))
            .create(BufWriter::new(file))
            .map_err(|e| err(path, e))?;
        Ok(McapWriter {
            path: path.to_path_buf(),
            writer,
            sequence: 0,
        })
    }

    /// A topic of ROS 2 type `ros2_type` (`pkg/msg/Type`) whose definition is `ros2msg`; its channel id.
    /// `latching`: offered transient-local (as `/tf_static` is), in rosbag2's `offered_qos_profiles`.
    pub fn add_channel(
        &mut self,
        topic: &str,
        ros2_type: &str,
        ros2msg: &str,
        latching: bool,
    ) -> Result<u16, BagError> {
        let schema = self
            .writer
            .add_schema(ros2_type, "ros2msg", ros2msg.as_bytes())
            .map_err(|e| err(&self.path, e))?;
        let mut metadata = BTreeMap::new();
        if latching {
            metadata.insert("offered_qos_profiles".to_string(), TRANSIENT_LOCAL.to_string());
        }
        self.writer
            .add_channel(schema, topic, "cdr", &metadata)
            .map_err(|e| err(&self.path, e))
    }

    /// One CDR message on `channel`, logged (and published) at `time`.
    pub fn write(&mut self, channel: u16, time: Stamp, cdr: &[u8]) -> Result<(), BagError> {
        self.sequence = self.sequence.wrapping_add(1);
        let header = mcap::records::MessageHeader {
            channel_id: channel,
            sequence: self.sequence,
            log_time: time.as_nanos(),
            publish_time: time.as_nanos(),
        };
        self.writer
            .write_to_known_channel(&header, cdr)
            .map_err(|e| err(&self.path, e))
    }

    /// Writes the summary and closes the file.
    pub fn finish(mut self) -> Result<(), BagError> {
        self.writer.finish().map_err(|e| err(&self.path, e))?;
        Ok(())
    }
}
