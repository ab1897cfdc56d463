//! The ONNX Runtime backend (cargo feature `onnxruntime`), through the `ort` crate with dynamic loading.
//!
//! Nothing is linked at build time: the first onnxruntime load opens `libonnxruntime.so` found by
//! [`find_library`] — `$ORT_DYLIB_PATH`, else the `onnxruntime` wheel in the repository's `.venv`
//! (what `scripts/setup-venv.sh` installs), else the system's library paths (a vendor build on a Jetson).
//! Without a library the load fails with an error that says where it looked; tract keeps working.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;
use ort::value::Tensor as OrtTensor;

use crate::error::{InferError, Result};
use crate::manifest::Manifest;
use crate::tensor::{Output, Outputs, Tensor as InTensor, TensorData};

/// Where [`find_library`] looks, in order (existing or not).
pub fn library_candidates() -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH").filter(|p| !p.is_empty()) {
        out.push(PathBuf::from(p));
    }
    // .venv of the repository: beside the executable's ancestors (target/debug/sensorium) or the cwd
    let mut roots: Vec<PathBuf> = Vec::new();
    if let Ok(exe) = std::env::current_exe() {
        roots.extend(exe.ancestors().skip(1).take(5).map(Path::to_path_buf));
    }
    if let Ok(cwd) = std::env::current_dir() {
        roots.extend(cwd.ancestors().take(4).map(Path::to_path_buf));
    }
    roots.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.."));
    for root in roots {
        let lib = root.join(".venv/lib");
        let Ok(rd) = std::fs::read_dir(&lib) else {
            continue;
        };
        let mut pys: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
        pys.sort();
        for py in pys {
            let capi = py.join("site-packages/onnxruntime/capi");
            if let Ok(rd) = std::fs::read_dir(&capi) {
                let mut libs: Vec<PathBuf> = rd
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| {
                        p.file_name()
                            .and_then(|n| n.to_str())
                            .is_some_and(|n| n.starts_with("libonnxruntime.so"))
                    })
                    .collect();
                libs.sort();
                out.extend(libs);
            }
        }
    }
    for dir in [
        "/usr/local/lib",
        "/usr/lib",
        "/usr/lib/x86_64-linux-gnu",
        "/usr/lib/aarch64-linux-gnu",
        "/opt/onnxruntime/lib",
    ] {
        out.push(Path::new(dir).join("libonnxruntime.so"));
    }
    out
}

/// The onnxruntime library to load, or an error listing where it was looked for.
pub fn find_library() -> std::result::Result<PathBuf, String> {
    let c = library_candidates();
    c.iter().find(|p| p.is_file()).cloned().ok_or_else(|| {
        format!(
            "libonnxruntime not found (set ORT_DYLIB_PATH, or run scripts/setup-venv.sh for the wheel's library); looked at: {}",
            c.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
        )
    })
}

static ENV: OnceLock<std::result::Result<(ort::environment::Environment, PathBuf), String>> = OnceLock::new();

/// The process-wide onnxruntime environment (loads the library once).
fn environment() -> std::result::Result<&'static (ort::environment::Environment, PathBuf), String> {
    ENV.get_or_init(|| {
        let lib = find_library()?;
        let builder = ort::init_from(&lib).map_err(|e| format!("{}: {e}", lib.display()))?;
        let env = builder
            .with_name("sensorium")
            .build()
            .map_err(|e| format!("{}: creating the environment: {e}", lib.display()))?;
        Ok((env, lib))
    })
    .as_ref()
    .map_err(Clone::clone)
}

/// Whether onnxruntime can be loaded here, and from where.
pub fn available() -> std::result::Result<PathBuf, String> {
    environment().map(|(_, p)| p.clone())
}

/// onnxruntime's version string ("1.32.0"), once the library is loaded.
pub fn version() -> Option<String> {
    environment().ok()?;
    let info = ort::info();
    info.split([',', ' '])
        .find_map(|t| t.strip_prefix("git-branch=rel-").map(str::to_string))
        .or_else(|| Some(info.chars().take(60).collect()))
}

/// A loaded onnxruntime session (runs are serialised: `ort` sessions run through `&mut`).
pub struct OrtSession {
    session: Mutex<Session>,
    pub library: PathBuf,
}

impl OrtSession {
    /// Builds a session from the model bytes with `threads` intra-op threads and all graph optimizations.
    pub fn load(bytes: &[u8], threads: usize, model_path: &Path) -> Result<OrtSession> {
        let fail = |stage: &'static str, message: String| InferError::Backend {
            path: model_path.to_path_buf(),
            backend: "onnxruntime",
            stage,
            message,
        };
        let (env, lib) = environment().map_err(|e| fail("load the library", e))?;
        let session = Session::builder(env)
            .map_err(|e| fail("create a session", e.to_string()))?
            .with_optimization_level(GraphOptimizationLevel::All)
            .map_err(|e| fail("set the optimization level", e.to_string()))?
            .with_intra_threads(threads.max(1))
            .map_err(|e| fail("set the threads", e.to_string()))?
            .with_inter_threads(1)
            .map_err(|e| fail("set the threads", e.to_string()))?
            .commit_from_memory(bytes)
            .map_err(|e| fail("load the model", e.to_string()))?;
        Ok(OrtSession {
            session: Mutex::new(session),
            library: lib.clone(),
        })
    }

    /// Runs on inputs already checked against the manifest (same order); outputs as f32 by manifest name.
    pub fn run(&self, manifest: &Manifest, inputs: Vec<InTensor>, model_path: &Path) -> Result<Outputs> {
        let fail = |stage: &'static str, message: String| InferError::Backend {
            path: model_path.to_path_buf(),
            backend: "onnxruntime",
            stage,
            message,
        };
        let mut values: Vec<(String, ort::value::DynValue)> = Vec::with_capacity(inputs.len());
        for (t, spec) in inputs.into_iter().zip(&manifest.inputs) {
            let shape: Vec<i64> = t.shape.iter().map(|d| *d as i64).collect();
            let v = match t.data {
                TensorData::F32(d) => OrtTensor::from_array((shape, d)).map(|x| x.into_dyn()),
                TensorData::I64(d) => OrtTensor::from_array((shape, d)).map(|x| x.into_dyn()),
                TensorData::U8(d) => OrtTensor::from_array((shape, d)).map(|x| x.into_dyn()),
            }
            .map_err(|e| fail("make an input tensor", format!("{}: {e}", spec.name)))?;
            values.push((spec.name.clone(), v));
        }
        let mut session = self
            .session
            .lock()
            .map_err(|_| fail("run", "session poisoned by an earlier panic".into()))?;
        let outs = session.run(values).map_err(|e| fail("run", e.to_string()))?;
        let mut result = Vec::with_capacity(manifest.outputs.len());
        for spec in &manifest.outputs {
            let v = outs
                .get(spec.name.as_str())
                .ok_or_else(|| fail("read outputs", format!("no output `{}`", spec.name)))?;
            let (shape, data) = match v.try_extract_tensor::<f32>() {
                Ok((s, d)) => (s.iter().map(|x| *x as usize).collect::<Vec<_>>(), d.to_vec()),
                Err(_) => {
                    let (s, d) = v
                        .try_extract_tensor::<i64>()
                        .map_err(|e| fail("read outputs", format!("{}: {e}", spec.name)))?;
                    (
                        s.iter().map(|x| *x as usize).collect(),
                        d.iter().map(|x| *x as f32).collect(),
                    )
                }
            };
            result.push(Output {
                name: spec.name.clone(),
                shape,
                data,
            });
        }
        Ok(Outputs(result))
    }
}
