//! Per-operator time of a model in tract (`sensorium models profile`): where an encoder's time goes,
//! to tell a slow kernel from a badly exported graph.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;
use tract_onnx::prelude::*;
use tract_onnx::tract_core::plan::{SimplePlan, SimpleState};
use tract_onnx::tract_core::runtime::RunOptions;

use crate::check::read_npy;
use crate::encoder::{Encoder, LoadOptions};
use crate::error::{InferError, Result};
use crate::tensor::TensorData;

/// Time spent in one operator type.
#[derive(Debug, Clone, Serialize)]
pub struct OpTime {
    pub op: String,
    pub nodes: usize,
    /// Per run, ms.
    pub ms: f64,
    pub share: f64,
}

/// One node among the slowest.
#[derive(Debug, Clone, Serialize)]
pub struct NodeTime {
    pub name: String,
    pub op: String,
    pub ms: f64,
    /// The node's output shapes and types.
    pub outputs: String,
}

/// A model's profile in tract.
#[derive(Debug, Clone, Serialize)]
pub struct Profile {
    pub model_file: PathBuf,
    pub threads: usize,
    pub runs: usize,
    /// Sum of node times per run, ms.
    pub total_ms: f64,
    /// Operator types, slowest first.
    pub ops: Vec<OpTime>,
    /// The 10 slowest nodes.
    pub nodes: Vec<NodeTime>,
}

/// Profiles the model folder `dir` (the variant and threads of `options`) on its golden inputs.
pub fn profile(dir: &Path, options: &LoadOptions, runs: usize) -> Result<Profile> {
    let (typed, model_path, manifest) = Encoder::typed_model(dir, options)?;
    let optimized = typed
        .into_optimized()
        .map_err(|e| InferError::tract(&model_path, "optimize the model", e))?;
    let threads = match options.threads {
        0 => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        n => n,
    };
    let run_options = RunOptions {
        executor: (threads > 1).then(|| {
            tract_linalg::multithread::Executor::multithread_with_name(threads, "sensorium-profile")
        }),
        ..Default::default()
    };
    let plan = SimplePlan::new_with_options(optimized, &run_options)
        .map_err(|e| InferError::tract(&model_path, "plan the model", e))?;
    let mut state =
        SimpleState::new(&plan).map_err(|e| InferError::tract(&model_path, "plan the model", e))?;
    let golden = dir.join("golden/inputs");
    let mut inputs: TVec<TValue> = tvec![];
    for spec in &manifest.inputs {
        let t = read_npy(&golden.join(format!("{}.npy", spec.name)))?;
        let shape = t.shape.clone();
        let tensor = match t.data {
            TensorData::F32(v) => tract_ndarray::ArrayD::from_shape_vec(shape, v).map(Tensor::from),
            TensorData::I64(v) => tract_ndarray::ArrayD::from_shape_vec(shape, v).map(Tensor::from),
            TensorData::U8(v) => tract_ndarray::ArrayD::from_shape_vec(shape, v).map(Tensor::from),
        }
        .map_err(|e| InferError::Golden {
            path: golden.join(format!("{}.npy", spec.name)),
            message: e.to_string(),
        })?;
        inputs.push(tensor.into_tvalue());
    }
    let model = plan.model();
    let mut per_node = vec![0.0f64; model.nodes().len()];
    let runs = runs.max(1);
    // one warm-up run, then the measured ones
    for i in 0..=runs {
        state
            .run_plan_with_eval(inputs.clone(), |ctx, st, node, input| {
                let t = Instant::now();
                let r = tract_onnx::tract_core::plan::eval(ctx, st, node, input);
                if i > 0 {
                    per_node[node.id] += t.elapsed().as_secs_f64() * 1e3;
                }
                r
            })
            .map_err(|e| InferError::tract(&model_path, "run", e))?;
    }
    let total: f64 = per_node.iter().sum::<f64>() / runs as f64;
    let mut by_op: BTreeMap<String, (usize, f64)> = BTreeMap::new();
    let mut nodes = Vec::new();
    for node in model.nodes() {
        let ms = per_node[node.id] / runs as f64;
        let op = node.op().name().to_string();
        let e = by_op.entry(op.clone()).or_default();
        e.0 += 1;
        e.1 += ms;
        nodes.push(NodeTime {
            name: node.name.clone(),
            op,
            ms,
            outputs: node
                .outputs
                .iter()
                .map(|o| format!("{:?}", o.fact))
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    let mut ops: Vec<OpTime> = by_op
        .into_iter()
        .map(|(op, (n, ms))| OpTime {
            op,
            nodes: n,
            ms,
            share: if total > 0.0 { ms / total } else { 0.0 },
        })
        .collect();
    ops.sort_by(|a, b| b.ms.total_cmp(&a.ms));
    nodes.sort_by(|a, b| b.ms.total_cmp(&a.ms));
    nodes.truncate(10);
    Ok(Profile {
        model_file: model_path,
        threads,
        runs,
        total_ms: total,
        ops,
        nodes,
    })
}
