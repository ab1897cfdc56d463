//! ROS camera_info YAML, as `camera_calibration` (and `camera_info_manager`) write it:
//!
//! ```yaml
//! image_width: 1280
//! image_height: 720
//! camera_name: camera_front
//! camera_matrix: {rows: 3, cols: 3, data: [fx, 0, cx, 0, fy, cy, 0, 0, 1]}
//! distortion_model: plumb_bob
//! distortion_coefficients: {rows: 1, cols: 5, data: [k1, k2, t1, t2, k3]}
//! rectification_matrix: {rows: 3, cols: 3, data: [...]}
//! projection_matrix: {rows: 3, cols: 4, data: [...]}
//! ```

#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

use crate::camera::CameraModel;
use crate::error::{GeometryError, Result};
use serde::Deserialize;
use std::path::Path;

#[derive(Debug, Deserialize)]
struct YamlMatrix {
    rows: usize,
    cols: usize,
    data: Vec<f64>,
}

#[derive(Debug, Deserialize)]
struct CameraInfoYaml {
    image_width: u32,
    image_height: u32,
    #[serde(default)]
    camera_name: String,
    camera_matrix: YamlMatrix,
    #[serde(default)]
    distortion_model: Option<String>,
    #[serde(default)]
    distortion_coefficients: Option<YamlMatrix>,
    #[serde(default)]
    rectification_matrix: Option<YamlMatrix>,
    #[serde(default)]
    projection_matrix: Option<YamlMatrix>,
}

fn check(file: &Path, key: &str, m: &YamlMatrix, rows: Option<usize>, cols: Option<usize>) -> Result<()> {
    if m.rows * m.cols != m.data.len() {
        return Err(GeometryError::format(
            file,
            key,
            format!(
                "rows × cols = {} × {} but data has {} values",
                m.rows,
                m.cols,
                m.data.len()
            ),
        ));
    }
    if rows.is_some_and(|r| r != m.rows) || cols.is_some_and(|c| c != m.cols) {
        return Err(GeometryError::format(
            file,
            key,
            format!(
                "expected {}×{}, got {}×{}",
                rows.unwrap_or(m.rows),
                cols.unwrap_or(m.cols),
                m.rows,
                m.cols
            ),
        ));
    }
    if let Some(bad) = m.data.iter().find(|v| !v.is_finite()) {
        return Err(GeometryError::format(
            file,
            key,
            format!("value {bad} is not finite"),
        ));
    }
    Ok(())
}

/// Parse camera_info YAML text; `file` only names the source in errors. Returns (camera_name, model).
pub fn parse_camera_info_yaml(text: &str, file: &Path) -> Result<(String, CameraModel)> {
    let y: CameraInfoYaml =
        serde_yaml::from_str(text).map_err(|e| GeometryError::format(file, "camera_info", e.to_string()))?;
    check(file, "camera_matrix", &y.camera_matrix, Some(3), Some(3))?;
    let d = match &y.distortion_coefficients {
        Some(m) => {
            check(file, "distortion_coefficients", m, None, None)?;
            m.data.clone()
        }
        None => Vec::new(),
    };
    let r = match &y.rectification_matrix {
        Some(m) => {
            check(file, "rectification_matrix", m, Some(3), Some(3))?;
            m.data.clone()
        }
        None => vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
    };
    let p = match &y.projection_matrix {
        Some(m) => {
            check(file, "projection_matrix", m, Some(3), Some(4))?;
            m.data.clone()
        }
        None => vec![0.0; 12],
    };
    let model_name = y.distortion_model.clone().unwrap_or_default();
    let model = CameraModel::from_ros_camera_info(
        y.image_width,
        y.image_height,
        &model_name,
        &d,
        &y.camera_matrix.data,
        &r,
        &p,
    )
    .map_err(|e| {
        let key = if e.to_string().contains("distortion") {
            "distortion_model"
        } else {
            "camera_matrix"
        };
        GeometryError::format(file, key, e.to_string())
    })?;
    Ok((y.camera_name, model))
}

/// Load a camera_info YAML file. Returns (camera_name, model).
pub fn load_camera_info_yaml(path: &Path) -> Result<(String, CameraModel)> {
    let text = std::fs::read_to_string(path).map_err(|e| GeometryError::io(path, e))?;
    parse_camera_info_yaml(&text, path)
}

impl CameraModel {
    /// Load a camera_calibration YAML (see [`load_camera_info_yaml`]).
    pub fn from_camera_info_yaml(path: &Path) -> Result<Self> {
        load_camera_info_yaml(path).map(|(_, m)| m)
    }
}

/// Write a model as camera_info YAML (the format [`parse_camera_info_yaml`] reads).
pub fn to_camera_info_yaml(name: &str, m: &CameraModel) -> String {
    let row = |v: &[f64]| v.iter().map(|x| format!("{x}")).collect::<Vec<_>>().join(", ");
    let k: Vec<f64> = m.k.transpose().iter().copied().collect();
    let r: Vec<f64> = m.r.transpose().iter().copied().collect();
    let p: Vec<f64> = m.p.transpose().iter().copied().collect();
    format!(
        "image_width: {}\nimage_height: {}\ncamera_name: {}\ncamera_matrix:\n  rows: 3\n  cols: 3\n  data: [{}]\n\
         distortion_model: {}\ndistortion_coefficients:\n  rows: 1\n  cols: {}\n  data: [{}]\n\
         rectification_matrix:\n  rows: 3\n  cols: 3\n  data: [{}]\nprojection_matrix:\n  rows: 3\n  cols: 4\n  data: [{}]\n",
        m.width,
        m.height,
        name,
        row(&k),
        if m.distortion.ros_name().is_empty() { "plumb_bob" } else { m.distortion.ros_name() },
        m.d.len(),
        row(&m.d),
        row(&r),
        row(&p)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::camera::Distortion;

    const GOOD: &str = "image_width: 1280\nimage_height: 720\ncamera_name: cam\ncamera_matrix:\n  rows: 3\n  cols: 3\n  data: [900, 0, 640, 0, 900, 360, 0, 0, 1]\ndistortion_model: plumb_bob\ndistortion_coefficients:\n  rows: 1\n  cols: 5\n  data: [-0.05, 0.01, 0, 0, 0]\nrectification_matrix:\n  rows: 3\n  cols: 3\n  data: [1, 0, 0, 0, 1, 0, 0, 0, 1]\nprojection_matrix:\n  rows: 3\n  cols: 4\n  data: [900, 0, 640, 0, 0, 900, 360, 0, 0, 0, 1, 0]\n";

    #[test]
    fn parses_and_round_trips() {
        let (name, m) = parse_camera_info_yaml(GOOD, Path::new("cam.yaml")).unwrap();
        assert_eq!(name, "cam");
        assert_eq!(
            (m.width, m.height, m.distortion),
            (1280, 720, Distortion::PlumbBob)
        );
        assert_eq!(m.d, vec![-0.05, 0.01, 0.0, 0.0, 0.0]);
        assert_eq!(m.k[(0, 2)], 640.0);
        let text = to_camera_info_yaml("cam", &m);
        let (_, m2) = parse_camera_info_yaml(&text, Path::new("x.yaml")).unwrap();
        assert_eq!(m, m2);
    }

    #[test]
    fn errors_name_file_and_key() {
        let bad = GOOD.replace(
            "cols: 5\n  data: [-0.05, 0.01, 0, 0, 0]",
            "cols: 5\n  data: [-0.05, 0.01]",
        );
        let e = parse_camera_info_yaml(&bad, Path::new("front.yaml"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("front.yaml") && e.contains("distortion_coefficients") && e.contains("2 values"),
            "{e}"
        );
        let bad = GOOD.replace("image_width: 1280\n", "");
        let e = parse_camera_info_yaml(&bad, Path::new("front.yaml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("front.yaml") && e.contains("image_width"), "{e}");
        let bad = GOOD.replace("plumb_bob", "kb4");
        let e = parse_camera_info_yaml(&bad, Path::new("front.yaml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("distortion_model") && e.contains("kb4"), "{e}");
        let bad = GOOD.replace("rows: 3\n  cols: 4", "rows: 4\n  cols: 3");
        let e = parse_camera_info_yaml(&bad, Path::new("front.yaml"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("projection_matrix") && e.contains("expected 3×4"),
            "{e}"
        );
        let e = load_camera_info_yaml(Path::new("/nonexistent/cam.yaml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("/nonexistent/cam.yaml"), "{e}");
    }
}
