//! Errors of the bag reader and writer: each names the file, the byte offset and the numbers involved.

use std::path::PathBuf;

/// Everything that can go wrong reading or writing a bag.
#[derive(Debug, thiserror::Error)]
pub enum BagError {
    /// An operating-system error while `what` (e.g. "reading chunk at byte 4117").
    #[error("{path}: {what}: {source}")]
    Io {
        path: PathBuf,
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// A zero-byte file.
    #[error("{path}: empty file (0 bytes), not a bag")]
    EmptyFile { path: PathBuf },
    /// The file does not start with `#ROSBAG V2.0\n`.
    #[error("{path}: not a ROS bag: expected magic \"#ROSBAG V2.0\", found {found:?}")]
    NotABag { path: PathBuf, found: String },
    /// A bag of another format version (1.2 and older are not supported).
    #[error("{path}: unsupported bag format version {version:?} (only 2.0 is supported)")]
    UnsupportedVersion { path: PathBuf, version: String },
    /// Bytes that do not follow the bag format.
    #[error("{path}: {what} at byte {offset}: {problem}")]
    Format {
        path: PathBuf,
        offset: u64,
        what: &'static str,
        problem: String,
    },
    /// A ROS 2 recording (MCAP or rosbag2 sqlite3) that does not read as its format says.
    #[error("{path}: {what}: {problem}")]
    Ros2 {
        path: PathBuf,
        what: &'static str,
        problem: String,
    },
    /// A writer call with a connection id that `add_connection` never returned.
    #[error("{path}: write to unknown connection id {conn} ({known} connections defined)")]
    UnknownConnection { path: PathBuf, conn: u32, known: usize },
    /// A writer argument that the format cannot hold.
    #[error("{path}: cannot write: {problem}")]
    Write { path: PathBuf, problem: String },
    /// Compressing a chunk failed.
    #[error("{path}: compressing chunk ({codec}, {bytes} bytes): {problem}")]
    Compress {
        path: PathBuf,
        codec: &'static str,
        bytes: usize,
        problem: String,
    },
}

pub(crate) fn io_err(path: &std::path::Path, what: impl Into<String>, source: std::io::Error) -> BagError {
    BagError::Io {
        path: path.to_path_buf(),
        what: what.into(),
        source,
    }
}

/// Damage found while reading: the byte offset where it was found and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BagWarning {
    /// Byte offset in the file (of the record or chunk concerned).
    pub offset: u64,
    pub message: String,
}

impl std::fmt::Display for BagWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "byte {}: {}", self.offset, self.message)
    }
}
