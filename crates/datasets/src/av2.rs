//! An Argoverse 2 sensor log: `sensors/lidar/<timestamp_ns>.feather` sweeps (x, y, z as float16 in the
//! egovehicle frame, intensity 0–255) and `annotations.feather` (the log's cuboids: category, size,
//! pose of the box centre in the egovehicle frame, `num_interior_pts`). No images are read: the rig is
//! evaluated LiDAR-only, over the whole 360° within the grid.
//!
//! The egovehicle frame (x forward, y left, z up, origin on the ground under the rear axle) is the scene
//! frame. Categories: `REGULAR_VEHICLE` → car; `LARGE_VEHICLE`, `BOX_TRUCK`, `TRUCK`, `TRUCK_CAB`,
//! `BUS`, `ARTICULATED_BUS`, `SCHOOL_BUS`, `VEHICULAR_TRAILER` → truck; `PEDESTRIAN` → pedestrian;
//! `BICYCLIST`, `MOTORCYCLIST` → cyclist; `CONSTRUCTION_CONE` → cone. Don't care: `BICYCLE`,
//! `MOTORCYCLE`, `WHEELED_RIDER` (for cyclist), `STROLLER`, `WHEELCHAIR`, `OFFICIAL_SIGNALER` (for
//! pedestrian). The rest (bollards, signs, animals, …) are left out.

use crate::feather::Table;
use crate::{ClassOf, Dataset, DatasetError, Frame, Options, Result};
use nalgebra::Isometry3;
use sensorium_core::{PointsSoA, Stamp};
use sensorium_fusion::metrics::{GroundTruth, GtBox};
use sensorium_geometry::{TransformTree, VehicleCalib};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The LiDAR frame's name: the sweeps come already in the egovehicle frame, so it is the scene frame.
pub const AV2_LIDAR_FRAME: &str = "av2_lidar";

/// The model class of an Argoverse 2 category (`None`: not scored at all).
pub fn class_of(category: &str) -> Option<ClassOf> {
    match category {
        "REGULAR_VEHICLE" => crate::scored("car"),
        "LARGE_VEHICLE" | "BOX_TRUCK" | "TRUCK" | "TRUCK_CAB" | "BUS" | "ARTICULATED_BUS" | "SCHOOL_BUS"
        | "VEHICULAR_TRAILER" => crate::scored("truck"),
        "PEDESTRIAN" => crate::scored("pedestrian"),
        "BICYCLIST" | "MOTORCYCLIST" => crate::scored("cyclist"),
        "CONSTRUCTION_CONE" => crate::scored("cone"),
        "BICYCLE" | "MOTORCYCLE" | "WHEELED_RIDER" => crate::dont_care("cyclist"),
        "STROLLER" | "WHEELCHAIR" | "OFFICIAL_SIGNALER" => crate::dont_care("pedestrian"),
        _ => None,
    }
}

/// Yaw (about z) of a unit quaternion.
fn yaw_of(qw: f64, qx: f64, qy: f64, qz: f64) -> f64 {
    (2.0 * (qw * qz + qx * qy)).atan2(1.0 - 2.0 * (qy * qy + qz * qz))
}

/// An Argoverse 2 log directory.
pub struct Av2Log {
    dir: PathBuf,
    opts: Options,
    names: Vec<String>,
    /// timestamp → boxes at exactly that timestamp, with their interior point counts
    labels: BTreeMap<i64, Vec<(GtBox, i64)>>,
    calib: Arc<VehicleCalib>,
}

impl Av2Log {
    pub fn open(dir: &Path, opts: &Options) -> Result<Av2Log> {
        let lidar_dir = dir.join("sensors").join("lidar");
        let entries = std::fs::read_dir(&lidar_dir).map_err(|e| {
            DatasetError::file(
                &lidar_dir,
                format!("{e} (an Argoverse 2 log has sensors/lidar/ and annotations.feather)"),
            )
        })?;
        let mut names: Vec<(i64, String)> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let p = e.path();
                if p.extension().is_none_or(|x| x != "feather") {
                    return None;
                }
                let stem = p.file_stem()?.to_string_lossy().into_owned();
                Some((stem.parse::<i64>().ok()?, stem))
            })
            .collect();
        names.sort();
        if names.is_empty() {
            return Err(DatasetError::file(&lidar_dir, "no <timestamp_ns>.feather sweeps"));
        }
        let ann_path = dir.join("annotations.feather");
        let ann = Table::read(&ann_path)?;
        let ts = ann.i64s("timestamp_ns")?;
        let category = ann.strings("category")?;
        let col = |n: &str| ann.f64s(n);
        let (l, w, h) = (col("length_m")?, col("width_m")?, col("height_m")?);
        let (qw, qx, qy, qz) = (col("qw")?, col("qx")?, col("qy")?, col("qz")?);
        let (tx, ty, tz) = (col("tx_m")?, col("ty_m")?, col("tz_m")?);
        let pts = ann
            .i64s("num_interior_pts")
            .unwrap_or_else(|_| vec![i64::MAX; ts.len()]);
        let mut labels: BTreeMap<i64, Vec<(GtBox, i64)>> = BTreeMap::new();
        for (i, cat) in category.iter().enumerate() {
            let Some(class) = class_of(cat) else { continue };
            let at = |v: &Vec<f64>| v.get(i).copied().unwrap_or(f64::NAN);
            let b = GtBox {
                class: class.class.to_string(),
                id: i as u64,
                center: [at(&tx), at(&ty), at(&tz)],
                size: [at(&l), at(&w), at(&h)],
                yaw: yaw_of(at(&qw), at(&qx), at(&qy), at(&qz)),
                ignore: class.ignore,
            };
            if b.center.iter().chain(&b.size).any(|v| !v.is_finite()) {
                return Err(DatasetError::file(
                    &ann_path,
                    format!("row {i}: a non-finite size or position"),
                ));
            }
            let t = ts.get(i).copied().unwrap_or_default();
            labels
                .entry(t)
                .or_default()
                .push((b, pts.get(i).copied().unwrap_or(i64::MAX)));
        }
        let mut tree = TransformTree::new();
        tree.insert(&opts.ego_frame, AV2_LIDAR_FRAME, Isometry3::identity())
            .map_err(|e| DatasetError::file(dir, e))?;
        let calib = Arc::new(VehicleCalib {
            cameras: Vec::new(),
            tree,
            lidar_frame: AV2_LIDAR_FRAME.into(),
            ego_frame: opts.ego_frame.clone(),
        });
        Ok(Av2Log {
            dir: dir.to_path_buf(),
            opts: opts.clone(),
            names: names.into_iter().map(|(_, n)| n).collect(),
            labels,
            calib,
        })
    }
}

/// Reads one sweep (intensity scaled to 0–1, as the models take it).
pub fn read_sweep(path: &Path) -> Result<PointsSoA> {
    let t = Table::read(path)?;
    let (x, y, z) = (t.f64s("x")?, t.f64s("y")?, t.f64s("z")?);
    let intensity = t.f64s("intensity")?;
    let mut pts = PointsSoA::with_capacity(x.len());
    for (((x, y), z), i) in x.iter().zip(&y).zip(&z).zip(&intensity) {
        if x.is_finite() && y.is_finite() && z.is_finite() {
            pts.push(*x as f32, *y as f32, *z as f32, (*i / 255.0) as f32);
        }
    }
    Ok(pts)
}

impl Dataset for Av2Log {
    fn kind(&self) -> &'static str {
        "av2"
    }

    fn frames(&self) -> &[String] {
        &self.names
    }

    fn load(&mut self, name: &str) -> Result<Frame> {
        let path = self
            .dir
            .join("sensors")
            .join("lidar")
            .join(format!("{name}.feather"));
        let ns: i64 = name
            .parse()
            .map_err(|_| DatasetError::file(&path, "the file name is not a timestamp in ns"))?;
        let stamp = Stamp::from_nanos(u64::try_from(ns).unwrap_or(0));
        let mut lidar = read_sweep(&path)?;
        lidar.stamp = stamp;
        lidar.frame_id = AV2_LIDAR_FRAME.into();
        let min = i64::from(self.opts.min_points);
        let boxes = self
            .labels
            .get(&ns)
            .map(|v| {
                v.iter()
                    .map(|(b, pts)| GtBox {
                        ignore: b.ignore || *pts < min,
                        ..b.clone()
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(Frame {
            name: name.to_string(),
            stamp,
            camera: None,
            lidar,
            calib: Arc::clone(&self.calib),
            truth: GroundTruth {
                stamp: stamp.as_secs_f64(),
                boxes,
                occupancy: Vec::new(),
                caption: String::new(),
            },
            region: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaw_from_quaternion() {
        let a: f64 = 0.7;
        let y = yaw_of((a / 2.0).cos(), 0.0, 0.0, (a / 2.0).sin());
        assert!((y - a).abs() < 1e-12);
    }

    #[test]
    fn categories_map_to_model_classes() {
        assert_eq!(class_of("REGULAR_VEHICLE").map(|c| c.class), Some("car"));
        assert_eq!(class_of("BUS").map(|c| c.class), Some("truck"));
        assert_eq!(
            class_of("BICYCLE").map(|c| (c.class, c.ignore)),
            Some(("cyclist", true))
        );
        assert_eq!(class_of("BOLLARD"), None);
    }
}
