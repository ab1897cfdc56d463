//! A vehicle's calibration: its cameras, its static transform tree, and which frames are the LiDAR and ego.
//! Reading one from files is the `load` module's.

use crate::camera::CameraModel;
pub use crate::camera::ImageKind;
use crate::error::{GeometryError, Result};
use crate::project::Projector;
use crate::tree::TransformTree;
use nalgebra::Matrix4;

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

impl VehicleCalib {
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
