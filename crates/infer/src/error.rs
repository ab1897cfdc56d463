//! The crate's error type: every variant names the file it is about.

use std::path::PathBuf;

/// Errors from loading, validating and running models.
#[derive(Debug, thiserror::Error)]
pub enum InferError {
    #[error("{path}: {op}: {source}")]
    Io {
        path: PathBuf,
        op: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: invalid manifest: {message}")]
    Manifest { path: PathBuf, message: String },
    #[error("{path}: model does not match its manifest {manifest}: {message}")]
    Mismatch {
        path: PathBuf,
        manifest: PathBuf,
        message: String,
    },
    #[error("{path}: cannot read the ONNX model: {message}")]
    Corrupt { path: PathBuf, message: String },
    #[error("{path}: unsupported operator(s): {message}")]
    Unsupported { path: PathBuf, message: String },
    #[error(
        "{path}: Softmax node {node:?} sits between DequantizeLinear and QuantizeLinear; tract folds it \
         into an element-wise lookup table and computes garbage (known tract bug). Leave Softmax out of \
         quantization (e.g. onnxruntime quantize_static(op_types_to_quantize=[...] without Softmax)) or \
         load with LoadOptions::allow_qdq_softmax"
    )]
    QdqSoftmax { path: PathBuf, node: String },
    #[error("{path}: tract failed to {stage}: {message}")]
    Tract {
        path: PathBuf,
        stage: &'static str,
        message: String,
    },
    #[error("{path}: {backend} failed to {stage}: {message}")]
    Backend {
        path: PathBuf,
        backend: &'static str,
        stage: &'static str,
        message: String,
    },
    #[error("{path}: input {index} ({name}): {message}")]
    Input {
        path: PathBuf,
        index: usize,
        name: String,
        message: String,
    },
    #[error("{path}: unknown variant {variant:?} (manifest lists: {known})")]
    UnknownVariant {
        path: PathBuf,
        variant: String,
        known: String,
    },
    #[error("{path}: golden data: {message}")]
    Golden { path: PathBuf, message: String },
    #[error("{path}: tokenizer: {message}")]
    Tokenizer { path: PathBuf, message: String },
    #[error("image preprocessing: {0}")]
    Image(String),
}

impl InferError {
    pub(crate) fn io(path: impl Into<PathBuf>, op: &'static str, source: std::io::Error) -> Self {
        InferError::Io {
            path: path.into(),
            op,
            source,
        }
    }
    pub(crate) fn tract(path: impl Into<PathBuf>, stage: &'static str, e: impl std::fmt::Debug) -> Self {
        InferError::Tract {
            path: path.into(),
            stage,
            message: one_line(&e),
        }
    }
}

/// A tract error on one line: anyhow's Debug form lists the causes, and a backtrace when RUST_BACKTRACE is
/// set — cut it: an error message names the problem, not the stack.
pub(crate) fn one_line(e: &impl std::fmt::Debug) -> String {
    let full = format!("{e:?}");
    full.split("Stack backtrace:")
        .next()
        .unwrap_or(&full)
        .trim()
        .replace('\n', " ")
}

pub type Result<T, E = InferError> = std::result::Result<T, E>;
