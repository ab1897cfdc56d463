//! Simulation settings: sensors, scene density, topics, frames and timing. Every field has a default
//! (the vehicle of `calibration/`), so a config file only names what it changes.

use crate::error::SimError;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// A sensor mount: position (m) and roll/pitch/yaw (rad, applied as Rz·Ry·Rx) in `base_link`.
/// The camera mount is the pose of its *body* frame (x forward, y left, z up); the optical frame
/// follows REP-103 (z forward, x right, y down).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Mount {
    pub translation: [f64; 3],
    pub rpy: [f64; 3],
}

/// The front camera: pinhole + plumb_bob, rendered at `rate_hz`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CameraConfig {
    pub width: u32,
    pub height: u32,
    pub fx: f64,
    pub fy: f64,
    pub cx: f64,
    pub cy: f64,
    /// plumb_bob coefficients k1, k2, t1, t2, k3.
    pub d: [f64; 5],
    pub rate_hz: f64,
    pub mount: Mount,
    /// Publish sensor_msgs/Image rgb8 on the raw topic.
    pub raw: bool,
    /// Publish sensor_msgs/CompressedImage JPEG on the compressed topic.
    pub compressed: bool,
    pub jpeg_quality: u8,
    /// A bumped camera: from `bump.after_s` (seconds into the recording) the camera renders from its
    /// mount rotated by `bump.rpy_deg`, while the written calibration keeps the nominal mount — the
    /// recording `sensorium calib check` must flag.
    pub bump: Option<Bump>,
}

/// A sudden change of a sensor's pose (see [`CameraConfig::bump`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bump {
    pub after_s: f64,
    /// Roll, pitch, yaw added to the mount (degrees).
    pub rpy_deg: [f64; 3],
    /// Translation added to the mount (m).
    #[serde(default)]
    pub translation: [f64; 3],
}

/// The rotating LiDAR.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LidarConfig {
    pub beams: u16,
    /// Lowest and highest beam elevation (degrees); beams are evenly spaced, ring 0 the lowest.
    pub vfov_deg: [f64; 2],
    pub azimuth_res_deg: f64,
    pub rate_hz: f64,
    pub min_range: f64,
    pub max_range: f64,
    /// Standard deviation of the Gaussian range noise (m).
    pub range_noise_std: f64,
    /// Probability that a return is dropped.
    pub dropout: f64,
    pub mount: Mount,
}

/// What the procedural world contains.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SceneConfig {
    pub ego_speed: f64,
    pub lanes_per_direction: u8,
    pub lane_width: f64,
    /// Largest lateral swing of the road centreline (m); 0 gives a straight road.
    pub max_curve_amplitude: f64,
    /// Vehicles per 100 m of road and lane.
    pub traffic_density: f64,
    /// Pedestrians per 100 m of sidewalk side.
    pub pedestrian_density: f64,
}

/// Topic names (the node's defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Topics {
    pub image_raw: String,
    pub image_compressed: String,
    pub camera_info: String,
    pub points: String,
    pub map_text: String,
    pub tf_static: String,
    pub ground_truth: String,
}

/// Frame ids (REP-103/105).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Frames {
    pub base: String,
    pub lidar: String,
    pub camera: String,
    pub camera_optical: String,
}

/// Chunk compression of the written bag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BagCompression {
    None,
    Lz4,
    Bz2,
}

/// Header stamps and bag record times.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TimingConfig {
    /// Stamp of the first LiDAR sweep (s since the epoch).
    pub start_time: f64,
    /// Standard deviation of header-stamp jitter (ms), clipped at 3σ.
    pub stamp_jitter_ms: f64,
    /// Record time = stamp + a uniform delay in this range (ms).
    pub record_delay_ms: [f64; 2],
    pub map_text_rate_hz: f64,
}

/// Everything the simulator needs; `Default` is the sample vehicle (1280×720 camera, 64-beam LiDAR).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimConfig {
    pub camera: CameraConfig,
    pub lidar: LidarConfig,
    pub scene: SceneConfig,
    pub topics: Topics,
    pub frames: Frames,
    pub timing: TimingConfig,
    pub compression: BagCompression,
}

impl Default for Mount {
    fn default() -> Self {
        Mount {
            translation: [0.0; 3],
            rpy: [0.0; 3],
        }
    }
}

impl Default for CameraConfig {
    fn default() -> Self {
        CameraConfig {
            width: 1280,
            height: 720,
            fx: 900.0,
            fy: 900.0,
            cx: 640.0,
            cy: 360.0,
            d: [-0.05, 0.01, 0.0, 0.0, 0.0],
            rate_hz: 10.0,
            mount: Mount {
                translation: [1.5, 0.0, 1.6],
                rpy: [0.0; 3],
            },
            raw: true,
            compressed: false,
            jpeg_quality: 85,
            bump: None,
        }
    }
}

impl Default for LidarConfig {
    fn default() -> Self {
        LidarConfig {
            beams: 64,
            vfov_deg: [-24.8, 2.0],
            azimuth_res_deg: 0.2,
            rate_hz: 10.0,
            min_range: 1.0,
            max_range: 120.0,
            range_noise_std: 0.02,
            dropout: 0.01,
            mount: Mount {
                translation: [0.0, 0.0, 1.8],
                rpy: [0.0; 3],
            },
        }
    }
}

impl Default for SceneConfig {
    fn default() -> Self {
        SceneConfig {
            ego_speed: 10.0,
            lanes_per_direction: 2,
            lane_width: 3.5,
            max_curve_amplitude: 12.0,
            traffic_density: 2.5,
            pedestrian_density: 4.0,
        }
    }
}

impl Default for Topics {
    fn default() -> Self {
        Topics {
            image_raw: "/camera/image_raw".into(),
            image_compressed: "/camera/image_raw/compressed".into(),
            camera_info: "/camera/camera_info".into(),
            points: "/lidar/points".into(),
            map_text: "/map/text".into(),
            tf_static: "/tf_static".into(),
            ground_truth: "/sensorium/ground_truth".into(),
        }
    }
}

impl Default for Frames {
    fn default() -> Self {
        Frames {
            base: "base_link".into(),
            lidar: "lidar_top".into(),
            camera: "camera_front".into(),
            camera_optical: "camera_front_optical".into(),
        }
    }
}

impl Default for TimingConfig {
    fn default() -> Self {
        TimingConfig {
            start_time: 1_700_000_000.0,
            stamp_jitter_ms: 1.0,
            record_delay_ms: [2.0, 12.0],
            map_text_rate_hz: 1.0,
        }
    }
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            camera: CameraConfig::default(),
            lidar: LidarConfig::default(),
            scene: SceneConfig::default(),
            topics: Topics::default(),
            frames: Frames::default(),
            timing: TimingConfig::default(),
            compression: BagCompression::Lz4,
        }
    }
}

impl SimConfig {
    /// The bundled sample's settings (kept small: tests/fixtures/sample.bag ≤ 6 MB): 640×360 JPEG camera
    /// at 10 Hz, 16 beams at 1°, 80 m range, bz2 chunks.
    pub fn sample() -> Self {
        let mut c = SimConfig::default();
        c.camera.width = 640;
        c.camera.height = 360;
        c.camera.fx = 450.0;
        c.camera.fy = 450.0;
        c.camera.cx = 320.0;
        c.camera.cy = 180.0;
        c.camera.raw = false;
        c.camera.compressed = true;
        c.camera.jpeg_quality = 65;
        c.lidar.beams = 16;
        c.lidar.azimuth_res_deg = 1.0;
        c.lidar.vfov_deg = [-20.0, 2.5];
        c.lidar.max_range = 80.0;
        c.compression = BagCompression::Bz2;
        c
    }

    /// Loads a TOML (`.toml`) or YAML (`.yaml`/`.yml`) file; unknown keys are errors.
    pub fn from_file(path: &Path) -> Result<SimConfig, SimError> {
        let text = std::fs::read_to_string(path).map_err(|e| SimError::io(path, e))?;
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        let cfg: SimConfig = match ext.as_str() {
            "toml" => toml::from_str(&text).map_err(|e| SimError::Config {
                path: path.to_path_buf(),
                detail: e.to_string(),
            })?,
            "yaml" | "yml" => serde_yaml::from_str(&text).map_err(|e| SimError::Config {
                path: path.to_path_buf(),
                detail: e.to_string(),
            })?,
            other => {
                return Err(SimError::Config {
                    path: path.to_path_buf(),
                    detail: format!("unknown config extension {other:?} (expected .toml, .yaml or .yml)"),
                })
            }
        };
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks ranges that would make the sensors meaningless or the memory use unbounded.
    pub fn validate(&self) -> Result<(), SimError> {
        let bad = |field: &str, detail: String| {
            Err(SimError::Invalid {
                field: field.to_string(),
                detail,
            })
        };
        let c = &self.camera;
        if !(16..=8192).contains(&c.width) || !(16..=8192).contains(&c.height) {
            return bad(
                "camera.width/height",
                format!("{}×{} outside 16..=8192", c.width, c.height),
            );
        }
        if !(c.fx > 1.0 && c.fy > 1.0 && c.fx.is_finite() && c.fy.is_finite()) {
            return bad(
                "camera.fx/fy",
                format!("{} / {} must be finite and > 1", c.fx, c.fy),
            );
        }
        if !(c.cx.is_finite() && c.cy.is_finite()) || c.d.iter().any(|v| !v.is_finite() || v.abs() > 1.0) {
            return bad(
                "camera.cx/cy/d",
                "principal point and |D| ≤ 1 must be finite".into(),
            );
        }
        if !(c.rate_hz >= 1.0 && c.rate_hz <= 60.0) {
            return bad("camera.rate_hz", format!("{} outside 1..=60", c.rate_hz));
        }
        if let Some(b) = &c.bump {
            if !b.after_s.is_finite()
                || b.after_s < 0.0
                || b.rpy_deg.iter().chain(&b.translation).any(|v| !v.is_finite())
                || b.rpy_deg.iter().any(|v| v.abs() > 90.0)
            {
                return bad(
                    "camera.bump",
                    format!(
                        "after_s {} must be ≥ 0, rpy_deg {:?} within ±90°, all finite",
                        b.after_s, b.rpy_deg
                    ),
                );
            }
        }
        if !c.raw && !c.compressed {
            return bad(
                "camera.raw/compressed",
                "at least one image topic must be enabled".into(),
            );
        }
        if !(1..=100).contains(&c.jpeg_quality) {
            return bad(
                "camera.jpeg_quality",
                format!("{} outside 1..=100", c.jpeg_quality),
            );
        }
        let l = &self.lidar;
        if !(1..=256).contains(&l.beams) {
            return bad("lidar.beams", format!("{} outside 1..=256", l.beams));
        }
        if !(l.azimuth_res_deg >= 0.05 && l.azimuth_res_deg <= 10.0) {
            return bad(
                "lidar.azimuth_res_deg",
                format!("{} outside 0.05..=10", l.azimuth_res_deg),
            );
        }
        if !(l.vfov_deg[0] >= -89.0 && l.vfov_deg[1] <= 89.0 && l.vfov_deg[0] <= l.vfov_deg[1]) {
            return bad(
                "lidar.vfov_deg",
                format!("{:?} must be ordered within ±89°", l.vfov_deg),
            );
        }
        if !(l.rate_hz >= 1.0 && l.rate_hz <= 50.0) {
            return bad("lidar.rate_hz", format!("{} outside 1..=50", l.rate_hz));
        }
        if !(l.min_range >= 0.0 && l.max_range > l.min_range && l.max_range <= 1000.0) {
            return bad(
                "lidar.min/max_range",
                format!("{} / {}", l.min_range, l.max_range),
            );
        }
        if !(0.0..=1.0).contains(&l.range_noise_std) || !(0.0..1.0).contains(&l.dropout) {
            return bad(
                "lidar.range_noise_std/dropout",
                format!("{} / {}", l.range_noise_std, l.dropout),
            );
        }
        let s = &self.scene;
        if !(0.0..=40.0).contains(&s.ego_speed) || !(1..=4).contains(&s.lanes_per_direction) {
            return bad(
                "scene.ego_speed/lanes",
                format!("{} m/s, {} lanes", s.ego_speed, s.lanes_per_direction),
            );
        }
        if !(2.5..=5.0).contains(&s.lane_width) || !(0.0..=40.0).contains(&s.max_curve_amplitude) {
            return bad(
                "scene.lane_width/max_curve_amplitude",
                format!("{} / {}", s.lane_width, s.max_curve_amplitude),
            );
        }
        if !(0.0..=20.0).contains(&s.traffic_density) || !(0.0..=40.0).contains(&s.pedestrian_density) {
            return bad(
                "scene.densities",
                format!("{} / {}", s.traffic_density, s.pedestrian_density),
            );
        }
        let t = &self.timing;
        if !(t.start_time >= 0.0 && t.start_time < 4.0e9) {
            return bad("timing.start_time", format!("{} outside [0, 4e9)", t.start_time));
        }
        let delays_ok = t.record_delay_ms[0] >= 0.0
            && t.record_delay_ms[1] >= t.record_delay_ms[0]
            && t.record_delay_ms[1] <= 1000.0;
        if !((0.0..=50.0).contains(&t.stamp_jitter_ms) && delays_ok) {
            return bad(
                "timing.jitter/record_delay",
                format!("{} / {:?}", t.stamp_jitter_ms, t.record_delay_ms),
            );
        }
        if !(0.1..=10.0).contains(&t.map_text_rate_hz) {
            return bad(
                "timing.map_text_rate_hz",
                format!("{} outside 0.1..=10", t.map_text_rate_hz),
            );
        }
        Ok(())
    }
}
