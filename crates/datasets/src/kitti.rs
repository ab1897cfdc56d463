//! A KITTI object directory (`training/` or `testing/` of the object benchmark, or any folder laid out
//! the same way): `velodyne/NNNNNN.bin`, `image_2/NNNNNN.png`, `calib/NNNNNN.txt`, `label_2/NNNNNN.txt`.
//!
//! The scene frame (`base_link`) lies `lidar_height` (1.73 m, KITTI's mount) under the Velodyne, axes
//! parallel to it. Labels (rectified camera 0 coordinates, the box's bottom centre, yaw `ry` about the
//! camera's y axis) become boxes in the scene frame: `Car` → car, `Truck` → truck, `Pedestrian` →
//! pedestrian, `Cyclist` → cyclist; `Van` (for car), `Tram` (for truck) and `Person_sitting` (for
//! pedestrian) are "don't care", as in KITTI's own evaluation; `Misc` and `DontCare` are left out.
//! KITTI labels only what camera 2 sees, so scoring is limited to its horizontal field of view.

use crate::{points_in_box, ClassOf, Dataset, DatasetError, Frame, Options, Result};
use nalgebra::{Isometry3, Matrix4, Vector3, Vector4};
use sensorium_core::Stamp;
use sensorium_fusion::metrics::{GroundTruth, GtBox, Wedge};
use sensorium_geometry::kitti::{load_kitti_calib, KittiCalib, KITTI_LIDAR_FRAME};
use sensorium_geometry::VehicleCalib;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// KITTI's Velodyne mount height above the ground (m).
pub const KITTI_LIDAR_HEIGHT: f64 = 1.73;

/// The model class of a KITTI label type (`None`: not scored at all).
pub fn class_of(kind: &str) -> Option<ClassOf> {
    match kind {
        "Car" => crate::scored("car"),
        "Van" => crate::dont_care("car"),
        "Truck" => crate::scored("truck"),
        "Tram" => crate::dont_care("truck"),
        "Pedestrian" => crate::scored("pedestrian"),
        "Person_sitting" => crate::dont_care("pedestrian"),
        "Cyclist" => crate::scored("cyclist"),
        _ => None,
    }
}

/// One label line, as KITTI writes it.
#[derive(Debug, Clone, PartialEq)]
pub struct KittiLabel {
    pub kind: String,
    /// height, width, length (m)
    pub hwl: [f64; 3],
    /// bottom centre in rectified camera 0 coordinates (m)
    pub location: [f64; 3],
    pub rotation_y: f64,
}

/// Parses a `label_2` file (`path` names it in errors).
pub fn parse_labels(text: &str, path: &Path) -> Result<Vec<KittiLabel>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.is_empty() {
            continue;
        }
        let bad = |d: String| DatasetError::file(path, format!("line {}: {d}", i + 1));
        if f.len() < 15 {
            return Err(bad(format!(
                "{} fields, a label has 15 (16 with a score)",
                f.len()
            )));
        }
        let num = |k: usize| -> Result<f64> {
            let tok = f.get(k).copied().unwrap_or("");
            tok.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| bad(format!("field {} `{tok}` is not a number", k + 1)))
        };
        out.push(KittiLabel {
            kind: f.first().copied().unwrap_or("").to_string(),
            hwl: [num(8)?, num(9)?, num(10)?],
            location: [num(11)?, num(12)?, num(13)?],
            rotation_y: num(14)?,
        });
    }
    Ok(out)
}

/// A KITTI object directory.
pub struct KittiObject {
    dir: PathBuf,
    opts: Options,
    lidar_height: f64,
    /// frame names, frames of one calibration (same file contents and image size) together
    names: Vec<String>,
    /// frame → its calibration group
    group_of: BTreeMap<String, usize>,
    groups: Vec<CalibGroup>,
}

/// Frames that share a calibration file's contents and an image size.
struct CalibGroup {
    text: String,
    size: Option<(u32, u32)>,
    /// The calibration, once a frame of the group was read.
    built: Option<Group>,
}

#[derive(Clone)]
struct Group {
    kitti: KittiCalib,
    calib: Arc<VehicleCalib>,
    /// ego ← velo
    ego_velo: Matrix4<f64>,
    region: Option<Wedge>,
}

impl KittiObject {
    /// Lists the frames of `dir` (every `velodyne/*.bin`); the Velodyne `opts.lidar_height` (default
    /// [`KITTI_LIDAR_HEIGHT`]) above the scene frame.
    pub fn open(dir: &Path, opts: &Options) -> Result<KittiObject> {
        let lidar_height = opts.lidar_height.unwrap_or(KITTI_LIDAR_HEIGHT);
        let velo = dir.join("velodyne");
        let entries = std::fs::read_dir(&velo).map_err(|e| {
            DatasetError::file(
                &velo,
                format!("{e} (a KITTI object directory has velodyne/, image_2/, calib/, label_2/)"),
            )
        })?;
        let mut ids: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let p = e.path();
                (p.extension().is_some_and(|x| x == "bin"))
                    .then(|| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
                    .flatten()
            })
            .collect();
        ids.sort();
        if ids.is_empty() {
            return Err(DatasetError::file(&velo, "no .bin scans"));
        }
        for sub in ["calib", "label_2"] {
            if !dir.join(sub).is_dir() {
                return Err(DatasetError::file(dir.join(sub), "missing (needed to evaluate)"));
            }
        }
        let mut groups: Vec<CalibGroup> = Vec::new();
        let mut group_of = BTreeMap::new();
        for id in &ids {
            let calib_path = dir.join("calib").join(format!("{id}.txt"));
            // a frame whose calibration is unreadable gets a group of its own: loading it reports why
            let text = std::fs::read_to_string(&calib_path).unwrap_or_else(|e| format!("\0{id}: {e}"));
            let size = image::image_dimensions(dir.join("image_2").join(format!("{id}.png"))).ok();
            let g = match groups.iter().position(|g| g.text == text && g.size == size) {
                Some(g) => g,
                None => {
                    groups.push(CalibGroup {
                        text,
                        size,
                        built: None,
                    });
                    groups.len() - 1
                }
            };
            group_of.insert(id.clone(), g);
        }
        let mut names = ids;
        names.sort_by_key(|n| (group_of.get(n).copied(), n.clone()));
        Ok(KittiObject {
            dir: dir.to_path_buf(),
            opts: opts.clone(),
            lidar_height,
            names,
            group_of,
            groups,
        })
    }

    fn group(&mut self, name: &str) -> Result<Group> {
        let calib_path = self.dir.join("calib").join(format!("{name}.txt"));
        let g = self.group_of.get(name).copied().unwrap_or(usize::MAX);
        let Some(CalibGroup { size, built, .. }) = self.groups.get_mut(g) else {
            return Err(DatasetError::file(&calib_path, "not a frame of this directory"));
        };
        if let Some(b) = built {
            return Ok(b.clone());
        }
        let kitti = load_kitti_calib(&calib_path).map_err(|e| DatasetError::file(&calib_path, e))?;
        let mut vehicle = kitti.vehicle().map_err(|e| DatasetError::file(&calib_path, e))?;
        vehicle
            .tree
            .insert(
                KITTI_LIDAR_FRAME,
                &self.opts.ego_frame,
                Isometry3::translation(0.0, 0.0, -self.lidar_height),
            )
            .map_err(|e| DatasetError::file(&calib_path, e))?;
        vehicle.ego_frame = self.opts.ego_frame.clone();
        if let Some((w, h)) = *size {
            for cam in &mut vehicle.cameras {
                cam.model.width = w;
                cam.model.height = h;
            }
        }
        let ego_velo = vehicle
            .tree
            .lookup_matrix(&vehicle.ego_frame, KITTI_LIDAR_FRAME)
            .map_err(|e| DatasetError::file(&calib_path, e))?;
        let region = size.and_then(|(w, _)| camera_wedge(&kitti, &ego_velo, w));
        let group = Group {
            kitti,
            calib: Arc::new(vehicle),
            ego_velo,
            region,
        };
        *built = Some(group.clone());
        Ok(group)
    }
}

/// Camera 2's horizontal field of view on the ground, in the ego frame.
fn camera_wedge(k: &KittiCalib, ego_velo: &Matrix4<f64>, width: u32) -> Option<Wedge> {
    let p2 = k.p.get(2).copied().flatten()?;
    let (fx, cx) = (p2.m11, p2.m13);
    if fx <= 0.0 {
        return None;
    }
    let ego_cam = ego_velo * k.tr_velo_to_cam.try_inverse()?;
    // the rectified camera's optical axis, in camera 0 coordinates, then in the ego frame
    let axis = k.r0_rect.transpose() * Vector3::new(0.0, 0.0, 1.0);
    let axis = ego_cam.fixed_view::<3, 3>(0, 0) * axis;
    let origin = ego_cam * Vector4::new(0.0, 0.0, 0.0, 1.0);
    let half = (cx.max(f64::from(width) - cx) / fx).atan();
    Some(Wedge {
        origin: [origin.x, origin.y],
        heading: axis.y.atan2(axis.x),
        half_angle: half,
    })
}

/// A label as a box in the ego frame (`None` for types that are not scored).
fn to_box(l: &KittiLabel, k: &KittiCalib, ego_velo: &Matrix4<f64>, id: u64) -> Option<GtBox> {
    let class = class_of(&l.kind)?;
    let [h, w, len] = l.hwl;
    // rectified camera 0 → camera 0 → Velodyne → ego
    let r0_inv = k.r0_rect.try_inverse()?;
    let velo_cam = k.tr_velo_to_cam.try_inverse()?;
    let ego_cam = ego_velo * velo_cam;
    let rect_centre = Vector3::new(l.location[0], l.location[1] - h / 2.0, l.location[2]);
    let c = ego_cam * (r0_inv * rect_centre).push(1.0);
    let heading_rect = Vector3::new(l.rotation_y.cos(), 0.0, -l.rotation_y.sin());
    let heading = ego_cam.fixed_view::<3, 3>(0, 0) * (r0_inv * heading_rect);
    Some(GtBox {
        class: class.class.to_string(),
        id,
        center: [c.x, c.y, c.z],
        size: [len, w, h],
        yaw: heading.y.atan2(heading.x),
        ignore: class.ignore,
    })
}

impl Dataset for KittiObject {
    fn kind(&self) -> &'static str {
        "kitti"
    }

    fn frames(&self) -> &[String] {
        &self.names
    }

    fn load(&mut self, name: &str) -> Result<Frame> {
        let group = self.group(name)?;
        let index = self.names.iter().position(|n| n == name).unwrap_or(0);
        // KITTI object frames are not a sequence: one a tenth of a second after the other
        let stamp = Stamp::from_nanos(1_000_000_000 + index as u64 * 100_000_000);
        let bin = self.dir.join("velodyne").join(format!("{name}.bin"));
        let bytes = std::fs::read(&bin).map_err(|e| DatasetError::file(&bin, e))?;
        let mut lidar = sensorium_geometry::cloudfile::parse_kitti_bin(&bytes, &bin)
            .map_err(|e| DatasetError::file(&bin, e))?;
        lidar.stamp = stamp;
        lidar.frame_id = KITTI_LIDAR_FRAME.into();
        let png = self.dir.join("image_2").join(format!("{name}.png"));
        let camera = match std::fs::read(&png) {
            Ok(data) => {
                let msg = sensorium_msgs::image::CompressedImage {
                    header: Default::default(),
                    format: "png".into(),
                    data,
                };
                let mut img = msg.to_rgb().map_err(|e| DatasetError::file(&png, e))?;
                img.stamp = stamp;
                img.frame_id = sensorium_geometry::kitti::KITTI_CAMERA_FRAME.into();
                Some(img)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(DatasetError::file(&png, e)),
        };
        let label_path = self.dir.join("label_2").join(format!("{name}.txt"));
        let text = std::fs::read_to_string(&label_path).map_err(|e| DatasetError::file(&label_path, e))?;
        let labels = parse_labels(&text, &label_path)?;
        let velo_ego = group.ego_velo.try_inverse().unwrap_or_else(Matrix4::identity);
        let mut boxes = Vec::new();
        for (i, l) in labels.iter().enumerate() {
            let Some(mut b) = to_box(l, &group.kitti, &group.ego_velo, i as u64) else {
                continue;
            };
            // count the points in the Velodyne frame: the box centre back there, yaw unchanged (axes parallel)
            let cv = velo_ego * Vector4::new(b.center[0], b.center[1], b.center[2], 1.0);
            let inside = points_in_box(&lidar, [cv.x, cv.y, cv.z], b.size, b.yaw);
            b.ignore |= inside < self.opts.min_points;
            boxes.push(b);
        }
        Ok(Frame {
            name: name.to_string(),
            stamp,
            camera,
            lidar,
            calib: group.calib,
            truth: GroundTruth {
                stamp: stamp.as_secs_f64(),
                boxes,
                occupancy: Vec::new(),
                caption: String::new(),
            },
            region: group.region,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_parse_and_bad_lines_name_file_and_line() {
        let t = "Pedestrian 0.00 0 -0.20 712.40 143.00 810.73 307.92 1.89 0.48 1.20 1.84 1.47 8.41 0.01\n\n";
        let l = parse_labels(t, Path::new("000000.txt")).unwrap();
        assert_eq!(l.len(), 1);
        assert_eq!(l[0].hwl, [1.89, 0.48, 1.20]);
        assert_eq!(l[0].location, [1.84, 1.47, 8.41]);
        let e = parse_labels("Car 0 0 0 1 2 3 4 1.5 1.6 x 1 2 3 0\n", Path::new("7.txt"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("7.txt") && e.contains("line 1") && e.contains("`x`"),
            "{e}"
        );
        let e = parse_labels("Car 0 0\n", Path::new("8.txt"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("3 fields"), "{e}");
    }

    #[test]
    fn kitti_types_map_to_model_classes() {
        assert_eq!(class_of("Car").map(|c| (c.class, c.ignore)), Some(("car", false)));
        assert_eq!(class_of("Van").map(|c| (c.class, c.ignore)), Some(("car", true)));
        assert_eq!(class_of("Person_sitting").map(|c| c.ignore), Some(true));
        assert_eq!(class_of("DontCare"), None);
        assert_eq!(class_of("Misc"), None);
    }
}
