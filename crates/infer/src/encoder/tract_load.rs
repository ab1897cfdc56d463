//! The tract side of a load: ONNX parsing into a decluttered typed model, the NNEF cache file, and
//! preparing the runnable model on the requested runtime (CPU fallback).

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use tract_onnx::prelude::*;
use tract_onnx::tract_core::runtime::{runtime_for_name, RunOptions, Runnable, Runtime};

use super::{Encoder, LoadOptions};
use crate::error::{InferError, Result};
use crate::graph;
use crate::manifest::{DType, Dim, Manifest};

static CUDA_FALLBACK_WARNED: AtomicBool = AtomicBool::new(false);

pub(super) fn nnef() -> tract_nnef::framework::Nnef {
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
    pub(super) fn typed_from_onnx(
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

pub(super) fn write_cache(model: &TypedModel, file: &Path) -> std::result::Result<(), String> {
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

pub(super) fn prepare(
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
