//! Feather (Arrow IPC file) tables, as Argoverse 2 stores its sweeps, labels and calibration: every
//! record batch read, columns taken by name and converted to plain vectors.

use crate::{DatasetError, Result};
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float16Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type, UInt32Type,
    UInt64Type, UInt8Type,
};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use std::path::{Path, PathBuf};

/// A whole feather file in memory.
pub struct Table {
    path: PathBuf,
    batches: Vec<RecordBatch>,
}

impl Table {
    /// Reads every record batch of `path`.
    pub fn read(path: &Path) -> Result<Table> {
        let file = std::fs::File::open(path).map_err(|e| DatasetError::file(path, e))?;
        let reader = arrow_ipc::reader::FileReader::try_new(std::io::BufReader::new(file), None)
            .map_err(|e| DatasetError::file(path, format!("not a readable feather (Arrow IPC) file: {e}")))?;
        let mut batches = Vec::new();
        for (i, b) in reader.enumerate() {
            batches.push(b.map_err(|e| DatasetError::file(path, format!("record batch {i}: {e}")))?);
        }
        Ok(Table {
            path: path.to_path_buf(),
            batches,
        })
    }

    pub fn rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }

    fn columns(&self, name: &str) -> Result<Vec<&dyn Array>> {
        self.batches
            .iter()
            .map(|b| {
                b.column_by_name(name).map(|c| c.as_ref()).ok_or_else(|| {
                    let known: Vec<String> = b.schema().fields().iter().map(|f| f.name().clone()).collect();
                    DatasetError::file(
                        &self.path,
                        format!("no column `{name}` (columns: {})", known.join(", ")),
                    )
                })
            })
            .collect()
    }

    /// A numeric column as f64 (floats of any width, integers).
    pub fn f64s(&self, name: &str) -> Result<Vec<f64>> {
        let mut out = Vec::with_capacity(self.rows());
        for col in self.columns(name)? {
            if col.null_count() > 0 {
                return Err(DatasetError::file(
                    &self.path,
                    format!("column `{name}`: {} null values", col.null_count()),
                ));
            }
            macro_rules! take {
                ($t:ty) => {
                    out.extend(col.as_primitive::<$t>().values().iter().map(|v| *v as f64))
                };
            }
            match col.data_type() {
                DataType::Float16 => out.extend(
                    col.as_primitive::<Float16Type>()
                        .values()
                        .iter()
                        .map(|v| f64::from(v.to_f32())),
                ),
                DataType::Float32 => take!(Float32Type),
                DataType::Float64 => take!(Float64Type),
                DataType::Int8 => take!(Int8Type),
                DataType::Int16 => take!(Int16Type),
                DataType::Int32 => take!(Int32Type),
                DataType::Int64 => take!(Int64Type),
                DataType::UInt8 => take!(UInt8Type),
                DataType::UInt16 => take!(UInt16Type),
                DataType::UInt32 => take!(UInt32Type),
                DataType::UInt64 => take!(UInt64Type),
                other => {
                    return Err(DatasetError::file(
                        &self.path,
                        format!("column `{name}`: type {other} is not numeric"),
                    ))
                }
            }
        }
        Ok(out)
    }

    /// An integer column as i64 exactly (timestamps).
    pub fn i64s(&self, name: &str) -> Result<Vec<i64>> {
        let mut out = Vec::with_capacity(self.rows());
        for col in self.columns(name)? {
            match col.data_type() {
                DataType::Int64 => out.extend(col.as_primitive::<Int64Type>().values().iter().copied()),
                DataType::UInt64 => {
                    for v in col.as_primitive::<UInt64Type>().values().iter() {
                        out.push(i64::try_from(*v).map_err(|_| {
                            DatasetError::file(&self.path, format!("column `{name}`: {v} overflows i64"))
                        })?);
                    }
                }
                DataType::Int32 => out.extend(
                    col.as_primitive::<Int32Type>()
                        .values()
                        .iter()
                        .map(|v| i64::from(*v)),
                ),
                other => {
                    return Err(DatasetError::file(
                        &self.path,
                        format!("column `{name}`: type {other} is not a 64-bit integer"),
                    ))
                }
            }
        }
        Ok(out)
    }

    /// A string column (`utf8` or `large_utf8`; nulls read as empty).
    pub fn strings(&self, name: &str) -> Result<Vec<String>> {
        let mut out = Vec::with_capacity(self.rows());
        for col in self.columns(name)? {
            match col.data_type() {
                DataType::Utf8 => {
                    let a = col.as_string::<i32>();
                    out.extend((0..a.len()).map(|i| {
                        if a.is_null(i) {
                            String::new()
                        } else {
                            a.value(i).to_string()
                        }
                    }));
                }
                DataType::LargeUtf8 => {
                    let a = col.as_string::<i64>();
                    out.extend((0..a.len()).map(|i| {
                        if a.is_null(i) {
                            String::new()
                        } else {
                            a.value(i).to_string()
                        }
                    }));
                }
                other => {
                    return Err(DatasetError::file(
                        &self.path,
                        format!("column `{name}`: type {other} is not a string"),
                    ))
                }
            }
        }
        Ok(out)
    }
}
