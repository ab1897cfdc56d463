//! The simulator's errors: what failed, where, with which numbers.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("config {path}: {detail}")]
    Config { path: PathBuf, detail: String },
    #[error("invalid setting `{field}`: {detail}")]
    Invalid { field: String, detail: String },
    #[error("encoding {what}: {detail}")]
    Encode { what: String, detail: String },
    #[error("ground truth JSON: {detail}")]
    GroundTruth { detail: String },
    #[error("bag {path}: {detail}")]
    Bag { path: PathBuf, detail: String },
}

impl SimError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        SimError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

pub type Result<T, E = SimError> = std::result::Result<T, E>;
