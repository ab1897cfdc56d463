//! `sensorium models tune`: on the machine at hand, every file of each model (fp32 and the manifest's
//! variants) on every backend that loads here and every thread count, parity-checked against the
//! goldens and timed; the fastest passing choice per model is kept in a per-machine file that `replay`
//! and `node` read when the configuration leaves `models.backend` / `models.variant` at `auto`.
//!
//! The file is `<cache dir>/tune-<machine>.json` (machine = a hash of CPU model, core count and
//! architecture); each entry is keyed by a hash of the model folder's manifest and model files, so an
//! edited or replaced model is simply not found (and tuned again when asked).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::check::{check_model, CheckOptions};
use crate::encoder::{backends_available, default_cache_dir, Backend};
use crate::error::{InferError, Result};
use crate::manifest::{Manifest, MANIFEST_FILE};

/// One measured configuration.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Candidate {
    pub backend: Backend,
    /// "fp32" (the manifest's main file) or a variant name.
    pub variant: String,
    pub threads: usize,
    /// Median run time over the golden inputs, ms (NaN/null when it failed).
    pub median_ms: Option<f64>,
    /// Passed the parity check against the goldens.
    pub pass: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A model's tuning: every candidate and the choice.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ModelTune {
    pub name: String,
    pub dir: PathBuf,
    /// Hash of the manifest and model files the measurement is valid for.
    pub model_key: String,
    pub candidates: Vec<Candidate>,
    /// The fastest candidate that passed parity.
    pub choice: Option<Candidate>,
    /// Backends that could not be tried here, with the reason.
    #[serde(default)]
    pub unavailable: Vec<String>,
}

/// The per-machine file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct TuneFile {
    pub machine: String,
    /// model_key → tuning
    pub models: BTreeMap<String, ModelTune>,
}

/// How [`tune_models`] runs.
#[derive(Debug, Clone)]
pub struct TuneOptions {
    /// Thread counts to try (default: 1 and all cores).
    pub threads: Vec<usize>,
    /// Timed runs per candidate (after one warm-up run in the parity check).
    pub runs: usize,
    /// Backends to try (default: every backend that loads here).
    pub backends: Vec<Backend>,
}

impl Default for TuneOptions {
    fn default() -> Self {
        let n = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        let mut threads = vec![1];
        if n > 1 {
            threads.push(n);
        }
        TuneOptions {
            threads,
            runs: 10,
            backends: backends_available()
                .into_iter()
                .filter(|(_, ok)| ok.is_ok())
                .map(|(b, _)| b)
                .collect(),
        }
    }
}

/// Describes this machine: CPU model, logical cores, architecture.
pub fn machine_description() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name") || l.starts_with("Model") || l.starts_with("CPU part"))
                .and_then(|l| l.split_once(':').map(|(_, v)| v.trim().to_string()))
        })
        .unwrap_or_else(|| "unknown cpu".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    format!("{cpu}; {cores} cores; {}", std::env::consts::ARCH)
}

/// The tune file of this machine under `cache_dir` (`None`: [`default_cache_dir`]).
pub fn tune_file(cache_dir: Option<&Path>) -> PathBuf {
    let mut h = Sha256::new();
    h.update(machine_description().as_bytes());
    let key: String = h.finalize().iter().take(6).map(|b| format!("{b:02x}")).collect();
    cache_dir
        .map(Path::to_path_buf)
        .unwrap_or_else(default_cache_dir)
        .join(format!("tune-{key}.json"))
}

/// Hash of a model folder's manifest and every model file it names.
pub fn model_key(dir: &Path) -> Result<String> {
    let (m, manifest_path) = Manifest::load(dir)?;
    let mut h = Sha256::new();
    let read = |p: &Path| std::fs::read(p).map_err(|e| InferError::io(p, "reading", e));
    h.update(read(&manifest_path)?);
    let dir = manifest_path.parent().map(Path::to_path_buf).unwrap_or_default();
    for v in std::iter::once(None).chain(m.variants.iter().map(|v| Some(v.name.as_str()))) {
        h.update(read(&m.model_file(&dir, v, &manifest_path)?)?);
    }
    Ok(h.finalize().iter().take(16).map(|b| format!("{b:02x}")).collect())
}

/// Tunes one model folder.
pub fn tune_model(dir: &Path, opts: &TuneOptions) -> Result<ModelTune> {
    let key = model_key(dir)?;
    let (m, _) = Manifest::load(dir)?;
    let mut candidates = Vec::new();
    let mut unavailable = Vec::new();
    let avail = backends_available();
    for backend in &opts.backends {
        if let Some((_, Err(why))) = avail.iter().find(|(b, _)| b == backend) {
            unavailable.push(format!("{backend}: {why}"));
            continue;
        }
        for &threads in &opts.threads {
            let report = check_model(
                dir,
                &CheckOptions {
                    backend: *backend,
                    threads,
                    runs: opts.runs,
                    cache_dir: None,
                    cold_start: false,
                    runtime: None,
                },
            );
            if let Some(e) = report.error {
                return Err(InferError::Manifest {
                    path: dir.join(MANIFEST_FILE),
                    message: e,
                });
            }
            for v in report.variants {
                candidates.push(Candidate {
                    backend: *backend,
                    variant: v.variant,
                    threads,
                    median_ms: v.latency_median_ms.is_finite().then_some(v.latency_median_ms),
                    pass: v.pass,
                    error: v.error,
                });
            }
        }
    }
    let choice = candidates
        .iter()
        .filter(|c| c.pass && c.median_ms.is_some())
        .min_by(|a, b| {
            a.median_ms
                .unwrap_or(f64::MAX)
                .total_cmp(&b.median_ms.unwrap_or(f64::MAX))
        })
        .cloned();
    Ok(ModelTune {
        name: m.name,
        dir: dir.to_path_buf(),
        model_key: key,
        candidates,
        choice,
        unavailable,
    })
}

/// Tunes every model folder under `dir` (sorted by name).
pub fn tune_models(dir: &Path, opts: &TuneOptions) -> Result<Vec<Result<ModelTune>>> {
    Ok(crate::check::model_dirs(dir)?
        .iter()
        .map(|d| tune_model(d, opts))
        .collect())
}

/// Reads this machine's tune file (empty when absent or unreadable: a warning, never an error).
pub fn load(cache_dir: Option<&Path>) -> TuneFile {
    let f = tune_file(cache_dir);
    match std::fs::read(&f) {
        Ok(b) => match serde_json::from_slice::<TuneFile>(&b) {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!("{}: unreadable tune file, ignored: {e}", f.display());
                TuneFile::default()
            }
        },
        Err(_) => TuneFile::default(),
    }
}

/// Merges `results` into this machine's tune file; returns its path.
pub fn save(cache_dir: Option<&Path>, results: &[ModelTune]) -> Result<PathBuf> {
    let f = tune_file(cache_dir);
    let mut t = load(cache_dir);
    t.machine = machine_description();
    for r in results {
        t.models.insert(r.model_key.clone(), r.clone());
    }
    if let Some(d) = f.parent() {
        std::fs::create_dir_all(d).map_err(|e| InferError::io(d, "creating the cache folder", e))?;
    }
    let json = serde_json::to_vec_pretty(&t).map_err(|e| InferError::Manifest {
        path: f.clone(),
        message: e.to_string(),
    })?;
    let tmp = f.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, json).map_err(|e| InferError::io(&tmp, "writing", e))?;
    std::fs::rename(&tmp, &f).map_err(|e| InferError::io(&f, "writing", e))?;
    Ok(f)
}

/// The tuned choice for the model folder `dir`, if this machine's file has one for its current files.
pub fn lookup(file: &TuneFile, dir: &Path) -> Option<Candidate> {
    let key = model_key(dir).ok()?;
    file.models.get(&key).and_then(|m| m.choice.clone())
}
