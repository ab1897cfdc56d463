//! A vehicle's calibration: its cameras, its static transform tree, and which frames are the LiDAR and ego.

use crate::camera::CameraModel;
use crate::error::{GeometryError, Result};
use crate::project::Projector;
use crate::tree::TransformTree;
use nalgebra::Matrix4;
use std::path::{Path, PathBuf};

/// Which image a camera's points are projected onto.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ImageKind {
    /// The raw (distorted) image: K and D (`image_raw`).
    #[default]
    Raw,
    /// The rectified image: R and P (`image_rect`, KITTI's images).
    Rectified,
}

/// One camera of the vehicle.
#[derive(Debug, Clone, PartialEq)]
pub struct CameraCalib {
    pub name: String,
    /// Its optical frame (REP-103: z forward, x right, y down) in the transform tree.
    pub frame_id: String,
    pub model: CameraModel,
    pub image: ImageKind,
}

/// Cameras + transform tree + the LiDAR and ego frames.
#[derive(Debug, Clone, PartialEq)]
pub struct VehicleCalib {
    /// The first camera is the default one.
    pub cameras: Vec<CameraCalib>,
    pub tree: TransformTree,
    pub lidar_frame: String,
    pub ego_frame: String,
}

/// The file in a calibration folder that [`VehicleCalib::load`] reads first.
pub const EXTRINSICS_FILE: &str = "extrinsics.yaml";

fn find_by_suffix(dir: &Path, suffix: &str) -> Result<Vec<PathBuf>> {
    let rd = std::fs::read_dir(dir).map_err(|e| GeometryError::io(dir, e))?;
    let mut v: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(suffix))
        })
        .collect();
    v.sort();
    Ok(v)
}

impl VehicleCalib {
    /// Load a calibration from a file or folder:
    /// - `*.yaml` / `*.yml`: the sensorium extrinsics YAML;
    /// - `*.txt`: KITTI calib (object, odometry-like, or OpenCalib K/D/T);
    /// - `*-extrinsic.json`: OpenCalib, with `<target>-intrinsic.json` beside it;
    /// - a folder: its `extrinsics.yaml`, else an OpenCalib `*-extrinsic.json` + `*-intrinsic.json` pair,
    ///   else its `calib.txt`.
    pub fn load(path: &Path) -> Result<VehicleCalib> {
        if path.is_dir() {
            let ext = path.join(EXTRINSICS_FILE);
            if ext.is_file() {
                return crate::extrinsics::load_extrinsics_yaml(&ext);
            }
            if let Some(e) = find_by_suffix(path, "-extrinsic.json")?.first() {
                return Self::load(e);
            }
            let txt = path.join("calib.txt");
            if txt.is_file() {
                return Self::load(&txt);
            }
            return Err(GeometryError::format(
                path,
                "(folder)",
                format!("no {EXTRINSICS_FILE}, *-extrinsic.json or calib.txt in it"),
            ));
        }
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default()
            .to_ascii_lowercase();
        match ext.as_str() {
            "yaml" | "yml" => crate::extrinsics::load_extrinsics_yaml(path),
            "txt" => crate::kitti::load_kitti_calib(path)?.vehicle(),
            "json" if name.ends_with("-extrinsic.json") => {
                let (_, target, _) = crate::opencalib::load_opencalib_extrinsic(path)?;
                let intrinsic = path.with_file_name(format!("{target}-intrinsic.json"));
                crate::opencalib::opencalib_vehicle(&intrinsic, path)
            }
            _ => Err(GeometryError::format(
                path,
                "(file name)",
                "unknown calibration format (expected .yaml, .txt, *-extrinsic.json or a folder)",
            )),
        }
    }

    /// The camera named `name`, or the first (default) camera.
    pub fn camera(&self, name: Option<&str>) -> Result<&CameraCalib> {
        let known = || {
            self.cameras
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        match name {
            Some(n) => self
                .cameras
                .iter()
                .find(|c| c.name == n || c.frame_id == n)
                .ok_or_else(|| GeometryError::UnknownCamera {
                    name: n.to_string(),
                    known: known(),
                }),
            None => self.cameras.first().ok_or_else(|| GeometryError::UnknownCamera {
                name: "(default)".into(),
                known: known(),
            }),
        }
    }

    /// T_camera_lidar as a 4×4 matrix (exactly as the files gave it, see [`TransformTree::lookup_matrix`]).
    pub fn lidar_to_camera(&self, cam: &CameraCalib) -> Result<Matrix4<f64>> {
        self.tree.lookup_matrix(&cam.frame_id, &self.lidar_frame)
    }

    /// A projector from the LiDAR frame onto `cam`'s image (raw or rectified, as the camera says).
    pub fn projector(&self, cam: &CameraCalib) -> Result<Projector> {
        Ok(Projector::new(&self.lidar_to_camera(cam)?, &cam.model, cam.image))
    }
}
