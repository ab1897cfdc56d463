//! Loading an ONNX model through tract (with an NNEF cache) or onnxruntime, and running it.

use std::path::{Path, PathBuf};
use std::time::Instant;

use sha2::{Digest, Sha256};
use tract_onnx::prelude::*;
use tract_onnx::tract_core::runtime::{RunOptions, Runnable};

use crate::error::{InferError, Result};
use crate::graph;
use crate::manifest::{Dim, Manifest};
use crate::tensor::{Output, Outputs, Tensor as InTensor, TensorData};

mod options;
mod tract_load;

pub use options::{
    backends_available, default_cache_dir, Backend, CacheUse, LoadInfo, LoadOptions, TRACT_VERSION,
};
use tract_load::{nnef, prepare, write_cache};

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
