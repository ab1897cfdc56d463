//! The sensorium extrinsics YAML (documented in `calibration/README.md`):
//!
//! ```yaml
//! ego_frame: base_link
//! lidar_frame: lidar_top
//! transforms:            # each: pose of frame_id in parent (T_parent_child)
//!   - frame_id: lidar_top
//!     parent: base_link
//!     translation: [0.0, 0.0, 1.8]
//!     rotation: {x: 0, y: 0, z: 0, w: 1}      # or rpy: [roll, pitch, yaw] or matrix: 4×4
//! cameras:
//!   - name: front
//!     frame_id: camera_front_optical
//!     camera_info: camera_front.yaml         # relative to this file
//!     image: raw                             # raw (K, D) or rectified (R, P)
//! ```

#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

use crate::calib::{CameraCalib, ImageKind, VehicleCalib};
use crate::camera_info::load_camera_info_yaml;
use crate::error::{GeometryError, Result};
use crate::tree::TransformTree;
use nalgebra::{Isometry3, Matrix3, Matrix4, Quaternion, Rotation3, Translation3, UnitQuaternion, Vector3};
use serde::Deserialize;
use std::path::Path;

/// A 4×4 homogeneous matrix → rigid transform, if its 3×3 part is a rotation within `tol`
/// (max |RᵀR − I|, det ≈ 1) and its last row is 0 0 0 1. The rotation is the nearest proper rotation.
pub fn rigid_from_matrix(m: &Matrix4<f64>, tol: f64) -> std::result::Result<Isometry3<f64>, String> {
    if !m.iter().all(|v| v.is_finite()) {
        return Err("matrix has non-finite values".into());
    }
    let last = m.row(3);
    if (m.m41.abs() + m.m42.abs() + m.m43.abs() + (m.m44 - 1.0).abs()) > 1e-9 {
        return Err(format!(
            "last row is {:?}, expected [0, 0, 0, 1]",
            last.iter().collect::<Vec<_>>()
        ));
    }
    let r: Matrix3<f64> = m.fixed_view::<3, 3>(0, 0).into_owned();
    let err = (r.transpose() * r - Matrix3::identity()).abs().max();
    if err > tol || (r.determinant() - 1.0).abs() > 10.0 * tol {
        return Err(format!(
            "3×3 part is not a rotation (max |RᵀR − I| = {err:.3e}, det = {:.6})",
            r.determinant()
        ));
    }
    let rot = Rotation3::from_matrix_eps(&r, 1e-15, 100, Rotation3::identity());
    Ok(Isometry3::from_parts(
        Translation3::new(m.m14, m.m24, m.m34),
        UnitQuaternion::from_rotation_matrix(&rot),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Quat {
    x: f64,
    y: f64,
    z: f64,
    w: f64,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum MatrixSpec {
    Rows(Vec<Vec<f64>>),
    Flat(Vec<f64>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TransformEntry {
    frame_id: String,
    parent: String,
    #[serde(default)]
    translation: Option<[f64; 3]>,
    #[serde(default)]
    rotation: Option<Quat>,
    #[serde(default)]
    rpy: Option<[f64; 3]>,
    #[serde(default)]
    matrix: Option<MatrixSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CameraEntry {
    name: String,
    frame_id: String,
    camera_info: String,
    #[serde(default)]
    image: Option<String>,
}

fn default_ego() -> String {
    "base_link".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExtrinsicsFile {
    #[serde(default = "default_ego")]
    ego_frame: String,
    lidar_frame: String,
    #[serde(default)]
    transforms: Vec<TransformEntry>,
    #[serde(default)]
    cameras: Vec<CameraEntry>,
}

fn entry_transform(file: &Path, key: &str, e: &TransformEntry) -> Result<(Isometry3<f64>, Matrix4<f64>)> {
    let bad = |sub: &str, problem: String| GeometryError::format(file, format!("{key}.{sub}"), problem);
    let given = [e.rotation.is_some(), e.rpy.is_some(), e.matrix.is_some()]
        .iter()
        .filter(|b| **b)
        .count();
    if given != 1 {
        return Err(bad(
            "rotation",
            format!("give exactly one of `rotation` (quaternion x,y,z,w), `rpy` or `matrix`, got {given}"),
        ));
    }
    if let Some(spec) = &e.matrix {
        if e.translation.is_some() {
            return Err(bad(
                "translation",
                "not allowed with `matrix` (the matrix holds the translation)".into(),
            ));
        }
        let flat: Vec<f64> = match spec {
            MatrixSpec::Rows(rows) => {
                if rows.len() != 4 || rows.iter().any(|r| r.len() != 4) {
                    return Err(bad("matrix", "expected 4 rows of 4 numbers".into()));
                }
                rows.iter().flatten().copied().collect()
            }
            MatrixSpec::Flat(v) => v.clone(),
        };
        if flat.len() != 16 {
            return Err(bad(
                "matrix",
                format!("expected 16 numbers (4×4, row-major), got {}", flat.len()),
            ));
        }
        let m = Matrix4::from_row_slice(&flat);
        let iso = rigid_from_matrix(&m, 1e-6).map_err(|p| bad("matrix", p))?;
        return Ok((iso, m));
    }
    let t = e.translation.unwrap_or([0.0; 3]);
    if t.iter().any(|v| !v.is_finite()) {
        return Err(bad("translation", "values must be finite".into()));
    }
    let rot = if let Some(q) = &e.rotation {
        let q = Quaternion::new(q.w, q.x, q.y, q.z);
        let n = q.norm();
        if !n.is_finite() || (n - 1.0).abs() > 1e-3 {
            return Err(bad(
                "rotation",
                format!("quaternion norm is {n}, expected 1 (±1e-3)"),
            ));
        }
        UnitQuaternion::from_quaternion(q)
    } else if let Some([r, p, y]) = e.rpy {
        if ![r, p, y].iter().all(|v| v.is_finite()) {
            return Err(bad("rpy", "values must be finite".into()));
        }
        UnitQuaternion::from_euler_angles(r, p, y)
    } else {
        UnitQuaternion::identity()
    };
    let iso = Isometry3::from_parts(Translation3::from(Vector3::from(t)), rot);
    Ok((iso, iso.to_homogeneous()))
}

/// Parse the extrinsics YAML text; camera_info paths resolve against `file`'s folder.
pub fn parse_extrinsics_yaml(text: &str, file: &Path) -> Result<VehicleCalib> {
    let y: ExtrinsicsFile =
        serde_yaml::from_str(text).map_err(|e| GeometryError::format(file, "extrinsics", e.to_string()))?;
    let mut tree = TransformTree::new();
    for (i, e) in y.transforms.iter().enumerate() {
        let key = format!("transforms[{i}] ({})", e.frame_id);
        let (iso, m) = entry_transform(file, &key, e)?;
        tree.insert_matrix(&e.parent, &e.frame_id, iso, m)
            .map_err(|err| GeometryError::format(file, &key, err.to_string()))?;
    }
    for (key, frame) in [("lidar_frame", &y.lidar_frame), ("ego_frame", &y.ego_frame)] {
        if !tree.contains(frame) {
            return Err(GeometryError::format(
                file,
                key,
                format!(
                    "frame `{frame}` is not in `transforms` (frames: {})",
                    tree.frames().join(", ")
                ),
            ));
        }
    }
    let dir = file.parent().unwrap_or(Path::new("."));
    let mut cameras = Vec::new();
    for (i, c) in y.cameras.iter().enumerate() {
        let key = format!("cameras[{i}] ({})", c.name);
        if !tree.contains(&c.frame_id) {
            return Err(GeometryError::format(
                file,
                format!("{key}.frame_id"),
                format!("frame `{}` is not in `transforms`", c.frame_id),
            ));
        }
        if tree.lookup(&c.frame_id, &y.lidar_frame).is_err() {
            return Err(GeometryError::format(
                file,
                format!("{key}.frame_id"),
                format!(
                    "frame `{}` is not connected to lidar_frame `{}`",
                    c.frame_id, y.lidar_frame
                ),
            ));
        }
        let image = match c.image.as_deref() {
            None | Some("raw") => ImageKind::Raw,
            Some("rectified") | Some("rect") => ImageKind::Rectified,
            Some(other) => {
                return Err(GeometryError::format(
                    file,
                    format!("{key}.image"),
                    format!("`{other}`: expected `raw` or `rectified`"),
                ))
            }
        };
        let (_, model) = load_camera_info_yaml(&dir.join(&c.camera_info))?;
        cameras.push(CameraCalib {
            name: c.name.clone(),
            frame_id: c.frame_id.clone(),
            model,
            image,
        });
    }
    Ok(VehicleCalib {
        cameras,
        tree,
        lidar_frame: y.lidar_frame,
        ego_frame: y.ego_frame,
    })
}

/// Load the extrinsics YAML file (and the camera_info YAMLs it names).
pub fn load_extrinsics_yaml(path: &Path) -> Result<VehicleCalib> {
    let text = std::fs::read_to_string(path).map_err(|e| GeometryError::io(path, e))?;
    parse_extrinsics_yaml(&text, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::Point3;

    const TREE: &str = "lidar_frame: lidar_top\ntransforms:\n  - frame_id: lidar_top\n    parent: base_link\n    translation: [0, 0, 1.8]\n    rotation: {x: 0, y: 0, z: 0, w: 1}\n  - frame_id: camera_front\n    parent: base_link\n    translation: [1.5, 0, 1.6]\n    rpy: [0, 0, 0]\n  - frame_id: camera_front_optical\n    parent: camera_front\n    matrix: [[0, 0, 1, 0], [-1, 0, 0, 0], [0, -1, 0, 0], [0, 0, 0, 1]]\n";

    #[test]
    fn three_rotation_forms_agree() {
        let v = parse_extrinsics_yaml(TREE, Path::new("/tmp/x.yaml")).unwrap();
        let rpy = TREE.replace(
            "matrix: [[0, 0, 1, 0], [-1, 0, 0, 0], [0, -1, 0, 0], [0, 0, 0, 1]]",
            "rpy: [-1.5707963267948966, 0, -1.5707963267948966]",
        );
        let v2 = parse_extrinsics_yaml(&rpy, Path::new("/tmp/x.yaml")).unwrap();
        let q = TREE.replace(
            "matrix: [[0, 0, 1, 0], [-1, 0, 0, 0], [0, -1, 0, 0], [0, 0, 0, 1]]",
            "rotation: {x: -0.5, y: 0.5, z: -0.5, w: 0.5}",
        );
        let v3 = parse_extrinsics_yaml(&q, Path::new("/tmp/x.yaml")).unwrap();
        // A point 10 m ahead of the LiDAR, 0.2 m up: optical z = 10 - 1.5, y (down) = 1.6 - 2.0.
        let p = Point3::new(10.0, 0.0, 0.2);
        for vc in [&v, &v2, &v3] {
            let q = vc.tree.lookup("camera_front_optical", "lidar_top").unwrap() * p;
            assert!((q - Point3::new(0.0, -0.4, 8.5)).norm() < 1e-12, "{q}");
        }
        assert_eq!(v.ego_frame, "base_link");
    }

    #[test]
    fn errors_name_file_and_key() {
        let f = Path::new("/cal/vehicle.yaml");
        let e = parse_extrinsics_yaml(
            &TREE.replace(
                "rpy: [0, 0, 0]",
                "rpy: [0, 0, 0]\n    rotation: {x: 0, y: 0, z: 0, w: 1}",
            ),
            f,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("/cal/vehicle.yaml: transforms[1] (camera_front).rotation: give exactly one"),
            "{e}"
        );
        let e = parse_extrinsics_yaml(&TREE.replace("w: 1}", "w: 2}"), f)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("transforms[0] (lidar_top).rotation: quaternion norm is 2"),
            "{e}"
        );
        let e = parse_extrinsics_yaml(&TREE.replace("[0, -1, 0, 0], [0, 0, 0, 1]", "[0, -1, 0, 0]"), f)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("(camera_front_optical).matrix: expected 4 rows of 4"),
            "{e}"
        );
        let e = parse_extrinsics_yaml(&TREE.replace("[-1, 0, 0, 0]", "[-2, 0, 0, 0]"), f)
            .unwrap_err()
            .to_string();
        assert!(e.contains("matrix: 3×3 part is not a rotation"), "{e}");
        let e = parse_extrinsics_yaml(
            &TREE.replace("lidar_frame: lidar_top", "lidar_frame: lidar_roof"),
            f,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("lidar_frame: frame `lidar_roof` is not in `transforms`"),
            "{e}"
        );
        let e = parse_extrinsics_yaml(&TREE.replace("    parent: camera_front\n", ""), f)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("vehicle.yaml") && e.contains("missing field `parent`"),
            "{e}"
        );
        let e = parse_extrinsics_yaml(&format!("{TREE}cameras:\n  - name: front\n    frame_id: camera_front_optical\n    camera_info: nope.yaml\n"), f)
            .unwrap_err()
            .to_string();
        assert!(e.contains("/cal/nope.yaml"), "{e}");
    }
}
