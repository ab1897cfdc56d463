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
        }
    }
}

/// A configuration source that stamps each value with a precise origin
/// (`env SENSORIUM__ENGINE__THREADS`, `flag --rate`).
#[derive(Debug, Clone)]
struct Tagged {
    entries: Vec<(String, ValueKind, String)>, // (dotted key, value, origin)
}

impl Source for Tagged {
    fn clone_into_box(&self) -> Box<dyn Source + Send + Sync> {
        Box::new(self.clone())
    }

    fn collect(&self) -> Result<Map<String, Value>, config::ConfigError> {
        let mut root: Map<String, Value> = Map::new();
        for (key, kind, origin) in &self.entries {
            let value = Value::new(Some(origin), kind.clone());
            insert_dotted(&mut root, key, value, origin);
        }
        Ok(root)
    }
}

fn insert_dotted(root: &mut Map<String, Value>, key: &str, value: Value, origin: &str) {
    let mut parts: Vec<&str> = key.split('.').collect();
    let last = parts.pop().unwrap_or_default().to_string();
    let mut table = root;
    for p in parts {
        let entry = table
            .entry(p.to_string())
            .or_insert_with(|| Value::new(Some(&origin.to_string()), ValueKind::Table(Map::new())));
        if !matches!(entry.kind, ValueKind::Table(_)) {
            *entry = Value::new(Some(&origin.to_string()), ValueKind::Table(Map::new()));
        }
        table = match &mut entry.kind {
            ValueKind::Table(t) => t,
            _ => return,
        };
    }
    table.insert(last, value);
}

/// Environment/flag strings: a TOML literal when they parse as one (numbers, booleans,
/// `["a", "b"]` lists), else a plain string.
fn parse_scalar(raw: &str) -> ValueKind {
    let doc = format!("v = {raw}");
    match doc.parse::<toml::Table>().ok().and_then(|mut t| t.remove("v")) {
        Some(v) => toml_to_kind(v),
        None => ValueKind::String(raw.to_string()),
    }
}

fn toml_to_kind(v: toml::Value) -> ValueKind {
    match v {
        toml::Value::String(s) => ValueKind::String(s),
        toml::Value::Integer(i) => ValueKind::I64(i),
        toml::Value::Float(f) => ValueKind::Float(f),
        toml::Value::Boolean(b) => ValueKind::Boolean(b),
        toml::Value::Datetime(d) => ValueKind::String(d.to_string()),
        toml::Value::Array(a) => {
            ValueKind::Array(a.into_iter().map(|x| Value::new(None, toml_to_kind(x))).collect())
        }
        toml::Value::Table(t) => ValueKind::Table(
            t.into_iter()
                .map(|(k, x)| (k, Value::new(None, toml_to_kind(x))))
                .collect(),
        ),
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

/// Reads a TOML/YAML/JSON file into (dotted key, value, "file PATH") entries.
fn read_file(path: &Path) -> Result<Vec<(String, ValueKind, String)>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("config file {}", path.display()))?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let tree: serde_json::Value = match ext.as_str() {
        "toml" => toml::from_str(&text).map_err(|e| anyhow!("config file {}: {e}", path.display()))?,
        "yaml" | "yml" => {
            serde_yaml::from_str(&text).map_err(|e| anyhow!("config file {}: {e}", path.display()))?
        }
        "json" => serde_json::from_str(&text).map_err(|e| anyhow!("config file {}: {e}", path.display()))?,
        other => bail!(
            "config file {}: unknown extension {other:?} (use .toml, .yaml or .json)",
            path.display()
        ),
    };
    if !tree.is_object() && !tree.is_null() {
        bail!(
            "config file {}: top level must be a table of sections",
            path.display()
        );
    }
    let origin = format!("file {}", path.display());
    let mut out = Vec::new();
    flatten_tree("", &tree, &origin, &mut out);
    Ok(out)
}

fn flatten_tree(
    prefix: &str,
    v: &serde_json::Value,
    origin: &str,
    out: &mut Vec<(String, ValueKind, String)>,
) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten_tree(&key, x, origin, out);
            }
        }
        other => out.push((prefix.to_string(), json_to_kind(other), origin.to_string())),
    }
}

fn json_to_kind(v: &serde_json::Value) -> ValueKind {
    match v {
        serde_json::Value::Null => ValueKind::Nil,
        serde_json::Value::Bool(b) => ValueKind::Boolean(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => ValueKind::I64(i),
            None => ValueKind::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        serde_json::Value::String(s) => ValueKind::String(s.clone()),
        serde_json::Value::Array(a) => {
            ValueKind::Array(a.iter().map(|x| Value::new(None, json_to_kind(x))).collect())
        }
        serde_json::Value::Object(m) => ValueKind::Table(
            m.iter()
                .map(|(k, x)| (k.clone(), Value::new(None, json_to_kind(x))))
                .collect(),
        ),
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

fn known_keys() -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(v) = serde_json::to_value(Settings::default()) {
        flatten_json("", &v, &mut out);
    }
    out
}

fn flatten_json(prefix: &str, v: &serde_json::Value, out: &mut Vec<String>) {
    if let serde_json::Value::Object(m) = v {
        for (k, x) in m {
            let key = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            if x.is_object() {
                flatten_json(&key, x, out);
            } else {
                out.push(key);
            }
        }
    }
}

fn flatten_value(prefix: &str, v: &Value, out: &mut Vec<(String, Value)>) {
    match &v.kind {
        ValueKind::Table(t) => {
            for (k, x) in t {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten_value(&key, x, out);
            }
        }
        _ => out.push((prefix.to_string(), v.clone())),
    }
}

fn origin_of(v: &Value) -> String {
    v.origin()
        .map(str::to_string)
        .unwrap_or_else(|| "built-in default".to_string())
}

fn check_unknown_keys(merged: &Value) -> Result<()> {
    let known = known_keys();
    let mut leaves = Vec::new();
    flatten_value("", merged, &mut leaves);
    for (key, v) in leaves {
        if !known.iter().any(|k| k == &key) {
            let (section, leaf) = key.rsplit_once('.').unwrap_or(("", key.as_str()));
            let close = known.iter().find(|k| {
                let (ks, kl) = k.rsplit_once('.').unwrap_or(("", k.as_str()));
                (ks == section || kl == leaf)
                    && (kl.contains(leaf) || leaf.contains(kl) || edit_distance(kl, leaf) <= 2)
            });
            let hint = close
                .map(|k| format!(" (did you mean `{k}`?)"))
                .unwrap_or_default();
            bail!(
                "unknown configuration key `{key}` = {} from {}{hint}",
                show_value(&v),
                origin_of(&v)
            );
        }
    }
    Ok(())
}

fn show_value(v: &Value) -> String {
    match &v.kind {
        ValueKind::String(s) => format!("{s:?}"),
        ValueKind::Array(a) => format!("[{}]", a.iter().map(show_value).collect::<Vec<_>>().join(", ")),
        other => other.to_string(),
    }
}

impl Loaded {
    /// Where `key` (dotted) came from.
    pub fn origin(&self, key: &str) -> String {
        let mut cur = &self.merged;
        for part in key.split('.') {
            match &cur.kind {
                ValueKind::Table(t) => match t.get(part) {
                    Some(v) => cur = v,
                    None => return "built-in default".into(),
                },
                _ => return "built-in default".into(),
            }
        }
        origin_of(cur)
    }

    fn range_error(&self, key: &str, value: impl std::fmt::Display, why: &str) -> anyhow::Error {
        anyhow!(
            "configuration key `{key}` = {value} from {}: {why}",
            self.origin(key)
        )
    }

    fn validate(&self) -> Result<()> {
        let s = &self.settings;
        let one_of = |key: &str, v: &str, allowed: &[&str]| -> Result<()> {
            if allowed.contains(&v) {
                Ok(())
            } else {
                Err(self.range_error(
                    key,
                    format!("{v:?}"),
                    &format!("must be one of {}", allowed.join(", ")),
                ))
            }
        };
        one_of(
            "sync.policy",
            &s.sync.policy,
            &["approximate", "slop", "exact", "latest"],
        )?;
        one_of("sync.reference", &s.sync.reference, &["lidar", "camera"])?;
        one_of(
            "input.image_preference",
            &s.input.image_preference,
            &["raw", "compressed"],
        )?;
        one_of("models.variant", &s.models.variant, &["fp32", "int8", "auto"])?;
        one_of(
            "models.backend",
            &s.models.backend,
            &["tract", "onnxruntime", "auto"],
        )?;
        one_of("log.format", &s.log.format, &["human", "json"])?;
        one_of(
            "engine.stages",
            &s.engine.stages,
            &["auto", "pipelined", "inline"],
        )?;
        if s.sync.queue_size == 0 || s.sync.queue_size > 1000 {
            return Err(self.range_error("sync.queue_size", s.sync.queue_size, "must be in 1..=1000"));
        }
        for (key, v) in [
            ("sync.max_interval", s.sync.max_interval),
            ("sync.slop", s.sync.slop),
            ("sync.max_age", s.sync.max_age),
            ("sync.map_text_ttl", s.sync.map_text_ttl),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(self.range_error(key, v, "must be a finite number of seconds ≥ 0"));
            }
        }
        if !(s.engine.deadline_ms.is_finite()
            && s.engine.deadline_ms > 0.0
            && s.engine.deadline_ms <= 60_000.0)
        {
            return Err(self.range_error(
                "engine.deadline_ms",
                s.engine.deadline_ms,
                "must be in (0, 60000] ms",
            ));
        }
        if s.engine.ring_capacity == 0 || s.engine.ring_capacity > 4096 {
            return Err(self.range_error(
                "engine.ring_capacity",
                s.engine.ring_capacity,
                "must be in 1..=4096",
            ));
        }
        if s.engine.threads > 256 {
            return Err(self.range_error(
                "engine.threads",
                s.engine.threads,
                "must be ≤ 256 (0 = all cores)",
            ));
        }
        if !(s.engine.stale_factor.is_finite() && s.engine.stale_factor >= 1.0) {
            return Err(self.range_error("engine.stale_factor", s.engine.stale_factor, "must be ≥ 1"));
        }
        if s.input.max_message_bytes < 1024 || s.input.max_message_bytes > 1_000_000_000 {
            return Err(self.range_error(
                "input.max_message_bytes",
                s.input.max_message_bytes,
                "must be in 1024..=1000000000 (roscpp's limit)",
            ));
        }
        if !(s.input.max_rate_hz.is_finite() && s.input.max_rate_hz >= 0.0) {
            return Err(self.range_error(
                "input.max_rate_hz",
                s.input.max_rate_hz,
                "must be ≥ 0 (0 = no limit)",
            ));
        }
        if s.scene.queries.len() > 64 {
            return Err(self.range_error("scene.queries", s.scene.queries.len(), "at most 64 queries"));
        }
        Ok(())
    }

    /// Every effective value with its origin, in key order.
    pub fn describe(&self) -> BTreeMap<String, (String, String)> {
        let mut out = BTreeMap::new();
        let Ok(v) = serde_json::to_value(&self.settings) else {
            return out;
        };
        let mut keys = Vec::new();
        flatten_json("", &v, &mut keys);
        for key in keys {
            let mut cur = &v;
            for part in key.split('.') {
                cur = &cur[part];
            }
            out.insert(key.clone(), (cur.to_string(), self.origin(&key)));
        }
        out
    }
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
