//! Reading a vehicle calibration from files: [`VehicleCalib::load`] picks the loader by what it is given
//! (the format loaders build [`VehicleCalib`]s; this module only chooses between them).

use crate::calib::VehicleCalib;
use crate::error::{GeometryError, Result};
use std::path::{Path, PathBuf};

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
}
