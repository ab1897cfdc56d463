//! Parity checks against onnxruntime goldens, and `sensorium models check`.
//!
//! Golden layout (written by `crates/infer/tests/python/make_goldens.py`):
//! `golden/inputs/<input>.npy` (f32/i64/u8, manifest shapes), `golden/outputs/<output>.npy`
//! (float32, onnxruntime on the reference file) and `golden/outputs.<variant>/<output>.npy`
//! for each `[[variants]]` entry, all on the same inputs.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use crate::encoder::{Backend, CacheUse, Encoder, LoadOptions};
use crate::error::{InferError, Result};
use crate::graph;
use crate::manifest::{Manifest, QuantFormat, MANIFEST_FILE};
use crate::tensor::{Output, Outputs, Tensor};

/// fp32 parity bound: relative L2 error against onnxruntime.
pub const FP32_REL_L2: f64 = 1e-4;
/// f16 parity bound: relative L2 error against onnxruntime.
pub const F16_REL_L2: f64 = 1e-2;
/// int8 bound for outputs that are not produced by a DequantizeLinear (so have no
/// quantization step) and whose variant sets no `tolerance`: relative L2 error.
pub const INT8_FALLBACK_REL_L2: f64 = 5e-2;
/// int8: fraction of elements allowed to be two (not one) quantization steps off.
pub const INT8_FLIP_FRACTION: f64 = 1e-3;

/// Reads one `.npy` file as a [`Tensor`] (f32, f64→f32, i64, i32→i64, u8).
pub fn read_npy(path: &Path) -> Result<Tensor> {
    let bytes = std::fs::read(path).map_err(|e| InferError::io(path, "reading", e))?;
    let bad = |message: String| InferError::Golden {
        path: path.to_path_buf(),
        message,
    };
    let npy = npyz::NpyFile::new(&bytes[..]).map_err(|e| bad(e.to_string()))?;
    let shape: Vec<usize> = npy.shape().iter().map(|&d| d as usize).collect();
    let descr = match npy.dtype() {
        npyz::DType::Plain(ts) => ts.to_string(),
        other => return Err(bad(format!("unsupported dtype {other:?}"))),
    };
    let t = match descr.as_str() {
        "<f4" => Tensor::f32(shape, npy.into_vec::<f32>().map_err(|e| bad(e.to_string()))?),
        "<f8" => Tensor::f32(
            shape,
            npy.into_vec::<f64>()
                .map_err(|e| bad(e.to_string()))?
                .into_iter()
                .map(|v| v as f32)
                .collect(),
        ),
        "<i8" => Tensor::i64(shape, npy.into_vec::<i64>().map_err(|e| bad(e.to_string()))?),
        "<i4" => Tensor::i64(
            shape,
            npy.into_vec::<i32>()
                .map_err(|e| bad(e.to_string()))?
                .into_iter()
                .map(i64::from)
                .collect(),
        ),
        "|u1" => Tensor::u8(shape, npy.into_vec::<u8>().map_err(|e| bad(e.to_string()))?),
        other => return Err(bad(format!("unsupported dtype {other}"))),
    };
    if t.shape.iter().product::<usize>() != t.len() {
        return Err(bad(format!(
            "shape {:?} does not match {} elements",
            t.shape,
            t.len()
        )));
    }
    Ok(t)
}

/// Error figures of one output against its golden.
#[derive(Debug, Clone, Serialize)]
pub struct OutputCheck {
    pub name: String,
    pub max_abs: f64,
    pub rel_l2: f64,
    /// "rel_l2" or "max_abs": which figure the bound applies to.
    pub metric: &'static str,
    pub bound: f64,
    /// int8: fraction of elements more than one quantization step off (0 otherwise).
    pub beyond_one_step: f64,
    pub pass: bool,
}

/// ||a - b|| / ||b|| (||a - b|| when b is all zeros) and max |a - b|.
pub fn errors(actual: &[f32], golden: &[f32]) -> (f64, f64) {
    let mut d2 = 0.0f64;
    let mut g2 = 0.0f64;
    let mut max_abs = 0.0f64;
    for (&a, &g) in actual.iter().zip(golden) {
        let d = a as f64 - g as f64;
        d2 += d * d;
        g2 += (g as f64) * (g as f64);
        max_abs = max_abs.max(d.abs());
    }
    if actual.len() != golden.len() || actual.iter().chain(golden).any(|v| !v.is_finite()) {
        return (f64::INFINITY, f64::INFINITY);
    }
    let rel = if g2 > 0.0 { (d2 / g2).sqrt() } else { d2.sqrt() };
    (max_abs, rel)
}

/// One model file (reference or variant) checked.
#[derive(Debug, Clone, Serialize)]
pub struct VariantCheck {
    /// "fp32" for the reference file, else the variant name.
    pub variant: String,
    pub model_file: PathBuf,
    pub format: QuantFormat,
    pub outputs: Vec<OutputCheck>,
    /// Load time without the cache (ONNX parse + optimize), ms.
    pub cold_start_ms: f64,
    /// Time of the first cached load, ms: a cache write when the cache was empty
    /// (`cache` says what the second load found).
    pub cold_start_cache_write_ms: f64,
    /// Load time from the cache (second cached load), ms.
    pub cold_start_cached_ms: f64,
    pub cache: CacheUse,
    /// Median wall time of `run` over `runs` runs, ms.
    pub latency_median_ms: f64,
    /// The engine that ran it.
    pub backend: Backend,
    /// The device it ran on ("cpu", "cuda"; "cpu" after a fallback).
    pub runtime: String,
    pub runs: usize,
    pub threads: usize,
    pub pass: bool,
    pub error: Option<String>,
}

/// All checks of one model folder.
#[derive(Debug, Clone, Serialize)]
pub struct ModelCheckReport {
    pub name: String,
    pub dir: PathBuf,
    pub variants: Vec<VariantCheck>,
    pub pass: bool,
    /// Set when the folder could not be checked at all (manifest, goldens); names the file.
    pub error: Option<String>,
}

/// How [`check_models`] runs.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    pub backend: Backend,
    pub threads: usize,
    pub runs: usize,
    /// Cache folder for the cold-start measurement (`None`: the default cache dir).
    pub cache_dir: Option<PathBuf>,
    /// Measure cold start with and without tract's cache (two extra loads per file).
    pub cold_start: bool,
    /// tract runtime ("cpu", "cuda"); `None` = the build's default.
    pub runtime: Option<String>,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            backend: Backend::Tract,
            threads: 1,
            runs: 5,
            cache_dir: None,
            cold_start: true,
            runtime: None,
        }
    }
}

fn read_dir_npys(dir: &Path, names: &[String]) -> Result<Vec<Tensor>> {
    names
        .iter()
        .map(|n| read_npy(&dir.join(format!("{n}.npy"))))
        .collect()
}

/// Compares outputs with goldens: rel L2 for fp32/f16, max abs ≤ one quantization step for int8.
pub fn compare(
    outputs: &Outputs,
    golden: &[Tensor],
    format: QuantFormat,
    steps: &[Option<f32>],
    golden_dir: &Path,
) -> Result<Vec<OutputCheck>> {
    let mut out = Vec::new();
    for (i, (o, g)) in outputs.iter().zip(golden).enumerate() {
        let Output { name, data, shape } = o;
        let gdata = match &g.data {
            crate::tensor::TensorData::F32(v) => v,
            _ => {
                return Err(InferError::Golden {
                    path: golden_dir.join(format!("{name}.npy")),
                    message: "golden output is not float".into(),
                })
            }
        };
        if *shape != g.shape {
            return Err(InferError::Golden {
                path: golden_dir.join(format!("{name}.npy")),
                message: format!("golden shape {:?}, model output shape {shape:?}", g.shape),
            });
        }
        let (max_abs, rel_l2) = errors(data, gdata);
        let (metric, bound) = match format {
            QuantFormat::Fp32 => ("rel_l2", FP32_REL_L2),
            QuantFormat::F16 => ("rel_l2", F16_REL_L2),
            QuantFormat::Int8Qdq | QuantFormat::Int8Qop => match steps.get(i).copied().flatten() {
                Some(step) => ("max_abs", step as f64 * (1.0 + 1e-5)),
                // A float output computed after the last DequantizeLinear (e.g. an L2
                // normalisation): no step to compare with; fall back to relative L2.
                None => ("rel_l2", INT8_FALLBACK_REL_L2),
            },
        };
        let (pass, beyond_one_step) = if metric == "rel_l2" {
            (rel_l2 <= bound, 0.0)
        } else {
            // One step, allowing intermediate rounding flips (tract rounds QDQ in fp32,
            // onnxruntime in integer kernels): at most 0.1% of elements two steps off.
            let beyond = data
                .iter()
                .zip(gdata)
                .filter(|(a, g)| ((**a - **g).abs() as f64) > bound)
                .count();
            let frac = beyond as f64 / data.len().max(1) as f64;
            (
                max_abs <= bound || (max_abs <= 2.0 * bound && frac <= INT8_FLIP_FRACTION),
                frac,
            )
        };
        out.push(OutputCheck {
            name: name.clone(),
            max_abs,
            rel_l2,
            metric,
            bound,
            beyond_one_step,
            pass,
        });
    }
    Ok(out)
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn check_variant(
    dir: &Path,
    m: &Manifest,
    variant: Option<&str>,
    opts: &CheckOptions,
) -> Result<VariantCheck> {
    let manifest_path = dir.join(MANIFEST_FILE);
    let model_file = m.model_file(dir, variant, &manifest_path)?;
    let var = variant.and_then(|v| m.variants.iter().find(|x| x.name == v));
    let format = var.map(|v| v.format).unwrap_or(m.quantization.format);
    let base = LoadOptions {
        backend: opts.backend,
        runtime: opts.runtime.clone(),
        variant: variant.map(str::to_string),
        threads: opts.threads,
        cache_dir: opts.cache_dir.clone(),
        use_cache: false,
        ..Default::default()
    };
    let t = Instant::now();
    let enc = Encoder::load(dir, &base)?;
    let cold_start_ms = t.elapsed().as_secs_f64() * 1e3;
    // the optimized-model cache is tract's (onnxruntime optimizes at every load)
    let (second, cold_start_cache_write_ms, cold_start_cached_ms, cache) =
        if opts.backend == Backend::Tract && opts.cold_start {
            let cached = LoadOptions {
                use_cache: true,
                ..base.clone()
            };
            let t = Instant::now();
            let first = Encoder::load(dir, &cached)?;
            let write_ms = t.elapsed().as_secs_f64() * 1e3;
            let t = Instant::now();
            let second = Encoder::load(dir, &cached)?;
            let cached_ms = t.elapsed().as_secs_f64() * 1e3;
            let cache = match (&first.load_info().cache, &second.load_info().cache) {
                (_, CacheUse::Hit) => CacheUse::Hit,
                (c, _) => c.clone(),
            };
            (second, write_ms, cached_ms, cache)
        } else {
            (Encoder::load(dir, &base)?, f64::NAN, f64::NAN, CacheUse::Disabled)
        };

    let golden = dir.join("golden");
    let in_names: Vec<String> = m.inputs.iter().map(|i| i.name.clone()).collect();
    let out_names: Vec<String> = m.outputs.iter().map(|o| o.name.clone()).collect();
    let inputs = read_dir_npys(&golden.join("inputs"), &in_names)?;
    let gdir = match variant {
        None => golden.join("outputs"),
        Some(v) => golden.join(format!("outputs.{v}")),
    };
    let expected = read_dir_npys(&gdir, &out_names)?;
    let steps: Vec<Option<f32>> = if matches!(format, QuantFormat::Int8Qdq | QuantFormat::Int8Qop) {
        let bytes =
            std::fs::read(&model_file).map_err(|e| InferError::io(&model_file, "reading model", e))?;
        let proto =
            tract_onnx::prelude::Framework::proto_model_for_read(&tract_onnx::onnx(), &mut &bytes[..])
                .map_err(|e| InferError::Corrupt {
                    path: model_file.clone(),
                    message: format!("{e:#}"),
                })?;
        out_names
            .iter()
            .map(|n| {
                proto
                    .graph
                    .as_ref()
                    .and_then(|g| graph::output_quant_step(g, n))
                    .or(var.and_then(|v| v.tolerance))
            })
            .collect()
    } else {
        vec![None; out_names.len()]
    };
    let outputs = second.run(inputs.clone())?;
    let checks = compare(&outputs, &expected, format, &steps, &gdir)?;
    // The uncached encoder must agree with the cached one (the NNEF round trip is exact).
    let direct = enc.run(inputs.clone())?;
    for (a, b) in direct.iter().zip(outputs.iter()) {
        let (max_abs, _) = errors(&a.data, &b.data);
        if max_abs > 1e-6 {
            return Err(InferError::Golden {
                path: model_file.clone(),
                message: format!(
                    "output {}: cached model differs from ONNX-loaded model by {max_abs}",
                    a.name
                ),
            });
        }
    }
    let mut times = Vec::with_capacity(opts.runs);
    for _ in 0..opts.runs.max(1) {
        let t = Instant::now();
        second.run(inputs.clone())?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let pass = checks.iter().all(|c| c.pass);
    Ok(VariantCheck {
        variant: variant.unwrap_or("fp32").to_string(),
        model_file,
        format,
        outputs: checks,
        cold_start_ms,
        cold_start_cache_write_ms,
        cold_start_cached_ms,
        cache,
        latency_median_ms: median(times),
        backend: opts.backend,
        runtime: second.load_info().runtime.clone(),
        runs: opts.runs.max(1),
        threads: second.load_info().threads,
        pass,
        error: None,
    })
}

/// Checks one model folder: every file (reference + variants) against its goldens.
pub fn check_model(dir: &Path, opts: &CheckOptions) -> ModelCheckReport {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let m = match Manifest::load(dir) {
        Ok((m, _)) => m,
        Err(e) => {
            return ModelCheckReport {
                name,
                dir: dir.to_path_buf(),
                variants: vec![],
                pass: false,
                error: Some(e.to_string()),
            }
        }
    };
    let mut variants = Vec::new();
    let names: Vec<Option<&str>> = std::iter::once(None)
        .chain(m.variants.iter().map(|v| Some(v.name.as_str())))
        .collect();
    for v in names {
        variants.push(check_variant(dir, &m, v, opts).unwrap_or_else(|e| {
            VariantCheck {
                variant: v.unwrap_or("fp32").to_string(),
                model_file: m.model_file(dir, v, &dir.join(MANIFEST_FILE)).unwrap_or_default(),
                format: v
                    .and_then(|n| m.variants.iter().find(|x| x.name == n))
                    .map(|x| x.format)
                    .unwrap_or(m.quantization.format),
                outputs: vec![],
                cold_start_ms: f64::NAN,
                cold_start_cache_write_ms: f64::NAN,
                cold_start_cached_ms: f64::NAN,
                cache: CacheUse::Disabled,
                latency_median_ms: f64::NAN,
                backend: opts.backend,
                runtime: opts.runtime.clone().unwrap_or_else(|| "cpu".into()),
                runs: 0,
                threads: opts.threads,
                pass: false,
                error: Some(e.to_string()),
            }
        }));
    }
    let pass = variants.iter().all(|v| v.pass);
    ModelCheckReport {
        name: m.name,
        dir: dir.to_path_buf(),
        variants,
        pass,
        error: None,
    }
}

/// Checks every subfolder of `dir` holding a `manifest.toml` (sorted by name).
/// Err only when `dir` cannot be listed; failing models are reports with `pass == false`.
pub fn check_models(dir: &Path) -> Result<Vec<ModelCheckReport>> {
    check_models_with(dir, &CheckOptions::default())
}

/// [`check_models`] with options.
pub fn check_models_with(dir: &Path, opts: &CheckOptions) -> Result<Vec<ModelCheckReport>> {
    Ok(model_dirs(dir)?.iter().map(|d| check_model(d, opts)).collect())
}

/// The subfolders of `dir` holding a `manifest.toml`, sorted by name.
pub fn model_dirs(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| InferError::io(dir, "listing models", e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join(MANIFEST_FILE).is_file())
        .collect();
    dirs.sort();
    Ok(dirs)
}
