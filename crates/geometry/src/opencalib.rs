//! OpenCalib (PJLab-ADG/SensorsCalibration) JSON files:
//! `<camera>-intrinsic.json` (`param.cam_K`, `param.cam_dist`, `param.img_dist_w/h`) and
//! `<source>-to-<target>-extrinsic.json` (`param.sensor_calib`: 4×4 mapping source points into target).

#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

use crate::calib::{CameraCalib, ImageKind, VehicleCalib};
use crate::camera::{CameraModel, Distortion};
use crate::error::{GeometryError, Result};
use crate::extrinsics::rigid_from_matrix;
use crate::tree::TransformTree;
use nalgebra::{Matrix3, Matrix4};
use serde_json::Value;
use std::path::Path;

fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| GeometryError::io(path, e))
}

fn parse_json(text: &str, path: &Path) -> Result<Value> {
    serde_json::from_str(text).map_err(|e| GeometryError::format(path, "json", e.to_string()))
}

/// The single top-level entry `{ "<name>": {...} }`.
fn top(path: &Path, v: &Value) -> Result<(String, Value)> {
    match v.as_object() {
        Some(o) if o.len() == 1 => o
            .iter()
            .next()
            .map(|(k, v)| (k.clone(), v.clone()))
            .ok_or_else(|| GeometryError::format(path, "(top level)", "empty object")),
        _ => Err(GeometryError::format(
            path,
            "(top level)",
            "expected an object with one entry",
        )),
    }
}

fn get<'a>(path: &Path, v: &'a Value, keys: &[&str]) -> Result<&'a Value> {
    let mut cur = v;
    for (i, k) in keys.iter().enumerate() {
        cur = cur.get(k).ok_or_else(|| {
            GeometryError::format(path, keys.get(..=i).unwrap_or(keys).join("."), "missing")
        })?;
    }
    Ok(cur)
}

/// `{"rows", "cols", "data": [[..], ..]}` (or flat data) → row-major values, checked against rows × cols.
fn matrix(path: &Path, v: &Value, key: &str) -> Result<(usize, usize, Vec<f64>)> {
    let bad = |p: String| GeometryError::format(path, key, p);
    let rows = v
        .get("rows")
        .and_then(Value::as_u64)
        .ok_or_else(|| bad("missing `rows`".into()))? as usize;
    let cols = v
        .get("cols")
        .and_then(Value::as_u64)
        .ok_or_else(|| bad("missing `cols`".into()))? as usize;
    let data = v
        .get("data")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("missing `data` array".into()))?;
    let mut out = Vec::new();
    for item in data {
        match item {
            Value::Array(row) => {
                for x in row {
                    out.push(x.as_f64().ok_or_else(|| bad(format!("`{x}` is not a number")))?);
                }
            }
            x => out.push(x.as_f64().ok_or_else(|| bad(format!("`{x}` is not a number")))?),
        }
    }
    if out.len() != rows.saturating_mul(cols) {
        return Err(bad(format!(
            "rows × cols = {rows} × {cols} but data has {} values",
            out.len()
        )));
    }
    Ok((rows, cols, out))
}

/// Load `<name>-intrinsic.json`: (sensor name, camera model with raw-image K and D).
pub fn load_opencalib_intrinsic(path: &Path) -> Result<(String, CameraModel)> {
    parse_opencalib_intrinsic(&read_text(path)?, path)
}

/// Parses the text of `<name>-intrinsic.json`; `path` is only used in errors.
pub fn parse_opencalib_intrinsic(text: &str, path: &Path) -> Result<(String, CameraModel)> {
    let v = parse_json(text, path)?;
    let (name, body) = top(path, &v)?;
    let param = get(path, &body, &["param"])?;
    let w = get(path, param, &["img_dist_w"])?.as_u64().unwrap_or(0);
    let h = get(path, param, &["img_dist_h"])?.as_u64().unwrap_or(0);
    let (r, c, k) = matrix(path, get(path, param, &["cam_K"])?, "param.cam_K")?;
    if (r, c) != (3, 3) {
        return Err(GeometryError::format(
            path,
            "param.cam_K",
            format!("expected 3×3, got {r}×{c}"),
        ));
    }
    let (_, _, d) = matrix(path, get(path, param, &["cam_dist"])?, "param.cam_dist")?;
    let distortion = if d.len() == 8 {
        Distortion::RationalPolynomial
    } else {
        Distortion::PlumbBob
    };
    let model = CameraModel::new(
        u32::try_from(w).unwrap_or(0),
        u32::try_from(h).unwrap_or(0),
        Matrix3::from_row_slice(&k),
        distortion,
        d,
    )
    .map_err(|e| GeometryError::format(path, "param", e.to_string()))?;
    let name = body
        .get("sensor_name")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or(name);
    Ok((name, model))
}

/// Load `<source>-to-<target>-extrinsic.json`: (source, target, T_target_source as given).
pub fn load_opencalib_extrinsic(path: &Path) -> Result<(String, String, Matrix4<f64>)> {
    parse_opencalib_extrinsic(&read_text(path)?, path)
}

/// Parses the text of `<source>-to-<target>-extrinsic.json`; `path` is only used in errors.
pub fn parse_opencalib_extrinsic(text: &str, path: &Path) -> Result<(String, String, Matrix4<f64>)> {
    let v = parse_json(text, path)?;
    let (_, body) = top(path, &v)?;
    let source = get(path, &body, &["sensor_name"])?
        .as_str()
        .unwrap_or_default()
        .to_string();
    let target = get(path, &body, &["target_sensor_name"])?
        .as_str()
        .unwrap_or_default()
        .to_string();
    if source.is_empty() || target.is_empty() {
        return Err(GeometryError::format(
            path,
            "sensor_name",
            "sensor names must be non-empty strings",
        ));
    }
    let (r, c, m) = matrix(
        path,
        get(path, &body, &["param", "sensor_calib"])?,
        "param.sensor_calib",
    )?;
    if (r, c) != (4, 4) {
        return Err(GeometryError::format(
            path,
            "param.sensor_calib",
            format!("expected 4×4, got {r}×{c}"),
        ));
    }
    Ok((source, target, Matrix4::from_row_slice(&m)))
}

/// A [`VehicleCalib`] from an OpenCalib LiDAR → camera pair: frames named after the sensors, the LiDAR as ego.
pub fn opencalib_vehicle(intrinsic: &Path, extrinsic: &Path) -> Result<VehicleCalib> {
    let intrinsic_text = read_text(intrinsic)?;
    let extrinsic_text = read_text(extrinsic)?;
    parse_opencalib_vehicle((&intrinsic_text, intrinsic), (&extrinsic_text, extrinsic))
}

/// [`opencalib_vehicle`] from the two files' text (each with its path, used in errors).
pub fn parse_opencalib_vehicle(intrinsic: (&str, &Path), extrinsic: (&str, &Path)) -> Result<VehicleCalib> {
    let (cam_name, model) = parse_opencalib_intrinsic(intrinsic.0, intrinsic.1)?;
    let (source, target, cam_lidar) = parse_opencalib_extrinsic(extrinsic.0, extrinsic.1)?;
    let extrinsic = extrinsic.1;
    let lidar_cam = cam_lidar
        .try_inverse()
        .ok_or_else(|| GeometryError::format(extrinsic, "param.sensor_calib", "matrix is singular"))?;
    let iso = rigid_from_matrix(&lidar_cam, 1e-4)
        .map_err(|p| GeometryError::format(extrinsic, "param.sensor_calib", p))?;
    let mut tree = TransformTree::new();
    tree.insert_matrix(&source, &target, iso, lidar_cam)?;
    let camera = CameraCalib {
        name: cam_name,
        frame_id: target,
        model,
        image: ImageKind::Raw,
    };
    Ok(VehicleCalib {
        cameras: vec![camera],
        tree,
        lidar_frame: source.clone(),
        ego_frame: source,
    })
}
