//! `sensorium calib project` as one library call: load calibration, cloud and image, project, write the
//! overlay PNG and the (u, v, depth) `.npy`, return the counts. The CLI is a thin wrapper around
//! [`calib_project`].

use crate::calib::VehicleCalib;
use crate::cloudfile::{load_cloud, write_uv_npy};
use crate::error::{GeometryError, Result};
use crate::overlay::{load_image, overlay, save_png};
use crate::project::projection_stats;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Inputs of `sensorium calib project`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProjectOptions {
    /// A calibration file or folder (see [`VehicleCalib::load`]): KITTI txt, extrinsics YAML, OpenCalib JSON.
    pub calib: PathBuf,
    /// The cloud, in the calibration's LiDAR frame: `.bin`, `.pcd` or `.npy`.
    pub cloud: PathBuf,
    /// The camera image (PNG/JPEG); its size is the image the points are counted against.
    pub image: PathBuf,
    /// Camera name (or frame id); the calibration's first camera when `None`.
    pub camera: Option<String>,
    /// Where to write the overlay PNG.
    pub out: Option<PathBuf>,
    /// Where to write the N×3 float64 (u, v, depth) `.npy`.
    pub uv_out: Option<PathBuf>,
}

/// What `calib project` prints (and emits with `--json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectReport {
    pub camera: String,
    pub image_width: u32,
    pub image_height: u32,
    pub points_total: usize,
    pub points_positive_depth: usize,
    pub points_in_image: usize,
    pub fraction_in_image: f64,
}

/// Run the whole projection. A calibration that states an image size must match the image's size.
pub fn calib_project(opts: &ProjectOptions) -> Result<ProjectReport> {
    let calib = VehicleCalib::load(&opts.calib)?;
    let cam = calib.camera(opts.camera.as_deref())?;
    let image = load_image(&opts.image)?;
    let (w, h) = (cam.model.width, cam.model.height);
    if (w, h) != (0, 0) && (w, h) != (image.width, image.height) {
        return Err(GeometryError::Image {
            file: opts.image.clone(),
            problem: format!(
                "image is {}×{} but camera `{}` is calibrated for {w}×{h}",
                image.width, image.height, cam.name
            ),
        });
    }
    let cloud = load_cloud(&opts.cloud)?;
    let projector = calib.projector(cam)?;
    let uvd = projector.project(&cloud);
    let stats = projection_stats(&uvd, image.width, image.height);
    if let Some(out) = &opts.out {
        save_png(&overlay(&image, &uvd), out)?;
    }
    if let Some(out) = &opts.uv_out {
        write_uv_npy(out, &uvd)?;
    }
    Ok(ProjectReport {
        camera: cam.name.clone(),
        image_width: image.width,
        image_height: image.height,
        points_total: stats.points_total,
        points_positive_depth: stats.points_positive_depth,
        points_in_image: stats.points_in_image,
        fraction_in_image: stats.fraction_in_image,
    })
}

impl std::fmt::Display for ProjectReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "camera {} ({}×{}): {} points, {} with positive depth, {} inside the image ({:.1}%)",
            self.camera,
            self.image_width,
            self.image_height,
            self.points_total,
            self.points_positive_depth,
            self.points_in_image,
            100.0 * self.fraction_in_image
        )
    }
}
