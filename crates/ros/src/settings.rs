//! The node's settings: the layered configuration's defaults, and the private parameters (`~name`)
//! that override them.

use sensorium_engine::sync::PolicyConfig;
use sensorium_geometry::VehicleCalib;
use sensorium_pipeline::runtime::{RuntimeConfig, Stages};
use sensorium_pipeline::streams::TopicMap;
use std::path::PathBuf;
use std::time::Duration;

/// Everything the node needs; [`NodeSettings::new`] gives the defaults of the layered configuration.
#[derive(Debug, Clone)]
pub struct NodeSettings {
    pub topics: TopicMap,
    pub sync: PolicyConfig,
    /// A stream is stale after its period × this factor (WARN), × 2 (ERROR).
    pub stale_factor: f64,
    pub map_text_ttl: f64,
    /// A frame set whose triggering message waited longer than this is dropped as late (ms).
    pub deadline_ms: f64,
    /// Capacity of the queue between the subscriber callbacks and the processing thread.
    pub ingest_capacity: usize,
    /// Perception inline on the processing thread or on stage threads.
    pub stages: Stages,
    pub models_dir: PathBuf,
    pub models_variant: Option<String>,
    /// `None`: auto (tuned choice, else tract).
    pub models_backend: Option<sensorium_pipeline::models::Backend>,
    pub models_cache_dir: Option<PathBuf>,
    pub threads: usize,
    /// Fixed calibration; `None`: built from `/tf_static` and `camera_info` as they arrive.
    pub calibration: Option<VehicleCalib>,
    pub queries: Vec<String>,
    /// Per-query BEV similarity maps in the published Scene (`query_maps`).
    pub query_maps: bool,
    pub frame_id: String,
    /// Include the BEV feature tensor in `~scene`.
    pub publish_features: bool,
    /// Advertise `~painted_points` (filled only while someone subscribes).
    pub publish_painted_points: bool,
    /// A message claiming more bytes is refused by the (patched) rosrust transport before any memory
    /// is reserved for it; counted as `dropped_oversized`.
    pub max_message_bytes: usize,
    /// Messages per second accepted per input topic (token bucket, burst of one second); more are
    /// dropped before decoding, counted as `rate_limited_<stream>`. 0: no limit.
    pub max_rate_hz: f64,
    /// How often the ROS master's system state is read to notice a master restart.
    pub master_check_period: Duration,
    pub diagnostics_period: Duration,
    /// The ROS 2 transport's settings (`sensorium node --ros2`).
    pub ros2: crate::ros2::Ros2Settings,
}

impl NodeSettings {
    pub fn new(models_dir: PathBuf) -> NodeSettings {
        NodeSettings {
            topics: TopicMap {
                camera: "/camera/image_raw".into(),
                camera_compressed: "/camera/image_raw/compressed".into(),
                prefer_compressed: false,
                camera_info: "/camera/camera_info".into(),
                lidar: "/lidar/points".into(),
                map_text: "/map/text".into(),
                tf_static: "/tf_static".into(),
                ground_truth: String::new(),
            },
            sync: PolicyConfig {
                streams: 2,
                queue: 10,
                max_interval: Some(0.05),
                slop: 0.05,
                trigger: 1,
                max_age: vec![0.15],
                ..Default::default()
            },
            stale_factor: 3.0,
            map_text_ttl: 30.0,
            deadline_ms: 100.0,
            ingest_capacity: 32,
            stages: Stages::Inline,
            models_dir,
            models_variant: None,
            models_backend: None,
            models_cache_dir: None,
            threads: 2,
            calibration: None,
            queries: Vec::new(),
            query_maps: false,
            frame_id: "base_link".into(),
            publish_features: false,
            publish_painted_points: true,
            max_message_bytes: 64 << 20,
            max_rate_hz: 100.0,
            master_check_period: Duration::from_secs(1),
            diagnostics_period: Duration::from_secs(1),
            ros2: crate::ros2::Ros2Settings::default(),
        }
    }

    /// The runtime the node runs: real time on the ROS clock.
    pub fn runtime(&self) -> RuntimeConfig {
        RuntimeConfig {
            assembly: sensorium_pipeline::assembly::AssemblyConfig {
                sync: self.sync.clone(),
                stale_factor: self.stale_factor,
                map_text_ttl: self.map_text_ttl,
                prefer_compressed: self.topics.prefer_compressed,
            },
            deadline_ms: self.deadline_ms,
            real_time: Some(1.0),
            stages: self.stages,
        }
    }

    /// Merges the node's private parameters (`~stale_factor`, `~deadline_ms`, `~map_text_ttl`,
    /// `~publish_features`, `~publish_painted_points`, `~max_message_bytes`, `~max_rate_hz`, `~image_preference`, `~models_dir`, `~frame_id`, `~queries`) over `self`.
    /// Returns the names of the parameters applied.
    pub fn apply_private_params(&mut self) -> Vec<String> {
        let mut applied = Vec::new();
        let get = |name: &str| rosrust::param(&format!("~{name}")).filter(|p| p.exists().unwrap_or(false));
        let f64_param = |name: &str, slot: &mut f64, applied: &mut Vec<String>| {
            if let Some(v) = get(name).and_then(|p| p.get::<f64>().ok()) {
                *slot = v;
                applied.push(name.to_string());
            }
        };
        f64_param("stale_factor", &mut self.stale_factor, &mut applied);
        f64_param("deadline_ms", &mut self.deadline_ms, &mut applied);
        f64_param("map_text_ttl", &mut self.map_text_ttl, &mut applied);
        if let Some(v) = get("publish_features").and_then(|p| p.get::<bool>().ok()) {
            self.publish_features = v;
            applied.push("publish_features".into());
        }
        if let Some(v) = get("publish_painted_points").and_then(|p| p.get::<bool>().ok()) {
            self.publish_painted_points = v;
            applied.push("publish_painted_points".into());
        }
        if let Some(v) = get("max_message_bytes").and_then(|p| p.get::<i32>().ok()) {
            self.max_message_bytes = v.max(1024) as usize;
            applied.push("max_message_bytes".into());
        }
        f64_param("max_rate_hz", &mut self.max_rate_hz, &mut applied);
        if let Some(v) = get("image_preference").and_then(|p| p.get::<String>().ok()) {
            self.topics.prefer_compressed = v == "compressed";
            applied.push("image_preference".into());
        }
        if let Some(v) = get("models_dir").and_then(|p| p.get::<String>().ok()) {
            self.models_dir = PathBuf::from(v);
            applied.push("models_dir".into());
        }
        if let Some(v) = get("frame_id").and_then(|p| p.get::<String>().ok()) {
            self.frame_id = v;
            applied.push("frame_id".into());
        }
        if let Some(v) = get("queries").and_then(|p| p.get::<Vec<String>>().ok()) {
            self.queries = v;
            applied.push("queries".into());
        }
        applied
    }
}
