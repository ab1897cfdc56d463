//! sensorium-geometry: camera models, extrinsics, transform tree, calibration loaders and LiDAR-to-camera
//! projection.
//!
//! - [`camera`]: `CameraModel` (K, D, R, P; plumb_bob, rational_polynomial, equidistant) — project, unproject,
//!   undistort, rectify, as OpenCV and ROS `image_geometry` do.
//! - [`tree`]: `TransformTree` of `Isometry3` keyed by frame id.
//! - loaders: [`camera_info`] (ROS YAML), [`kitti`] (calib txt), [`extrinsics`] (sensorium YAML),
//!   [`opencalib`] (JSON); [`calib::VehicleCalib`] holds what they read and [`load`] picks the loader.
//! - [`project`]: fast SoA projection; [`overlay`]: depth-coloured PNG; [`cloudfile`]: .bin/.pcd/.npy;
//!   [`tool::calib_project`]: `sensorium calib project` in one call.

pub mod calib;
pub mod camera;
pub mod camera_info;
pub mod cloudfile;
pub mod error;
pub mod extrinsics;
pub mod kitti;
pub mod load;
pub mod opencalib;
pub mod overlay;
pub mod project;
pub mod tool;
pub mod tree;

pub use calib::{CameraCalib, ImageKind, VehicleCalib};
pub use camera::{CameraModel, Distortion};
pub use error::{GeometryError, Result};
pub use project::{project_points, projection_stats, ProjectionStats, Projector};
pub use tool::{calib_project, ProjectOptions, ProjectReport};
pub use tree::TransformTree;
