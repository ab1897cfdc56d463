//! Labelled real datasets read as frame sets with their ground truth, for `sensorium eval`:
//! - [`kitti`]: a KITTI object directory (`velodyne/`, `image_2/`, `calib/`, `label_2/`);
//! - [`av2`]: an Argoverse 2 sensor log (LiDAR sweeps and `annotations.feather`; LiDAR only).
//!
//! Each dataset lists its frames ([`Dataset::frames`]) and loads one at a time ([`Dataset::load`]), so a
//! directory of thousands of frames is read in constant memory. Labels become [`GtBox`]es in the scene
//! frame with the model's class names; labels a dataset marks as "don't care" for a class, and labels
//! with fewer LiDAR points than asked, are kept as ignored boxes (neither a miss nor a false detection).

#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

pub mod av2;
pub mod feather;
pub mod kitti;

use sensorium_core::{PointsSoA, RgbImage, Stamp};
use sensorium_fusion::metrics::{GroundTruth, Wedge};
use sensorium_geometry::VehicleCalib;
use std::path::PathBuf;
use std::sync::Arc;

/// A dataset problem, naming the file and what is wrong with it.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error("{path}: {detail}")]
    File { path: PathBuf, detail: String },
}

impl DatasetError {
    pub fn file(path: impl Into<PathBuf>, detail: impl std::fmt::Display) -> Self {
        DatasetError::File {
            path: path.into(),
            detail: detail.to_string(),
        }
    }
}

pub type Result<T> = std::result::Result<T, DatasetError>;

/// One labelled frame: a LiDAR sweep, the camera image where the dataset has one, the calibration the
/// frame was taken with and its ground truth in the scene frame.
pub struct Frame {
    /// The frame's name in the dataset (KITTI: `000123`; Argoverse 2: the sweep's timestamp).
    pub name: String,
    pub stamp: Stamp,
    pub camera: Option<RgbImage>,
    pub lidar: PointsSoA,
    /// Shared by the frames of one calibration: a new one (by pointer) means the rig changed.
    pub calib: Arc<VehicleCalib>,
    pub truth: GroundTruth,
    /// The part of the ground the labels cover (KITTI labels only what the camera sees), if not all.
    pub region: Option<Wedge>,
}

/// Options every dataset reader takes.
#[derive(Debug, Clone)]
pub struct Options {
    /// The scene (ego) frame's name.
    pub ego_frame: String,
    /// Labels with fewer LiDAR points inside their box are ignored.
    pub min_points: u32,
    /// Height (m) of the LiDAR above the scene frame, where the dataset does not say (KITTI: 1.73).
    pub lidar_height: Option<f64>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            ego_frame: "base_link".into(),
            min_points: 10,
            lidar_height: None,
        }
    }
}

/// A labelled dataset, read frame by frame.
pub trait Dataset {
    /// `kitti`, `av2`.
    fn kind(&self) -> &'static str;
    /// Frame names, in the order they are evaluated (frames of one calibration together).
    fn frames(&self) -> &[String];
    /// Reads one frame with its labels.
    fn load(&mut self, name: &str) -> Result<Frame>;
}

/// The model class a dataset label counts as, and whether it is only "don't care" for that class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClassOf {
    pub class: &'static str,
    pub ignore: bool,
}

const fn scored(class: &'static str) -> Option<ClassOf> {
    Some(ClassOf { class, ignore: false })
}

const fn dont_care(class: &'static str) -> Option<ClassOf> {
    Some(ClassOf { class, ignore: true })
}

/// Counts the points of `cloud` inside a box (centre, length/width/height, yaw about z), all in the
/// cloud's frame.
pub fn points_in_box(cloud: &PointsSoA, center: [f64; 3], size: [f64; 3], yaw: f64) -> u32 {
    let (c, s) = (yaw.cos(), yaw.sin());
    let (hl, hw, hh) = (size[0] / 2.0, size[1] / 2.0, size[2] / 2.0);
    let mut n = 0u32;
    for ((x, y), z) in cloud.x.iter().zip(&cloud.y).zip(&cloud.z) {
        let (dx, dy, dz) = (
            f64::from(*x) - center[0],
            f64::from(*y) - center[1],
            f64::from(*z) - center[2],
        );
        if dz.abs() > hh {
            continue;
        }
        let (lx, ly) = (c * dx + s * dy, -s * dx + c * dy);
        if lx.abs() <= hl && ly.abs() <= hw {
            n += 1;
        }
    }
    n
}

/// Opens `path` as the dataset `kind` (`kitti` or `av2`).
pub fn open(kind: &str, path: &std::path::Path, opts: &Options) -> Result<Box<dyn Dataset>> {
    match kind {
        "kitti" => Ok(Box::new(kitti::KittiObject::open(path, opts)?)),
        "av2" => Ok(Box::new(av2::Av2Log::open(path, opts)?)),
        other => Err(DatasetError::file(
            path,
            format!("unknown dataset kind `{other}` (known: kitti, av2)"),
        )),
    }
}
