//! KITTI calibration text files: `key: v1 v2 ...` per line.
//!
//! - Object benchmark (`training/calib/000000.txt`): `P0..P3` (3×4), `R0_rect` (3×3), `Tr_velo_to_cam` (3×4),
//!   `Tr_imu_to_velo` (3×4). A LiDAR point lands on image *i* at `P_i · R0_rect · Tr_velo_to_cam · [x y z 1]`.
//! - Odometry-like (`calib.txt` of the odometry benchmark, OpenCalib's `kitti/*/calib.txt`): `P0..P3` and `Tr`
//!   (velodyne → rectified cam0, so R0_rect = I). A `D: 0` line (OpenCalib) is accepted and ignored.
//! - OpenCalib's own `K`, `D`, `T` files (`auto_calib_v2.0/data/ours/*/calib.txt`): raw camera intrinsics
//!   (3×3), plumb_bob distortion (5) and LiDAR → camera (3×4).

#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

use crate::calib::{CameraCalib, ImageKind, VehicleCalib};
use crate::camera::{CameraModel, Distortion};
use crate::error::{GeometryError, Result};
use crate::extrinsics::rigid_from_matrix;
use crate::tree::TransformTree;
use nalgebra::{Matrix3, Matrix3x4, Matrix4};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Frame ids used for KITTI calibrations (kitti2bag's names).
pub const KITTI_LIDAR_FRAME: &str = "velo_link";
pub const KITTI_IMU_FRAME: &str = "imu_link";
/// The unrectified reference camera (cam0); `R0_rect` rotates it into the rectified frame.
pub const KITTI_CAMERA_FRAME: &str = "camera_0";

/// The matrices of one KITTI calib txt (rows as given).
#[derive(Debug, Clone, PartialEq)]
pub struct KittiCalib {
    pub file: PathBuf,
    /// `P0..P3` where present.
    pub p: [Option<Matrix3x4<f64>>; 4],
    /// `R0_rect` (identity for odometry files).
    pub r0_rect: Matrix3<f64>,
    /// `Tr_velo_to_cam` / `Tr` / OpenCalib `T`, as a 4×4 homogeneous matrix.
    pub tr_velo_to_cam: Matrix4<f64>,
    pub tr_imu_to_velo: Option<Matrix4<f64>>,
    /// OpenCalib raw intrinsics (`K`, `D`) when the file has them.
    pub k: Option<Matrix3<f64>>,
    pub d: Vec<f64>,
}

fn homogeneous(m: &Matrix3x4<f64>) -> Matrix4<f64> {
    let mut h = Matrix4::identity();
    h.fixed_view_mut::<3, 4>(0, 0).copy_from(m);
    h
}

/// Parse the text of a KITTI calib file (`file` names it in errors).
pub fn parse_kitti_calib(text: &str, file: &Path) -> Result<KittiCalib> {
    let mut values: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, rest)) = line.split_once(':') else {
            return Err(GeometryError::format(
                file,
                format!("line {}", i + 1),
                "expected `key: numbers`",
            ));
        };
        let key = key.trim().to_string();
        let mut nums = Vec::new();
        for tok in rest.split_whitespace() {
            let v: f64 = tok.parse().map_err(|_| {
                GeometryError::format(
                    file,
                    format!("{key} (line {})", i + 1),
                    format!("`{tok}` is not a number"),
                )
            })?;
            if !v.is_finite() {
                return Err(GeometryError::format(
                    file,
                    &key,
                    format!("value {v} is not finite"),
                ));
            }
            nums.push(v);
        }
        values.insert(key, nums);
    }
    let take = |key: &str, n: usize| -> Result<Option<Vec<f64>>> {
        match values.get(key) {
            None => Ok(None),
            Some(v) if v.len() == n => Ok(Some(v.clone())),
            Some(v) => Err(GeometryError::format(
                file,
                key,
                format!("expected {n} numbers, got {}", v.len()),
            )),
        }
    };
    let mut p: [Option<Matrix3x4<f64>>; 4] = [None; 4];
    for (i, slot) in p.iter_mut().enumerate() {
        *slot = take(&format!("P{i}"), 12)?.map(|v| Matrix3x4::from_row_slice(&v));
    }
    let r0_rect = match take("R0_rect", 9)?.or(take("R_rect", 9)?) {
        Some(v) => Matrix3::from_row_slice(&v),
        None => Matrix3::identity(),
    };
    let tr = ["Tr_velo_to_cam", "Tr_velo_cam", "Tr", "T"]
        .iter()
        .map(|k| take(k, 12))
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .flatten()
        .next();
    let Some(tr) = tr else {
        return Err(GeometryError::format(
            file,
            "Tr_velo_to_cam",
            "missing (need one of Tr_velo_to_cam, Tr or T: LiDAR → camera, 12 numbers)",
        ));
    };
    let tr_velo_to_cam = homogeneous(&Matrix3x4::from_row_slice(&tr));
    let tr_imu_to_velo = take("Tr_imu_to_velo", 12)?.map(|v| homogeneous(&Matrix3x4::from_row_slice(&v)));
    let k = take("K", 9)?.map(|v| Matrix3::from_row_slice(&v));
    let d = values.get("D").cloned().unwrap_or_default();
    if k.is_none() && p.iter().all(Option::is_none) {
        return Err(GeometryError::format(
            file,
            "P2",
            "missing (need P0..P3 or K: no camera in this file)",
        ));
    }
    Ok(KittiCalib {
        file: file.to_path_buf(),
        p,
        r0_rect,
        tr_velo_to_cam,
        tr_imu_to_velo,
        k,
        d,
    })
}

/// Load a KITTI calib txt file.
pub fn load_kitti_calib(path: &Path) -> Result<KittiCalib> {
    let text = std::fs::read_to_string(path).map_err(|e| GeometryError::io(path, e))?;
    parse_kitti_calib(&text, path)
}

impl KittiCalib {
    /// `P_cam · R0_rect · Tr_velo_to_cam` (3×4): LiDAR point → homogeneous pixel on image `cam`.
    pub fn velo_to_image(&self, cam: usize) -> Option<Matrix3x4<f64>> {
        let p = self.p.get(cam).copied().flatten()?;
        let mut r0 = Matrix4::identity();
        r0.fixed_view_mut::<3, 3>(0, 0).copy_from(&self.r0_rect);
        Some(p * r0 * self.tr_velo_to_cam)
    }

    /// The calibration as a [`VehicleCalib`]: frames `imu_link` → `velo_link` → `camera_0`; cameras `cam2`
    /// (first, the default), `cam3`, `cam0`, `cam1` for the P matrices present, each a rectified camera with
    /// R = R0_rect and P = P_i. OpenCalib K/D/T files give one raw camera `camera` instead.
    pub fn vehicle(&self) -> Result<VehicleCalib> {
        let bad = |key: &str, problem: String| GeometryError::format(&self.file, key, problem);
        let mut tree = TransformTree::new();
        let cam_velo = self.tr_velo_to_cam;
        let velo_cam = cam_velo
            .try_inverse()
            .ok_or_else(|| bad("Tr_velo_to_cam", "matrix is singular".into()))?;
        let iso = rigid_from_matrix(&velo_cam, 1e-5)
            .map_err(|p| bad("Tr_velo_to_cam", format!("not a rigid transform: {p}")))?;
        tree.insert_matrix(KITTI_LIDAR_FRAME, KITTI_CAMERA_FRAME, iso, velo_cam)?;
        let mut ego = KITTI_LIDAR_FRAME;
        if let Some(t) = self.tr_imu_to_velo {
            let imu_velo = t
                .try_inverse()
                .ok_or_else(|| bad("Tr_imu_to_velo", "matrix is singular".into()))?;
            let iso = rigid_from_matrix(&imu_velo, 1e-5)
                .map_err(|p| bad("Tr_imu_to_velo", format!("not a rigid transform: {p}")))?;
            tree.insert_matrix(KITTI_IMU_FRAME, KITTI_LIDAR_FRAME, iso, imu_velo)?;
            ego = KITTI_IMU_FRAME;
        }
        let mut cameras = Vec::new();
        if let Some(k) = self.k {
            let distortion = match self.d.len() {
                8 => Distortion::RationalPolynomial,
                _ => Distortion::PlumbBob,
            };
            let model =
                CameraModel::new(0, 0, k, distortion, self.d.clone()).map_err(|e| bad("D", e.to_string()))?;
            cameras.push(CameraCalib {
                name: "camera".into(),
                frame_id: KITTI_CAMERA_FRAME.into(),
                model,
                image: ImageKind::Raw,
            });
        }
        for i in [2usize, 3, 0, 1] {
            let Some(p) = self.p.get(i).copied().flatten() else {
                continue;
            };
            let k = p.fixed_view::<3, 3>(0, 0).into_owned();
            let model =
                CameraModel::with_rectification(0, 0, k, Distortion::None, Vec::new(), self.r0_rect, p)
                    .map_err(|e| bad(&format!("P{i}"), e.to_string()))?;
            cameras.push(CameraCalib {
                name: format!("cam{i}"),
                frame_id: KITTI_CAMERA_FRAME.into(),
                model,
                image: ImageKind::Rectified,
            });
        }
        Ok(VehicleCalib {
            cameras,
            tree,
            lidar_frame: KITTI_LIDAR_FRAME.into(),
            ego_frame: ego.into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OBJ: &str = "P0: 7.07e+02 0 6.04e+02 0 0 7.07e+02 1.80e+02 0 0 0 1 0\n\
P2: 7.070493e+02 0 6.040814e+02 4.575831e+01 0 7.070493e+02 1.805066e+02 -3.454157e-01 0 0 1 4.981016e-03\n\
R0_rect: 1 0 0 0 1 0 0 0 1\n\
Tr_velo_to_cam: 0 -1 0 0.1 0 0 -1 -0.06 1 0 0 -0.33\n\
Tr_imu_to_velo: 1 0 0 -0.8 0 1 0 0.3 0 0 1 -0.8\n\n";

    #[test]
    fn object_calib_to_vehicle() {
        let c = parse_kitti_calib(OBJ, Path::new("000000.txt")).unwrap();
        let v = c.vehicle().unwrap();
        assert_eq!(v.cameras[0].name, "cam2");
        assert_eq!(v.cameras.len(), 2);
        assert_eq!(v.ego_frame, "imu_link");
        let m = v
            .tree
            .lookup_matrix(KITTI_CAMERA_FRAME, KITTI_LIDAR_FRAME)
            .unwrap();
        assert!((m - c.tr_velo_to_cam).abs().max() < 1e-15);
    }

    #[test]
    fn errors_name_file_and_key() {
        let e = parse_kitti_calib(&OBJ.replace("Tr_velo_to_cam", "Tr_foo"), Path::new("c.txt")).unwrap_err();
        assert!(e.to_string().contains("c.txt: Tr_velo_to_cam: missing"), "{e}");
        let e = parse_kitti_calib(&OBJ.replace("R0_rect: 1 0 0", "R0_rect: 1 0"), Path::new("c.txt"))
            .unwrap_err();
        assert!(
            e.to_string().contains("R0_rect: expected 9 numbers, got 8"),
            "{e}"
        );
        let e =
            parse_kitti_calib(&OBJ.replace("0.1 0 0 -1", "0.1 0 zero -1"), Path::new("c.txt")).unwrap_err();
        assert!(
            e.to_string()
                .contains("Tr_velo_to_cam (line 4): `zero` is not a number"),
            "{e}"
        );
        let e = parse_kitti_calib("P2 1 2 3\n", Path::new("c.txt")).unwrap_err();
        assert!(
            e.to_string().contains("c.txt: line 1: expected `key: numbers`"),
            "{e}"
        );
        let e = parse_kitti_calib(
            &OBJ.replace("Tr_velo_to_cam: 0 -1 0", "Tr_velo_to_cam: 2 -1 0"),
            Path::new("c.txt"),
        )
        .unwrap()
        .vehicle()
        .unwrap_err();
        assert!(
            e.to_string().contains("Tr_velo_to_cam: not a rigid transform"),
            "{e}"
        );
    }
}
