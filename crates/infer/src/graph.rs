//! What the ONNX protobuf itself says: its inputs/outputs (checked against the
//! manifest), patterns tract mishandles, and the quantization step of outputs.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use tract_onnx::pb::{self, tensor_shape_proto::dimension::Value as DimValue, type_proto};

use crate::error::{InferError, Result};
use crate::manifest::{shape_string, DType, Dim, Manifest};

/// One graph input or output as declared in the ONNX file.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphTensor {
    pub name: String,
    /// ONNX `TensorProto.DataType` code (1 float, 2 uint8, 7 int64, ...).
    pub elem_type: i32,
    /// `None` when the file declares no shape.
    pub shape: Option<Vec<Dim>>,
}

fn onnx_type_name(t: i32) -> String {
    match t {
        1 => "f32".into(),
        2 => "u8".into(),
        3 => "i8".into(),
        6 => "i32".into(),
        7 => "i64".into(),
        9 => "bool".into(),
        10 => "f16".into(),
        11 => "f64".into(),
        other => format!("onnx-type-{other}"),
    }
}

fn dtype_code(d: DType) -> i32 {
    match d {
        DType::F32 => 1,
        DType::U8 => 2,
        DType::I64 => 7,
    }
}

fn graph_tensor(v: &pb::ValueInfoProto) -> GraphTensor {
    let (elem_type, shape) = match v.r#type.as_ref().and_then(|t| t.value.as_ref()) {
        Some(type_proto::Value::TensorType(t)) => {
            let shape = t.shape.as_ref().map(|s| {
                s.dim
                    .iter()
                    .map(|d| match &d.value {
                        Some(DimValue::DimValue(n)) if *n >= 0 => Dim::Fixed(*n as u64),
                        Some(DimValue::DimParam(p)) if !p.is_empty() => Dim::Symbol(p.clone()),
                        _ => Dim::Symbol("?".into()),
                    })
                    .collect()
            });
            (t.elem_type, shape)
        }
        None => (0, None),
    };
    GraphTensor {
        name: v.name.clone(),
        elem_type,
        shape,
    }
}

/// The graph's real inputs (initializers excluded) and outputs.
pub fn signature(graph: &pb::GraphProto) -> (Vec<GraphTensor>, Vec<GraphTensor>) {
    let inits: HashSet<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
    let inputs = graph
        .input
        .iter()
        .filter(|v| !inits.contains(v.name.as_str()))
        .map(graph_tensor)
        .collect();
    let outputs = graph.output.iter().map(graph_tensor).collect();
    (inputs, outputs)
}

fn shape_str(s: &Option<Vec<Dim>>) -> String {
    s.as_deref()
        .map(shape_string)
        .unwrap_or_else(|| "[unknown]".into())
}

/// Checks the manifest against the graph: input names/order, dtypes, ranks and fixed
/// dims; every manifest output exists with matching rank/fixed dims.
pub fn validate(graph: &pb::GraphProto, m: &Manifest, model: &Path, manifest: &Path) -> Result<()> {
    let mismatch = |message: String| InferError::Mismatch {
        path: model.to_path_buf(),
        manifest: manifest.to_path_buf(),
        message,
    };
    let (g_in, g_out) = signature(graph);
    let g_names: Vec<&str> = g_in.iter().map(|t| t.name.as_str()).collect();
    let m_names: Vec<&str> = m.inputs.iter().map(|t| t.name.as_str()).collect();
    if g_names != m_names {
        return Err(mismatch(format!(
            "inputs: manifest {m_names:?}, model {g_names:?}"
        )));
    }
    for (spec, gt) in m.inputs.iter().zip(&g_in) {
        if gt.elem_type != dtype_code(spec.dtype) {
            return Err(mismatch(format!(
                "input {:?} dtype: manifest {}, model {}",
                spec.name,
                spec.dtype,
                onnx_type_name(gt.elem_type)
            )));
        }
        check_shape("input", &spec.name, &spec.shape, &gt.shape).map_err(mismatch)?;
    }
    for spec in &m.outputs {
        let Some(gt) = g_out.iter().find(|t| t.name == spec.name) else {
            let names: Vec<&str> = g_out.iter().map(|t| t.name.as_str()).collect();
            return Err(mismatch(format!(
                "output {:?} missing: model outputs are {names:?}",
                spec.name
            )));
        };
        if !matches!(gt.elem_type, 1 | 10 | 11) {
            return Err(mismatch(format!(
                "output {:?} dtype: manifest expects float, model {}",
                spec.name,
                onnx_type_name(gt.elem_type)
            )));
        }
        if let Some(shape) = &spec.shape {
            check_shape("output", &spec.name, shape, &gt.shape).map_err(mismatch)?;
        }
    }
    Ok(())
}

fn check_shape(
    what: &str,
    name: &str,
    manifest: &[Dim],
    model: &Option<Vec<Dim>>,
) -> std::result::Result<(), String> {
    let Some(g) = model else { return Ok(()) };
    if g.len() != manifest.len() {
        return Err(format!(
            "{what} {name:?} rank: manifest {} {}, model {} {}",
            manifest.len(),
            shape_string(manifest),
            g.len(),
            shape_str(model)
        ));
    }
    for (i, (a, b)) in manifest.iter().zip(g).enumerate() {
        if let (Dim::Fixed(x), Dim::Fixed(y)) = (a, b) {
            if x != y {
                return Err(format!(
                    "{what} {name:?} dim {i}: manifest {}, model {}",
                    shape_string(manifest),
                    shape_str(model)
                ));
            }
        }
    }
    Ok(())
}

/// Operators tract-onnx cannot load, listed before tract tries (so the error is clear).
pub fn foreign_ops(model: &pb::ModelProto) -> Vec<String> {
    let Some(graph) = &model.graph else { return vec![] };
    let mut out: Vec<String> = graph
        .node
        .iter()
        .filter(|n| !n.domain.is_empty() && n.domain != "ai.onnx" && n.domain != "ai.onnx.ml")
        .map(|n| format!("{}::{} (node {:?})", n.domain, n.op_type, n.name))
        .collect();
    out.dedup();
    out
}

/// Softmax nodes fed by DequantizeLinear whose output goes (only) to QuantizeLinear:
/// tract 0.23 folds them into a 256-entry lookup table as if element-wise (wrong).
pub fn qdq_softmax_nodes(graph: &pb::GraphProto) -> Vec<String> {
    let producer: HashMap<&str, &pb::NodeProto> = graph
        .node
        .iter()
        .flat_map(|n| n.output.iter().map(move |o| (o.as_str(), n)))
        .collect();
    let mut consumers: HashMap<&str, Vec<&pb::NodeProto>> = HashMap::new();
    for n in &graph.node {
        for i in &n.input {
            consumers.entry(i.as_str()).or_default().push(n);
        }
    }
    graph
        .node
        .iter()
        .filter(|n| n.op_type == "Softmax" || n.op_type == "LogSoftmax")
        .filter(|n| {
            let fed_by_dq = n
                .input
                .first()
                .and_then(|i| producer.get(i.as_str()))
                .is_some_and(|p| p.op_type == "DequantizeLinear");
            let into_q = n
                .output
                .first()
                .and_then(|o| consumers.get(o.as_str()))
                .is_some_and(|cs| !cs.is_empty() && cs.iter().all(|c| c.op_type == "QuantizeLinear"));
            fed_by_dq && into_q
        })
        .map(|n| {
            if n.name.is_empty() {
                n.output.first().cloned().unwrap_or_default()
            } else {
                n.name.clone()
            }
        })
        .collect()
}

fn f32_values(t: &pb::TensorProto) -> Option<Vec<f32>> {
    if t.data_type != 1 {
        return None;
    }
    if !t.float_data.is_empty() {
        return Some(t.float_data.clone());
    }
    let chunks = t.raw_data.chunks_exact(4);
    if !chunks.remainder().is_empty() {
        return None;
    }
    Some(
        chunks
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
    )
}

fn constant(graph: &pb::GraphProto, name: &str) -> Option<Vec<f32>> {
    if let Some(t) = graph.initializer.iter().find(|t| t.name == name) {
        return f32_values(t);
    }
    let node = graph
        .node
        .iter()
        .find(|n| n.op_type == "Constant" && n.output.iter().any(|o| o == name))?;
    node.attribute
        .iter()
        .find(|a| a.name == "value")
        .and_then(|a| a.t.as_ref())
        .and_then(f32_values)
}

/// One quantization step of a graph output: the (largest) scale of the
/// DequantizeLinear that produces it, looking through shape-only ops.
pub fn output_quant_step(graph: &pb::GraphProto, output: &str) -> Option<f32> {
    let mut name = output.to_string();
    for _ in 0..16 {
        let node = graph.node.iter().find(|n| n.output.contains(&name))?;
        match node.op_type.as_str() {
            "DequantizeLinear" => {
                let scales = constant(graph, node.input.get(1)?)?;
                return scales.into_iter().filter(|s| s.is_finite()).reduce(f32::max);
            }
            "Reshape" | "Flatten" | "Squeeze" | "Unsqueeze" | "Transpose" | "Identity" => {
                name = node.input.first()?.clone();
            }
            _ => return None,
        }
    }
    None
}
