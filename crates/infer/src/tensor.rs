//! Plain tensors passed into and out of [`crate::Encoder::run`].

use serde::Serialize;

use crate::manifest::DType;

/// Element buffer of an input tensor.
#[derive(Debug, Clone, PartialEq)]
pub enum TensorData {
    F32(Vec<f32>),
    I64(Vec<i64>),
    U8(Vec<u8>),
}

/// A dense row-major tensor.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    pub shape: Vec<usize>,
    pub data: TensorData,
}

impl Tensor {
    pub fn f32(shape: Vec<usize>, data: Vec<f32>) -> Tensor {
        Tensor {
            shape,
            data: TensorData::F32(data),
        }
    }
    pub fn i64(shape: Vec<usize>, data: Vec<i64>) -> Tensor {
        Tensor {
            shape,
            data: TensorData::I64(data),
        }
    }
    pub fn u8(shape: Vec<usize>, data: Vec<u8>) -> Tensor {
        Tensor {
            shape,
            data: TensorData::U8(data),
        }
    }
    pub fn dtype(&self) -> DType {
        match self.data {
            TensorData::F32(_) => DType::F32,
            TensorData::I64(_) => DType::I64,
            TensorData::U8(_) => DType::U8,
        }
    }
    /// Number of elements held.
    pub fn len(&self) -> usize {
        match &self.data {
            TensorData::F32(v) => v.len(),
            TensorData::I64(v) => v.len(),
            TensorData::U8(v) => v.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One named model output, converted to f32.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Output {
    pub name: String,
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// Model outputs in manifest order.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Outputs(pub Vec<Output>);

impl Outputs {
    pub fn get(&self, name: &str) -> Option<&Output> {
        self.0.iter().find(|o| o.name == name)
    }
    pub fn iter(&self) -> impl Iterator<Item = &Output> {
        self.0.iter()
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
