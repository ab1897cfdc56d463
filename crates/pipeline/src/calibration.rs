//! Where the vehicle's calibration comes from: a calibration folder/file, or what the recording
//! (or live system) says on `/tf_static` and `camera_info`.

// outside bytes (recordings, live topics) pass through here: no panicking shortcuts
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

use nalgebra::{Isometry3, Quaternion, Translation3, UnitQuaternion};
use sensorium_geometry::{CameraCalib, CameraModel, ImageKind, TransformTree, VehicleCalib};
use sensorium_msgs::{CameraInfo, TFMessage};

/// Collects `/tf_static` transforms and the first `camera_info` until a calibration can be built.
#[derive(Debug, Default, Clone)]
pub struct CalibCollector {
    tree: TransformTree,
    camera_info: Option<CameraInfo>,
    /// Problems found while collecting (bad transforms, bad camera_info), kept for diagnostics.
    pub problems: Vec<String>,
}

impl CalibCollector {
    pub fn add_tf(&mut self, msg: &TFMessage) {
        for t in &msg.transforms {
            let [x, y, z] = t.transform.translation;
            let [qx, qy, qz, qw] = t.transform.rotation;
            let q = Quaternion::new(qw, qx, qy, qz);
            if ![x, y, z, qx, qy, qz, qw].iter().all(|v| v.is_finite()) || q.norm() <= 1e-9 {
                self.problems.push(format!(
                    "tf {} -> {}: invalid transform (non-finite or zero quaternion)",
                    t.header.frame_id, t.child_frame_id
                ));
                continue;
            }
            let iso = Isometry3::from_parts(Translation3::new(x, y, z), UnitQuaternion::from_quaternion(q));
            let parent = t.header.frame_id.trim_start_matches('/');
            let child = t.child_frame_id.trim_start_matches('/');
            if self.tree.contains(child) && self.tree.parent(child) == Some(parent) {
                continue; // republished latched transform
            }
            if let Err(e) = self.tree.insert(parent, child, iso) {
                self.problems.push(e.to_string());
            }
        }
    }

    pub fn add_camera_info(&mut self, info: &CameraInfo) {
        if self.camera_info.is_none() {
            self.camera_info = Some(info.clone());
        }
    }

    pub fn has_camera_info(&self) -> bool {
        self.camera_info.is_some()
    }

    /// A calibration without cameras (a LiDAR-only rig) once the LiDAR frame is connected to `ego_frame`
    /// (or is the ego frame itself).
    pub fn build_lidar_only(&self, lidar_frame: &str, ego_frame: &str) -> Result<VehicleCalib, String> {
        let lidar = lidar_frame.trim_start_matches('/');
        if lidar != ego_frame {
            self.tree
                .lookup(ego_frame, lidar)
                .map_err(|e| format!("/tf_static: {e}"))?;
        }
        Ok(VehicleCalib {
            cameras: Vec::new(),
            tree: self.tree.clone(),
            lidar_frame: lidar.to_string(),
            ego_frame: ego_frame.to_string(),
        })
    }

    /// Builds the calibration once both the camera and LiDAR frames are connected to `ego_frame`.
    pub fn build(&self, lidar_frame: &str, ego_frame: &str) -> Result<VehicleCalib, String> {
        let info = self.camera_info.as_ref().ok_or("no camera_info received yet")?;
        let model = CameraModel::from_ros_camera_info(
            info.width,
            info.height,
            if info.distortion_model.is_empty() {
                "plumb_bob"
            } else {
                &info.distortion_model
            },
            &info.d,
            &info.k,
            &info.r,
            &info.p,
        )
        .map_err(|e| format!("camera_info ({}): {e}", info.header.frame_id))?;
        let cam_frame = info.header.frame_id.trim_start_matches('/').to_string();
        let lidar = lidar_frame.trim_start_matches('/');
        for f in [cam_frame.as_str(), lidar] {
            self.tree
                .lookup(ego_frame, f)
                .map_err(|e| format!("/tf_static: {e}"))?;
        }
        Ok(VehicleCalib {
            cameras: vec![CameraCalib {
                name: cam_frame.clone(),
                frame_id: cam_frame,
                model,
                image: ImageKind::Raw,
            }],
            tree: self.tree.clone(),
            lidar_frame: lidar.to_string(),
            ego_frame: ego_frame.to_string(),
        })
    }
}

/// Row-major 3×4 rigid transform from `source` to `target` frame.
pub fn transform_3x4(calib: &VehicleCalib, target: &str, source: &str) -> Result<[f64; 12], String> {
    let m = calib
        .tree
        .lookup_matrix(target, source)
        .map_err(|e| e.to_string())?;
    // the top 3 rows, row-major
    let mut out = [0.0; 12];
    for (i, v) in out.iter_mut().enumerate() {
        *v = m.get((i / 4, i % 4)).copied().unwrap_or(0.0);
    }
    Ok(out)
}

/// Reads the start of a recording until `/tf_static`, `camera_info` and one LiDAR header are seen,
/// and builds the calibration from them. A recording with no camera messages at all (a LiDAR-only rig)
/// gets a calibration without cameras.
pub fn from_bag(
    bag: &std::path::Path,
    topics: &crate::streams::TopicMap,
    ego_frame: &str,
) -> anyhow::Result<VehicleCalib> {
    use crate::streams::{decode, Decoded, Role};
    let reader =
        sensorium_bag::Recording::open(bag).map_err(|e| anyhow::anyhow!("{}: {e}", bag.display()))?;
    let lidar_only = topics.lidar_only()
        || !reader.topic_counts().iter().any(|(t, n)| {
            *n > 0
                && matches!(
                    topics.role_of(t),
                    Some(Role::CameraRaw | Role::CameraCompressed | Role::CameraInfo)
                )
        });
    let wanted = vec![
        topics.tf_static.clone(),
        topics.camera_info.clone(),
        topics.lidar.clone(),
    ];
    let ro = sensorium_bag::ReadOptions {
        topics: Some(wanted),
        start: None,
        end: None,
        // a few small messages near the start: no read-ahead threads
        prefetch: 1,
        skip_checksums: false,
        max_chunk_bytes: 0,
    };
    let mut c = CalibCollector::default();
    let mut lidar_frame: Option<String> = None;
    let mut last_err = String::from("no /tf_static, camera_info or LiDAR message in the recording");
    for m in reader.messages(&ro) {
        let Ok(m) = m else { continue };
        let Some(role) = topics.role_of(&m.conn.topic) else {
            continue;
        };
        match role {
            Role::Lidar if lidar_frame.is_none() => {
                // only the header is needed: the frame id follows seq + stamp
                if let Ok(h) = sensorium_msgs::stamped_header(&m.conn.datatype, &m.data) {
                    lidar_frame = Some(h.frame_id);
                }
            }
            Role::TfStatic | Role::CameraInfo => match decode(role, &m.conn.topic, &m.conn.datatype, &m.data)
            {
                Ok(Decoded::TfStatic(tf)) => c.add_tf(&tf),
                Ok(Decoded::CameraInfo(ci)) => c.add_camera_info(&ci),
                Ok(_) => {}
                Err(e) => last_err = e.to_string(),
            },
            _ => {}
        }
        if let Some(lf) = &lidar_frame {
            let built = if lidar_only {
                c.build_lidar_only(lf, ego_frame)
            } else {
                c.build(lf, ego_frame)
            };
            match built {
                Ok(v) => return Ok(v),
                Err(e) => last_err = e,
            }
        }
    }
    anyhow::bail!(
        "{}: cannot build the calibration from the recording: {last_err}",
        bag.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use sensorium_msgs::{Header, Transform, TransformStamped};

    fn tf(parent: &str, child: &str, t: [f64; 3], q: [f64; 4]) -> TransformStamped {
        TransformStamped {
            header: Header {
                frame_id: parent.into(),
                ..Default::default()
            },
            child_frame_id: child.into(),
            transform: Transform {
                translation: t,
                rotation: q,
            },
        }
    }

    #[test]
    fn builds_from_tf_static_and_camera_info() {
        let mut c = CalibCollector::default();
        c.add_tf(&TFMessage {
            transforms: vec![
                tf("base_link", "lidar_top", [0.0, 0.0, 1.8], [0.0, 0.0, 0.0, 1.0]),
                tf("base_link", "camera_front", [1.5, 0.0, 1.6], [0.0, 0.0, 0.0, 1.0]),
                // body → optical: x right = -y body, y down = -z body, z forward = x body
                tf(
                    "camera_front",
                    "camera_front_optical",
                    [0.0; 3],
                    [-0.5, 0.5, -0.5, 0.5],
                ),
                tf("base_link", "bad", [f64::NAN, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]),
            ],
        });
        assert_eq!(c.problems.len(), 1);
        assert!(c.build("lidar_top", "base_link").is_err(), "no camera_info yet");
        let info = CameraInfo {
            header: Header {
                frame_id: "camera_front_optical".into(),
                ..Default::default()
            },
            width: 1280,
            height: 720,
            distortion_model: "plumb_bob".into(),
            d: vec![0.0; 5],
            k: [900.0, 0.0, 640.0, 0.0, 900.0, 360.0, 0.0, 0.0, 1.0],
            r: [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
            p: [900.0, 0.0, 640.0, 0.0, 0.0, 900.0, 360.0, 0.0, 0.0, 0.0, 1.0, 0.0],
            ..Default::default()
        };
        c.add_camera_info(&info);
        let v = c.build("lidar_top", "base_link").expect("calib");
        // a LiDAR point 10 m ahead at lidar height lands at the image centre column, above the centre row
        let m = transform_3x4(&v, "camera_front_optical", "lidar_top").expect("tf");
        let p = [10.0, 0.0, 0.0];
        let cam: Vec<f64> = (0..3)
            .map(|r| m[r * 4] * p[0] + m[r * 4 + 1] * p[1] + m[r * 4 + 2] * p[2] + m[r * 4 + 3])
            .collect();
        assert!((cam[2] - 8.5).abs() < 1e-9, "depth {cam:?}");
        assert!(cam[0].abs() < 1e-9 && (cam[1] + 0.2).abs() < 1e-9, "{cam:?}");
    }

    #[test]
    fn a_lidar_only_rig_needs_the_lidar_frame_in_the_tree_or_as_the_scene_frame() {
        let mut c = CalibCollector::default();
        let e = c.build_lidar_only("lidar_top", "base_link").unwrap_err();
        assert!(e.contains("/tf_static"), "{e}");
        let v = c
            .build_lidar_only("lidar_top", "lidar_top")
            .expect("the LiDAR frame as scene frame");
        assert!(v.cameras.is_empty());
        c.add_tf(&TFMessage {
            transforms: vec![tf(
                "base_link",
                "lidar_top",
                [0.0, 0.0, 1.8],
                [0.0, 0.0, 0.0, 1.0],
            )],
        });
        let v = c
            .build_lidar_only("/lidar_top", "base_link")
            .expect("LiDAR-only calibration");
        assert!(v.cameras.is_empty() && v.lidar_frame == "lidar_top");
        assert!(
            c.build("lidar_top", "base_link").is_err(),
            "a camera rig still needs camera_info"
        );
    }
}
