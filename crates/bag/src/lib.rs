//! sensorium-bag: ROS1 bag v2.0 reading (none/bz2/lz4, index, seek by time, damaged bags) and writing.
//!
//! * [`BagReader`] reads through the bag's index: connections and chunk infos come from the index section,
//!   topic and time filters skip unrelated chunks without reading them, messages come out in record-time
//!   order across (possibly unsorted) chunks as zero-copy slices of the decompressed chunk. Bags without a
//!   sound index (a recorder killed mid-run, a truncated copy) are rebuilt by scanning the chunks, as far as
//!   the bytes are sound; damage is reported by [`BagReader::warnings`] with byte offsets, never by a panic.
//! * [`BagWriter`] writes chunked bags (none/lz4/bz2) with index data, chunk infos and the padded bag header,
//!   readable by `rosbag info`, `rosbag play` and python's `rosbag.Bag`.
//! * [`info::BagInfo`] prints what `rosbag info` prints.
//!
//! Payloads are the serialized messages without the 4-byte length prefix of the ROS wire.

#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

pub mod compression;
mod error;
pub mod info;
mod reader;
pub mod record;
pub mod recording;
pub mod ros2;
pub mod throughput;
mod writer;

pub use compression::Compression;
pub use error::{BagError, BagWarning};
pub use reader::{
    BagMessage, BagReader, ChunkInfo, Connection, Messages, OpenOptions, ReadOptions, DEFAULT_MAX_CHUNK_BYTES,
};
pub use recording::Recording;
pub use writer::{BagWriter, ConnectionSpec, DEFAULT_CHUNK_THRESHOLD};
