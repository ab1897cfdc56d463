//! Loading an ONNX model through tract (with an NNEF cache) and running it.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use serde::Serialize;
use sha2::{Digest, Sha256};
use tract_onnx::prelude::*;
use tract_onnx::tract_core::runtime::{runtime_for_name, RunOptions, Runnable, Runtime};

use crate::error::{InferError, Result};
use crate::graph;
use crate::manifest::{DType, Dim, Manifest};
use crate::tensor::{Output, Outputs, Tensor as InTensor, TensorData};

/// The tract release this crate is built against (part of the cache key).
pub const TRACT_VERSION: &str = "0.23";

/// The inference engine behind an [`Encoder`].
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
    /// Wall time of [`Encoder::load`] in milliseconds.
    pub load_ms: f64,
    /// The engine that runs the model.
    pub backend: Backend,
    /// The runtime/device that runs the model ("cpu", "cuda").
    pub runtime: String,
    pub threads: usize,
    /// Warnings raised while loading (also logged).
    pub warnings: Vec<String>,
}

/// A loaded, optimized model ready to run.
pub struct Encoder {
    manifest: Manifest,
    manifest_path: PathBuf,
    model_path: PathBuf,
    engine: Engine,
    info: LoadInfo,
}

enum Engine {
    Tract(Box<dyn Runnable>),
    #[cfg(feature = "onnxruntime")]
    Ort(crate::ort_backend::OrtSession),
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder")
            .field("model", &self.model_path)
            .field("info", &self.info)
            .finish()
    }
}

static CUDA_FALLBACK_WARNED: AtomicBool = AtomicBool::new(false);

fn nnef() -> tract_nnef::framework::Nnef {
    use tract_extra::WithTractExtra;
    use tract_onnx::WithOnnx;
    use tract_transformers::WithTractTransformers;
    tract_nnef::nnef()
        .with_onnx()
        .with_tract_transformers()
        .with_tract_extra()
}

fn to_tract_dt(d: DType) -> DatumType {
    match d {
        DType::F32 => DatumType::F32,
        DType::I64 => DatumType::I64,
        DType::U8 => DatumType::U8,
    }
}

impl Encoder {
    /// Loads `path` (a model folder or its `manifest.toml`): reads and validates the
    /// manifest against the ONNX graph, fixes input facts, optimizes and makes the
    /// model runnable. Errors name the file and the problem.
    pub fn load(path: impl AsRef<Path>, options: &LoadOptions) -> Result<Encoder> {
        let start = Instant::now();
        let (manifest, manifest_path) = Manifest::load(path.as_ref())?;
        let dir = manifest_path.parent().map(Path::to_path_buf).unwrap_or_default();
        let model_path = manifest.model_file(&dir, options.variant.as_deref(), &manifest_path)?;
        let bytes =
            std::fs::read(&model_path).map_err(|e| InferError::io(&model_path, "reading model", e))?;
        let mut warnings = Vec::new();
        if options.backend == Backend::OnnxRuntime {
            return Self::load_ort(start, manifest, manifest_path, model_path, &bytes, options);
        }

        let cache_file = options.use_cache.then(|| {
            let mut h = Sha256::new();
            h.update(&bytes);
            h.update(TRACT_VERSION.as_bytes());
            h.update(
                serde_json::to_string(&manifest.inputs)
                    .unwrap_or_default()
                    .as_bytes(),
            );
            h.update(
                serde_json::to_string(&manifest.outputs)
                    .unwrap_or_default()
                    .as_bytes(),
            );
            let key: String = h.finalize().iter().take(16).map(|b| format!("{b:02x}")).collect();
            options
                .cache_dir
                .clone()
                .unwrap_or_else(default_cache_dir)
                .join(format!("{key}.nnef.tar"))
        });

        let mut typed = None;
        let mut cache = CacheUse::Disabled;
        if let Some(cf) = cache_file.as_ref().filter(|cf| cf.is_file()) {
            match std::fs::File::open(cf)
                .map_err(|e| format!("{e}"))
                .and_then(|mut f| nnef().model_for_read(&mut f).map_err(|e| format!("{e:#}")))
            {
                Ok(m) => {
                    typed = Some(m);
                    cache = CacheUse::Hit;
                }
                Err(e) => {
                    let w = format!("{}: unreadable cache entry, reparsing ONNX: {e}", cf.display());
                    tracing::warn!("{w}");
                    warnings.push(w);
                }
            }
        }
        let typed = match typed {
            Some(t) => t,
            None => {
                let t = Self::typed_from_onnx(&bytes, &manifest, &manifest_path, &model_path, &dir, options)?;
                if let Some(cf) = &cache_file {
                    cache = match write_cache(&t, cf) {
                        Ok(()) => CacheUse::Written,
                        Err(e) => {
                            tracing::debug!("{}: not cached: {e}", model_path.display());
                            CacheUse::NotCached(e)
                        }
                    };
                }
                t
            }
        };

        let threads = match options.threads {
            0 => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            n => n,
        };
        let run_options = RunOptions {
            executor: (threads > 1).then(|| {
                tract_linalg::multithread::Executor::multithread_with_name(threads, "sensorium-tract")
            }),
            ..Default::default()
        };
        let (runnable, runtime) = prepare(typed, &run_options, options, &model_path, &mut warnings)?;
        let info = LoadInfo {
            model_file: model_path.clone(),
            cache,
            cache_file,
            load_ms: start.elapsed().as_secs_f64() * 1e3,
            backend: Backend::Tract,
            runtime,
            threads,
            warnings,
        };
        Ok(Encoder {
            manifest,
            manifest_path,
            model_path,
            engine: Engine::Tract(runnable),
            info,
        })
    }

    /// The onnxruntime path: the same manifest validation against the graph, then an ORT session.
    fn load_ort(
        start: Instant,
        manifest: Manifest,
        manifest_path: PathBuf,
        model_path: PathBuf,
        bytes: &[u8],
        options: &LoadOptions,
    ) -> Result<Encoder> {
        let corrupt = |message: String| InferError::Corrupt {
            path: model_path.clone(),
            message,
        };
        let proto = tract_onnx::onnx()
            .proto_model_for_read(&mut &bytes[..])
            .map_err(|e| corrupt(format!("{e:#}")))?;
        let graph = proto
            .graph
            .as_ref()
            .ok_or_else(|| corrupt("no graph in the protobuf".into()))?;
        graph::validate(graph, &manifest, &model_path, &manifest_path)?;
        let threads = match options.threads {
            0 => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            n => n,
        };
        #[cfg(feature = "onnxruntime")]
        {
            let session = crate::ort_backend::OrtSession::load(bytes, threads, &model_path)?;
            let info = LoadInfo {
                model_file: model_path.clone(),
                cache: CacheUse::Disabled,
                cache_file: None,
                load_ms: start.elapsed().as_secs_f64() * 1e3,
                backend: Backend::OnnxRuntime,
                runtime: "cpu".into(),
                threads,
                warnings: vec![],
            };
            Ok(Encoder {
                manifest,
                manifest_path,
                model_path,
                engine: Engine::Ort(session),
                info,
            })
        }
        #[cfg(not(feature = "onnxruntime"))]
        {
            let _ = (start, manifest_path, threads);
            Err(InferError::Backend {
                path: model_path,
                backend: "onnxruntime",
                stage: "load the model",
                message: "this build has no onnxruntime backend (cargo feature `onnxruntime`)".into(),
            })
        }
    }

    /// The decluttered tract model of `path` (the variant of `options`), before optimization, with
    /// its file and manifest: for profiling.
    pub fn typed_model(
        path: impl AsRef<Path>,
        options: &LoadOptions,
    ) -> Result<(TypedModel, PathBuf, Manifest)> {
        let (manifest, manifest_path) = Manifest::load(path.as_ref())?;
        let dir = manifest_path.parent().map(Path::to_path_buf).unwrap_or_default();
        let model_path = manifest.model_file(&dir, options.variant.as_deref(), &manifest_path)?;
        let bytes =
            std::fs::read(&model_path).map_err(|e| InferError::io(&model_path, "reading model", e))?;
        let typed = Self::typed_from_onnx(&bytes, &manifest, &manifest_path, &model_path, &dir, options)?;
        Ok((typed, model_path, manifest))
    }

    fn typed_from_onnx(
        bytes: &[u8],
        manifest: &Manifest,
        manifest_path: &Path,
        model_path: &Path,
        dir: &Path,
        options: &LoadOptions,
    ) -> Result<TypedModel> {
        let onnx = tract_onnx::onnx();
        let corrupt = |message: String| InferError::Corrupt {
            path: model_path.to_path_buf(),
            message,
        };
        let proto = onnx
            .proto_model_for_read(&mut &bytes[..])
            .map_err(|e| corrupt(format!("{e:#}")))?;
        let Some(graph) = proto.graph.as_ref() else {
            return Err(corrupt("no graph in the protobuf".into()));
        };
        if graph.node.is_empty() && graph.output.is_empty() {
            return Err(corrupt("empty graph (no nodes, no outputs)".into()));
        }
        let foreign = graph::foreign_ops(&proto);
        if !foreign.is_empty() {
            return Err(InferError::Unsupported {
                path: model_path.to_path_buf(),
                message: foreign.join(", "),
            });
        }
        graph::validate(graph, manifest, model_path, manifest_path)?;
        let softmax = graph::qdq_softmax_nodes(graph);
        if let Some(node) = softmax.first() {
            if !options.allow_qdq_softmax {
                return Err(InferError::QdqSoftmax {
                    path: model_path.to_path_buf(),
                    node: node.clone(),
                });
            }
            tracing::warn!(
                "{}: QDQ-wrapped Softmax {softmax:?}: tract computes it wrongly",
                model_path.display()
            );
        }
        let dir_str = dir.to_str();
        let mut model = onnx
            .parse(&proto, dir_str)
            .map_err(|e| classify(model_path, "translate the ONNX graph", e))?
            .model;
        for (i, spec) in manifest.inputs.iter().enumerate() {
            let shape: Vec<TDim> = spec
                .shape
                .iter()
                .map(|d| match d {
                    Dim::Fixed(n) => TDim::Val(*n as i64),
                    Dim::Symbol(s) => TDim::Sym(model.sym(s)),
                })
                .collect();
            model
                .set_input_fact(i, InferenceFact::dt_shape(to_tract_dt(spec.dtype), shape))
                .map_err(|e| InferError::tract(model_path, "set input facts", e))?;
        }
        model
            .select_outputs_by_name(manifest.outputs.iter().map(|o| o.name.as_str()))
            .map_err(|e| InferError::tract(model_path, "select outputs", e))?;
        let typed = model
            .into_typed()
            .map_err(|e| classify(model_path, "analyse and type the model", e))?;
        typed
            .into_decluttered()
            .map_err(|e| classify(model_path, "declutter the model", e))
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }
    pub fn manifest_path(&self) -> &Path {
        &self.manifest_path
    }
    pub fn model_path(&self) -> &Path {
        &self.model_path
    }
    pub fn load_info(&self) -> &LoadInfo {
        &self.info
    }

    /// Runs the model on inputs in manifest order; returns the manifest's outputs as f32.
    pub fn run(&self, inputs: Vec<InTensor>) -> Result<Outputs> {
        let specs = &self.manifest.inputs;
        if inputs.len() != specs.len() {
            return Err(InferError::Input {
                path: self.model_path.clone(),
                index: inputs.len(),
                name: String::new(),
                message: format!("{} inputs given, the model takes {}", inputs.len(), specs.len()),
            });
        }
        for (index, (t, spec)) in inputs.iter().zip(specs).enumerate() {
            let err = |message: String| InferError::Input {
                path: self.model_path.clone(),
                index,
                name: spec.name.clone(),
                message,
            };
            if t.dtype() != spec.dtype {
                return Err(err(format!(
                    "dtype {} given, manifest says {}",
                    t.dtype(),
                    spec.dtype
                )));
            }
            let fits = t.shape.len() == spec.shape.len()
                && t.shape.iter().zip(&spec.shape).all(|(n, d)| match d {
                    Dim::Fixed(f) => *n as u64 == *f,
                    Dim::Symbol(_) => *n > 0,
                });
            let want: usize = t.shape.iter().product();
            if !fits || want != t.len() {
                return Err(err(format!(
                    "shape {:?} with {} elements, manifest says {}",
                    t.shape,
                    t.len(),
                    crate::manifest::shape_string(&spec.shape)
                )));
            }
        }
        // one arm only without the `onnxruntime` feature (clippy then asks for `let`; this is built both ways)
        #[allow(clippy::infallible_destructuring_match)]
        let runnable = match &self.engine {
            Engine::Tract(r) => r,
            #[cfg(feature = "onnxruntime")]
            Engine::Ort(session) => return session.run(&self.manifest, inputs, &self.model_path),
        };
        let mut values: TVec<TValue> = tvec![];
        for (index, (t, spec)) in inputs.into_iter().zip(specs).enumerate() {
            let err = |message: String| InferError::Input {
                path: self.model_path.clone(),
                index,
                name: spec.name.clone(),
                message,
            };
            let shape = t.shape;
            let tensor = match t.data {
                TensorData::F32(v) => tract_ndarray::ArrayD::from_shape_vec(shape, v).map(Tensor::from),
                TensorData::I64(v) => tract_ndarray::ArrayD::from_shape_vec(shape, v).map(Tensor::from),
                TensorData::U8(v) => tract_ndarray::ArrayD::from_shape_vec(shape, v).map(Tensor::from),
            }
            .map_err(|e| err(e.to_string()))?;
            values.push(tensor.into_tvalue());
        }
        let outs = runnable
            .run(values)
            .map_err(|e| InferError::tract(&self.model_path, "run", e))?;
        let mut result = Vec::with_capacity(outs.len());
        for (spec, v) in self.manifest.outputs.iter().zip(outs) {
            let t = v
                .cast_to::<f32>()
                .map_err(|e| InferError::tract(&self.model_path, "cast output", e))?;
            let data: Vec<f32> = t
                .to_plain_array_view::<f32>()
                .map_err(|e| InferError::tract(&self.model_path, "read output", e))?
                .iter()
                .copied()
                .collect();
            result.push(Output {
                name: spec.name.clone(),
                shape: t.shape().to_vec(),
                data,
            });
        }
        Ok(Outputs(result))
    }
}

/// Sorts tract load errors into "unsupported operator" and the rest.
fn classify(path: &Path, stage: &'static str, e: TractError) -> InferError {
    let msg = crate::error::one_line(&e);
    if msg.contains("Unimplemented") || msg.contains("not implemented") || msg.contains("Unsupported") {
        InferError::Unsupported {
            path: path.to_path_buf(),
            message: msg,
        }
    } else {
        InferError::Tract {
            path: path.to_path_buf(),
            stage,
            message: msg,
        }
    }
}

fn write_cache(model: &TypedModel, file: &Path) -> std::result::Result<(), String> {
    let dir = file
        .parent()
        .ok_or_else(|| "cache path has no folder".to_string())?;
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut buf = Vec::new();
    nnef()
        .write_to_tar(model, &mut buf)
        .map_err(|e| format!("NNEF serialization: {e:#}"))?;
    // Readable back? (some ops serialize but do not load.)
    nnef()
        .model_for_read(&mut &buf[..])
        .map_err(|e| format!("NNEF reload: {e:#}"))?;
    let tmp = file.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, &buf).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, file).map_err(|e| format!("{}: {e}", file.display()))
}

fn prepare(
    typed: TypedModel,
    run_options: &RunOptions,
    options: &LoadOptions,
    model_path: &Path,
    warnings: &mut Vec<String>,
) -> Result<(Box<dyn Runnable>, String)> {
    let wanted = options
        .runtime
        .clone()
        .unwrap_or_else(|| if cfg!(feature = "cuda") { "cuda" } else { "cpu" }.into());
    if wanted != "cpu" {
        let fallback = |why: String, warnings: &mut Vec<String>| {
            let w = format!(
                "{}: runtime {wanted:?} unavailable, running on CPU: {why}",
                model_path.display()
            );
            if !CUDA_FALLBACK_WARNED.swap(true, Ordering::Relaxed) {
                tracing::warn!("{w}");
            }
            warnings.push(w);
        };
        match runtime_for_name(&wanted) {
            Ok(Some(rt)) => match rt.prepare_with_options(typed.clone(), run_options) {
                Ok(r) => return Ok((r, wanted)),
                Err(e) => fallback(format!("{e:#}"), warnings),
            },
            Ok(None) => fallback("not compiled in".into(), warnings),
            Err(e) => fallback(format!("{e:#}"), warnings),
        }
    }
    let rt = tract_onnx::tract_core::runtime::DefaultRuntime;
    let r = rt
        .prepare_with_options(typed, run_options)
        .map_err(|e| classify(model_path, "optimize the model", e))?;
    Ok((r, "cpu".into()))
}
