//! Writing ROS1 serialized messages to a recording of either ROS version: a ROS1 bag, or an MCAP file of
//! ROS 2 messages (each converted through its type's definition, [`crate::ros2::Ros2Type`]). What
//! `replay --record` and `sim` write.

use crate::ros2::Ros2Type;
use sensorium_bag::ros2::McapWriter;
use sensorium_bag::{BagWriter, Compression, ConnectionSpec};
use sensorium_core::Stamp;
use std::path::Path;

/// The recording's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordFormat {
    /// A ROS1 bag with this chunk compression.
    Ros1(Compression),
    /// An MCAP file of ROS 2 messages (zstd chunks).
    Mcap,
}

impl RecordFormat {
    /// MCAP for a path ending in `.mcap`, else a ROS1 bag with `compression`.
    pub fn of_path(path: &Path, compression: Compression) -> RecordFormat {
        if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("mcap")) {
            RecordFormat::Mcap
        } else {
            RecordFormat::Ros1(compression)
        }
    }
}

/// A recording being written; topics are added with their ROS1 identity, messages written as ROS1 bodies.
pub enum RecordWriter {
    Ros1(BagWriter),
    /// The writer, and per topic id its channel and type.
    Mcap(Box<McapWriter>, Vec<(u16, Ros2Type)>),
}

/// Why a recording could not be written: the file's problem, or a message that does not fit its type.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error(transparent)]
    Bag(#[from] sensorium_bag::BagError),
    #[error(transparent)]
    Msg(#[from] crate::MsgError),
    #[error("no topic with id {0}")]
    UnknownTopic(u32),
}

impl RecordWriter {
    pub fn create(path: &Path, format: RecordFormat) -> Result<RecordWriter, RecordError> {
        Ok(match format {
            RecordFormat::Ros1(c) => RecordWriter::Ros1(BagWriter::create(path, c)?),
            RecordFormat::Mcap => RecordWriter::Mcap(Box::new(McapWriter::create(path)?), Vec::new()),
        })
    }

    /// Adds a topic; the id to write its messages with.
    pub fn add(&mut self, spec: ConnectionSpec) -> Result<u32, RecordError> {
        match self {
            RecordWriter::Ros1(w) => Ok(w.add_connection_spec(spec)?),
            RecordWriter::Mcap(w, types) => {
                let t = Ros2Type::parse(&spec.datatype, &spec.message_definition)?;
                let channel = w.add_channel(&spec.topic, &t.ros2_name(), &t.ros2msg(), spec.latching)?;
                types.push((channel, t));
                Ok(types.len() as u32 - 1)
            }
        }
    }

    /// One message (its ROS1 body) on topic `id`, recorded at `time`.
    pub fn write(&mut self, id: u32, time: Stamp, ros1: &[u8]) -> Result<(), RecordError> {
        match self {
            RecordWriter::Ros1(w) => Ok(w.write(id, time, ros1)?),
            RecordWriter::Mcap(w, types) => {
                let (channel, t) = types.get(id as usize).ok_or(RecordError::UnknownTopic(id))?;
                let cdr = t.to_cdr(ros1)?;
                Ok(w.write(*channel, time, &cdr)?)
            }
        }
    }

    pub fn finish(self) -> Result<(), RecordError> {
        match self {
            RecordWriter::Ros1(w) => Ok(w.finish()?),
            RecordWriter::Mcap(w, _) => Ok(w.finish()?),
        }
    }
}
