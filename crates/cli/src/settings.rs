//! Layered configuration: built-in defaults → `--config` file (TOML/YAML/JSON) →
//! `SENSORIUM__SECTION__KEY` environment variables → command-line flags.
//!
//! Every value remembers where it came from, so errors and `sensorium config show`
//! can name the source. Unknown keys, wrong types and out-of-range values are errors
//! that name the key, the value and the source.

use anyhow::{anyhow, bail, Context, Result};
use config::{Config, Map, Source, Value, ValueKind};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

mod sources;
mod validate;

use sources::*;

/// Topics the pipeline reads (the defaults are what `sensorium sim` writes).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct InputSettings {
    pub camera_topic: String,
    pub camera_compressed_topic: String,
    /// Which camera stream to use when a recording has both: `raw` or `compressed`.
    pub image_preference: String,
    pub camera_info_topic: String,
    pub lidar_topic: String,
    pub map_text_topic: String,
    pub tf_static_topic: String,
    pub ground_truth_topic: String,
    /// Node: a message claiming more bytes is refused by the transport before memory is reserved.
    #[serde(default = "default_max_message_bytes")]
    pub max_message_bytes: u64,
    /// Node: messages per second accepted per input topic (more are dropped before decoding); 0 = no limit.
    #[serde(default = "default_max_rate_hz")]
    pub max_rate_hz: f64,
}

fn default_max_message_bytes() -> u64 {
    64 << 20
}

fn default_max_rate_hz() -> f64 {
    100.0
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SyncSettings {
    /// `approximate` (message_filters C++), `slop` (message_filters Python), `exact` or `latest`.
    pub policy: String,
    pub queue_size: u32,
    /// ApproximateTime max interval duration (s); 0 = unbounded.
    pub max_interval: f64,
    /// Python ApproximateTimeSynchronizer slop (s).
    pub slop: f64,
    /// `latest` policy: maximum age of a non-trigger stream relative to the trigger (s).
    pub max_age: f64,
    /// Reference (trigger) stream: `lidar` or `camera`.
    pub reference: String,
    /// Map text stays valid this long after its stamp (s); 0 = until replaced.
    pub map_text_ttl: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EngineSettings {
    /// Total worker threads (stages + inference); 0 = number of cores.
    pub threads: u32,
    /// Frame-set deadline (ms, on the source's clock) from the arrival of the message that completed
    /// the set; an older set is dropped as `late`.
    pub deadline_ms: f64,
    /// Messages per input stream the ingest queue holds (the queue between a source and the runtime
    /// holds 4× this; in real time a full queue drops its oldest message).
    pub ring_capacity: u32,
    /// A stream is stale after expected period × this factor (WARN), ×2 (ERROR).
    pub stale_factor: f64,
    /// Where the perception stages run, in replay and node: `pipelined` — camera, LiDAR and fusion
    /// each on its own thread, frame t+1 encoded while t is fused (the encoders share the thread budget, `threads / 3` each,
    /// at least 1): more throughput, more latency per set; `inline` — one after another on one thread,
    /// each encoder with the whole budget: least latency; `auto` — pipelined for `replay --fast` or with
    /// 6 cores or more, inline otherwise.
    #[serde(default = "auto")]
    pub stages: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ModelSettings {
    /// Folder holding one subfolder per model (`manifest.toml` + `model.onnx`).
    pub dir: PathBuf,
    /// `fp32`, `int8` or `auto` (fastest measured by `sensorium models tune`; without a tuned choice: fp32 for
    /// tract on x86-64, else int8).
    pub variant: String,
    /// `tract`, `onnxruntime` or `auto` (fastest measured by `sensorium models tune`; without a tuned
    /// choice: tract). onnxruntime needs a build with the `onnxruntime` feature and its library.
    #[serde(default = "auto")]
    pub backend: String,
    /// Cache of optimized models; empty = `$XDG_CACHE_HOME/sensorium`.
    pub cache_dir: PathBuf,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CalibrationSettings {
    /// Calibration folder (extrinsics.yaml + camera_info YAMLs); empty = from the bag's /tf_static and camera_info.
    pub dir: PathBuf,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SceneSettings {
    /// Frame of the published scene (REP-105).
    pub frame_id: String,
    /// Open-vocabulary text queries scored against every scene.
    pub queries: Vec<String>,
    /// Also compute a BEV similarity map per query (scenes.jsonl `queries[].map`, the Scene message's
    /// `query_maps`, the PNG heat): 6 × 96 × 96 floats more per scene.
    #[serde(default)]
    pub query_maps: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// `human` or `json`.
    pub format: String,
    /// EnvFilter directive used when RUST_LOG is unset.
    pub level: String,
}

/// The node's middleware, and the ROS 2 transport's QoS and sockets.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RosSettings {
    /// `sensorium node`: 1 = ROS 1 (a ROS master, rosrust), 2 = ROS 2 (DDS, ros2-client; `--ros2`).
    pub version: u8,
    /// ROS 2: DDS domain; -1 = `$ROS_DOMAIN_ID` (0 when unset).
    pub domain_id: i64,
    /// ROS 2 sensor inputs (images, camera info, clouds, map text): `best_effort` or `reliable`.
    pub sensor_reliability: String,
    /// ROS 2 sensor inputs: history depth (keep last).
    pub sensor_depth: u32,
    /// ROS 2 `/tf_static`: `transient_local` (late joiners get the transforms) or `volatile`.
    pub tf_static_durability: String,
    /// ROS 2 outputs: `reliable` (what rclpy subscribes with by default) or `best_effort`.
    pub output_reliability: String,
    /// ROS 2: `SO_RCVBUF` requested for the DDS sockets (the kernel caps it at `net.core.rmem_max`).
    pub socket_receive_buffer_bytes: u64,
    /// ROS 2: `SO_SNDBUF` requested for the DDS sockets (capped at `net.core.wmem_max`).
    pub socket_send_buffer_bytes: u64,
}

impl Default for RosSettings {
    fn default() -> Self {
        RosSettings {
            version: 1,
            domain_id: -1,
            sensor_reliability: "best_effort".into(),
            sensor_depth: 5,
            tf_static_durability: "transient_local".into(),
            output_reliability: "reliable".into(),
            socket_receive_buffer_bytes: 8 << 20,
            socket_send_buffer_bytes: 8 << 20,
        }
    }
}

/// The whole effective configuration.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub input: InputSettings,
    pub sync: SyncSettings,
    pub engine: EngineSettings,
    pub models: ModelSettings,
    pub calibration: CalibrationSettings,
    pub scene: SceneSettings,
    pub log: LogSettings,
    #[serde(default)]
    pub ros: RosSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            input: InputSettings {
                camera_topic: "/camera/image_raw".into(),
                camera_compressed_topic: "/camera/image_raw/compressed".into(),
                image_preference: "raw".into(),
                camera_info_topic: "/camera/camera_info".into(),
                lidar_topic: "/lidar/points".into(),
                map_text_topic: "/map/text".into(),
                tf_static_topic: "/tf_static".into(),
                ground_truth_topic: "/sensorium/ground_truth".into(),
                max_message_bytes: default_max_message_bytes(),
                max_rate_hz: default_max_rate_hz(),
            },
            sync: SyncSettings {
                policy: "approximate".into(),
                queue_size: 10,
                max_interval: 0.05,
                slop: 0.05,
                max_age: 0.15,
                reference: "lidar".into(),
                map_text_ttl: 30.0,
            },
            engine: EngineSettings {
                threads: 0,
                deadline_ms: 100.0,
                ring_capacity: 8,
                stale_factor: 3.0,
                stages: "auto".into(),
            },
            models: ModelSettings {
                dir: PathBuf::from("models"),
                variant: "auto".into(),
                backend: "auto".into(),
                cache_dir: PathBuf::new(),
            },
            calibration: CalibrationSettings { dir: PathBuf::new() },
            scene: SceneSettings {
                frame_id: "base_link".into(),
                query_maps: false,
                queries: vec![
                    "pedestrian".into(),
                    "car".into(),
                    "truck".into(),
                    "cyclist".into(),
                    "crosswalk".into(),
                    "construction zone".into(),
                ],
            },
            log: LogSettings {
                format: "human".into(),
                level: "info".into(),
            },
            ros: RosSettings::default(),
        }
    }
}

/// Settings plus the merged raw tree (for origins).
pub struct Loaded {
    pub settings: Settings,
    merged: Value,
}

/// One command-line override: dotted key, value as text, flag name.
pub type Override = (String, String, String);

/// Loads settings from all layers. `overrides` are flag values (key, value, flag name).
pub fn load(file: Option<&Path>, overrides: &[Override]) -> Result<Loaded> {
    let defaults = Config::try_from(&Settings::default()).context("built-in defaults")?;
    let mut builder = Config::builder().add_source(defaults);
    if let Some(f) = file {
        builder = builder.add_source(Tagged {
            entries: read_file(f)?,
        });
    }
    let env_entries: Vec<(String, ValueKind, String)> = std::env::vars()
        .filter_map(|(k, v)| {
            let rest = k.strip_prefix("SENSORIUM__")?;
            let key = rest
                .split("__")
                .map(|s| s.to_ascii_lowercase())
                .collect::<Vec<_>>()
                .join(".");
            Some((key, parse_scalar(&v), format!("environment variable {k}")))
        })
        .collect();
    builder = builder.add_source(Tagged { entries: env_entries });
    let flag_entries = overrides
        .iter()
        .map(|(k, v, o)| (k.clone(), parse_scalar(v), o.clone()))
        .collect();
    builder = builder.add_source(Tagged {
        entries: flag_entries,
    });
    let cfg = builder.build().map_err(|e| anyhow!("configuration: {e}"))?;
    let merged: Value = cfg.cache.clone();
    check_unknown_keys(&merged)?;
    let settings: Settings = cfg.try_deserialize().map_err(|e| anyhow!("configuration: {e}"))?;
    let loaded = Loaded { settings, merged };
    loaded.validate()?;
    Ok(loaded)
}

fn auto() -> String {
    "auto".into()
}

/// The models' selection from the settings: `auto` fields are left to the tuned choice.
pub fn model_selection(s: &Settings, threads: usize) -> sensorium_pipeline::models::Selection {
    sensorium_pipeline::models::Selection {
        backend: match s.models.backend.as_str() {
            "auto" => None,
            b => b.parse().ok(),
        },
        variant: (s.models.variant != "auto").then(|| s.models.variant.clone()),
        threads,
        cache_dir: (!s.models.cache_dir.as_os_str().is_empty()).then(|| s.models.cache_dir.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write_tmp(ext: &str, body: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::Builder::new().suffix(ext).tempfile().expect("tempfile");
        f.write_all(body.as_bytes()).expect("write");
        f
    }

    #[test]
    fn defaults_validate_and_origins_are_named() {
        let l = load(None, &[]).expect("defaults load");
        assert_eq!(l.settings, Settings::default());
        assert_eq!(l.origin("engine.deadline_ms"), "built-in default");
    }

    #[test]
    fn file_then_flag_layers_with_origins() {
        let f = write_tmp(
            ".toml",
            "[engine]\ndeadline_ms = 80.0\n[sync]\npolicy = \"slop\"\n",
        );
        let l = load(
            Some(f.path()),
            &[("sync.queue_size".into(), "5".into(), "flag --queue".into())],
        )
        .expect("load");
        assert_eq!(l.settings.engine.deadline_ms, 80.0);
        assert_eq!(l.settings.sync.policy, "slop");
        assert_eq!(l.settings.sync.queue_size, 5);
        assert!(l
            .origin("engine.deadline_ms")
            .contains(&f.path().display().to_string()));
        assert_eq!(l.origin("sync.queue_size"), "flag --queue");
        let shown = l.describe();
        assert_eq!(shown["sync.queue_size"].0, "5");
    }

    #[test]
    fn yaml_files_are_read() {
        let f = write_tmp(".yaml", "scene:\n  queries: [\"school zone\"]\n");
        let l = load(Some(f.path()), &[]).expect("load yaml");
        assert_eq!(l.settings.scene.queries, vec!["school zone".to_string()]);
    }

    #[test]
    fn unknown_key_names_key_value_and_file() {
        let f = write_tmp(".toml", "[engine]\ndeadline = 80.0\n");
        let err = load(Some(f.path()), &[]).err().expect("must fail").to_string();
        assert!(err.contains("engine.deadline"), "{err}");
        assert!(err.contains("80"), "{err}");
        assert!(err.contains(&f.path().display().to_string()), "{err}");
        assert!(err.contains("engine.deadline_ms"), "suggestion missing: {err}");
    }

    #[test]
    fn wrong_type_names_key_and_file() {
        let f = write_tmp(".toml", "[engine]\nthreads = \"many\"\n");
        let err = load(Some(f.path()), &[]).err().expect("must fail").to_string();
        assert!(err.contains("threads"), "{err}");
        assert!(err.contains("many"), "{err}");
    }

    #[test]
    fn out_of_range_names_key_value_and_source() {
        let f = write_tmp(".toml", "[sync]\npolicy = \"fastest\"\n");
        let err = load(Some(f.path()), &[]).err().expect("must fail").to_string();
        assert!(err.contains("sync.policy") && err.contains("fastest"), "{err}");
        assert!(err.contains(&f.path().display().to_string()), "{err}");
        let err = load(
            None,
            &[(
                "engine.deadline_ms".into(),
                "-3".into(),
                "flag --deadline-ms".into(),
            )],
        )
        .err()
        .expect("must fail")
        .to_string();
        assert!(
            err.contains("engine.deadline_ms") && err.contains("-3") && err.contains("--deadline-ms"),
            "{err}"
        );
    }

    #[test]
    fn missing_file_is_an_error() {
        let err = load(Some(Path::new("/nonexistent/sensorium.toml")), &[])
            .err()
            .expect("must fail");
        assert!(err.to_string().contains("/nonexistent/sensorium.toml"));
    }
}
