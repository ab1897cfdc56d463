//! Writes the simulated vehicle's calibration in the `calibration/` formats (calibration/README.md):
//! `extrinsics.yaml` (sensorium extrinsics) and `camera_front.yaml` (ROS camera_info YAML).

use crate::config::SimConfig;
use crate::error::SimError;
use std::fmt::Write as _;
use std::path::Path;

/// File name of the camera's camera_info YAML.
pub const CAMERA_INFO_FILE: &str = "camera_front.yaml";

fn list(v: &[f64]) -> String {
    v.iter().map(|x| format!("{x:?}")).collect::<Vec<_>>().join(", ")
}

/// The extrinsics YAML text.
pub fn extrinsics_yaml(cfg: &SimConfig) -> String {
    let f = &cfg.frames;
    let (l, c) = (&cfg.lidar.mount, &cfg.camera.mount);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# sensorium extrinsics written by sensorium-sim. Format: calibration/README.md."
    );
    let _ = writeln!(s, "ego_frame: {}", f.base);
    let _ = writeln!(s, "lidar_frame: {}", f.lidar);
    let _ = writeln!(s, "transforms:");
    let _ = writeln!(s, "  - frame_id: {}\n    parent: {}", f.lidar, f.base);
    let _ = writeln!(
        s,
        "    translation: [{}]\n    rpy: [{}]",
        list(&l.translation),
        list(&l.rpy)
    );
    let _ = writeln!(s, "  - frame_id: {}\n    parent: {}", f.camera, f.base);
    let _ = writeln!(
        s,
        "    translation: [{}]\n    rpy: [{}]",
        list(&c.translation),
        list(&c.rpy)
    );
    let _ = writeln!(
        s,
        "  # optical frame (z forward, x right, y down) in the camera body frame"
    );
    let _ = writeln!(s, "  - frame_id: {}\n    parent: {}", f.camera_optical, f.camera);
    let _ = writeln!(
        s,
        "    matrix: [[0, 0, 1, 0], [-1, 0, 0, 0], [0, -1, 0, 0], [0, 0, 0, 1]]"
    );
    let _ = writeln!(s, "cameras:");
    let _ = writeln!(
        s,
        "  - name: front\n    frame_id: {}\n    camera_info: {CAMERA_INFO_FILE}\n    image: raw",
        f.camera_optical
    );
    s
}

/// The camera_info YAML text.
pub fn camera_info_yaml(cfg: &SimConfig) -> String {
    let c = &cfg.camera;
    let k = [c.fx, 0.0, c.cx, 0.0, c.fy, c.cy, 0.0, 0.0, 1.0];
    let p = [c.fx, 0.0, c.cx, 0.0, 0.0, c.fy, c.cy, 0.0, 0.0, 0.0, 1.0, 0.0];
    let r = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0];
    format!(
        "# camera_info YAML written by sensorium-sim.\nimage_width: {}\nimage_height: {}\ncamera_name: {}\n\
         camera_matrix:\n  rows: 3\n  cols: 3\n  data: [{}]\ndistortion_model: plumb_bob\n\
         distortion_coefficients:\n  rows: 1\n  cols: 5\n  data: [{}]\n\
         rectification_matrix:\n  rows: 3\n  cols: 3\n  data: [{}]\n\
         projection_matrix:\n  rows: 3\n  cols: 4\n  data: [{}]\n",
        c.width,
        c.height,
        cfg.frames.camera,
        list(&k),
        list(&c.d),
        list(&r),
        list(&p)
    )
}

/// Writes `extrinsics.yaml` and `camera_front.yaml` into `dir` (created if missing).
pub fn write_calibration(cfg: &SimConfig, dir: &Path) -> Result<(), SimError> {
    std::fs::create_dir_all(dir).map_err(|e| SimError::io(dir, e))?;
    let ext = dir.join("extrinsics.yaml");
    std::fs::write(&ext, extrinsics_yaml(cfg)).map_err(|e| SimError::io(&ext, e))?;
    let cam = dir.join(CAMERA_INFO_FILE);
    std::fs::write(&cam, camera_info_yaml(cfg)).map_err(|e| SimError::io(&cam, e))?;
    Ok(())
}
