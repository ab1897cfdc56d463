//! What a load asks for and reports: the backend choice, [`LoadOptions`], the cache folder, and
//! [`LoadInfo`] with what happened to the NNEF cache.

use std::path::PathBuf;

use serde::Serialize;

/// The tract release this crate is built against (part of the cache key).
pub const TRACT_VERSION: &str = "0.23";

/// The inference engine behind an [`Encoder`](super::Encoder).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// tract: pure Rust, every platform, the default.
    #[default]
    Tract,
    /// ONNX Runtime through `ort` (cargo feature `onnxruntime`, library loaded at run time).
    OnnxRuntime,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Tract => "tract",
            Backend::OnnxRuntime => "onnxruntime",
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Backend {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Backend, String> {
        match s {
            "tract" => Ok(Backend::Tract),
            "onnxruntime" | "ort" => Ok(Backend::OnnxRuntime),
            other => Err(format!("unknown backend {other:?} (tract, onnxruntime)")),
        }
    }
}

/// The backends this build can run here: tract always; onnxruntime when compiled in and its library
/// loads (else the reason it cannot).
pub fn backends_available() -> Vec<(Backend, std::result::Result<String, String>)> {
    let mut v = vec![(Backend::Tract, Ok(format!("tract {TRACT_VERSION}")))];
    #[cfg(feature = "onnxruntime")]
    v.push((
        Backend::OnnxRuntime,
        crate::ort_backend::available().map(|p| format!("onnxruntime from {}", p.display())),
    ));
    #[cfg(not(feature = "onnxruntime"))]
    v.push((
        Backend::OnnxRuntime,
        Err("not compiled in (cargo feature `onnxruntime`)".to_string()),
    ));
    v
}

/// How to load a model.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Which engine runs the model.
    pub backend: Backend,
    /// A `[[variants]]` name from the manifest (e.g. "int8"); `None` loads `file` (fp32).
    pub variant: Option<String>,
    /// Threads for tract's matrix products: 0 = all cores, 1 = single-threaded.
    pub threads: usize,
    /// Where optimized models are cached; `None` = [`default_cache_dir`].
    pub cache_dir: Option<PathBuf>,
    /// Read and write the NNEF cache.
    pub use_cache: bool,
    /// Load QDQ models with a quantized Softmax despite the tract bug (outputs are wrong).
    pub allow_qdq_softmax: bool,
    /// tract runtime name ("cpu", "cuda"); `None` = "cuda" with the `cuda` feature, else "cpu".
    pub runtime: Option<String>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            backend: Backend::Tract,
            variant: None,
            threads: 1,
            cache_dir: None,
            use_cache: true,
            allow_qdq_softmax: false,
            runtime: None,
        }
    }
}

/// `$SENSORIUM_CACHE_DIR`, else `$XDG_CACHE_HOME/sensorium`, else `$HOME/.cache/sensorium`.
pub fn default_cache_dir() -> PathBuf {
    if let Some(p) = std::env::var_os("SENSORIUM_CACHE_DIR") {
        return PathBuf::from(p);
    }
    if let Some(p) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(p).join("sensorium");
    }
    if let Some(p) = std::env::var_os("HOME") {
        return PathBuf::from(p).join(".cache/sensorium");
    }
    std::env::temp_dir().join("sensorium-cache")
}

/// What happened with the NNEF cache during a load.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "detail")]
pub enum CacheUse {
    /// Not asked for.
    Disabled,
    /// The decluttered model was read from the cache (ONNX parsing skipped).
    Hit,
    /// Parsed from ONNX and written to the cache.
    Written,
    /// Parsed from ONNX; the model could not be cached (why).
    NotCached(String),
}

/// Facts about one load.
#[derive(Debug, Clone, Serialize)]
pub struct LoadInfo {
    pub model_file: PathBuf,
    pub cache: CacheUse,
    pub cache_file: Option<PathBuf>,
    /// Wall time of [`Encoder::load`](super::Encoder::load) in milliseconds.
    pub load_ms: f64,
    /// The engine that runs the model.
    pub backend: Backend,
    /// The runtime/device that runs the model ("cpu", "cuda").
    pub runtime: String,
    pub threads: usize,
    /// Warnings raised while loading (also logged).
    pub warnings: Vec<String>,
}
