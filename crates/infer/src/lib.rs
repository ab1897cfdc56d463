//! sensorium-infer: model manifests and inference through tract: loading, preprocessing,
//! parity with onnxruntime goldens.
//!
//! A model folder holds `manifest.toml` ([`Manifest`]), `model.onnx` and optional variants
//! (`model.int8.onnx`), plus `golden/` data made by `tests/python/make_goldens.py`.
//! [`Encoder::load`] validates the manifest against the ONNX graph, loads through tract
//! (or from an NNEF cache of the decluttered model), optimizes and returns a runnable
//! encoder; [`check_models`] runs the parity/latency checks behind `sensorium models check`.
//! With the `onnxruntime` feature, [`Backend::OnnxRuntime`] runs the same manifests through ONNX Runtime
//! (loaded at run time, see [`ort_backend`]).

pub mod check;
pub mod encoder;
pub mod error;
pub mod graph;
pub mod image;
pub mod manifest;
#[cfg(feature = "onnxruntime")]
pub mod ort_backend;
pub mod profile;
pub mod tensor;
pub mod text;
pub mod tune;

pub use check::{
    check_model, check_models, check_models_with, CheckOptions, ModelCheckReport, OutputCheck, VariantCheck,
};
pub use encoder::{backends_available, default_cache_dir, Backend, CacheUse, Encoder, LoadInfo, LoadOptions};
pub use error::{InferError, Result};
pub use manifest::{DType, Dim, ImagePre, Manifest, QuantFormat, Role, TextPre};
pub use tensor::{Output, Outputs, Tensor, TensorData};
pub use text::{TextEmbedder, TextTokenizer, Tokens};

#[cfg(feature = "cuda")]
use tract_cuda as _; // links the CUDA runtime into tract's registry
