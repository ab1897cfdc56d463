//! The crate's error type: every variant names what failed, where, and the numbers involved.

use std::path::{Path, PathBuf};

/// Errors of calibration loading, transform lookup, projection and cloud/image I/O.
#[derive(Debug, thiserror::Error)]
pub enum GeometryError {
    /// A file could not be read or written.
    #[error("{}: {source}", file.display())]
    Io {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file was read but its contents are wrong: `key` names the entry (or line) at fault.
    #[error("{}: {key}: {problem}", file.display())]
    Format {
        file: PathBuf,
        key: String,
        problem: String,
    },
    /// A camera model's parameters are inconsistent (e.g. wrong number of distortion coefficients).
    #[error("invalid camera model: {0}")]
    InvalidModel(String),
    /// A frame asked of the transform tree is not in it.
    #[error("frame `{frame}` is not in the transform tree (known frames: {known})")]
    UnknownFrame { frame: String, known: String },
    /// Both frames exist but belong to different trees.
    #[error("no transform between `{target}` and `{source_frame}`: they have no common ancestor")]
    Disconnected { target: String, source_frame: String },
    /// Inserting an edge would give a frame two parents or close a loop.
    #[error("cannot add transform {parent} -> {child}: {problem}")]
    BadEdge {
        parent: String,
        child: String,
        problem: String,
    },
    /// A camera asked of a calibration is not in it.
    #[error("camera `{name}` not in the calibration (cameras: {known})")]
    UnknownCamera { name: String, known: String },
    /// The image does not match the calibration.
    #[error("{}: {problem}", file.display())]
    Image { file: PathBuf, problem: String },
}

pub type Result<T, E = GeometryError> = std::result::Result<T, E>;

impl GeometryError {
    pub(crate) fn io(file: &Path, source: std::io::Error) -> Self {
        GeometryError::Io {
            file: file.to_path_buf(),
            source,
        }
    }
    pub(crate) fn format(file: &Path, key: impl Into<String>, problem: impl Into<String>) -> Self {
        GeometryError::Format {
            file: file.to_path_buf(),
            key: key.into(),
            problem: problem.into(),
        }
    }
}
