//! `sensorium node`: the ROS 1 or ROS 2 node on the shared pipeline (crates/ros).

use crate::cli::NodeArgs;
use crate::cmd::replay::{ingest_capacity, model_threads, overrides, pipelined, resolve, topic_map};
use crate::settings;
use crate::settings::Override;
use anyhow::{Context, Result};
use sensorium_engine::sync::PolicyConfig;
use sensorium_geometry::VehicleCalib;
use sensorium_pipeline::runtime::Stages;
use sensorium_ros::ros2::Param;
use sensorium_ros::{run_node, run_node_ros2, NodeSettings, Ros2Settings};

pub fn run(a: NodeArgs) -> Result<i32> {
    let ros2_args = Ros2Args::parse(&a.ros_args)?;
    let mut flags = overrides(&a.pipeline);
    if a.ros2 {
        flags.push(("ros.version".into(), "2".into(), "flag --ros2".into()));
    }
    flags.extend(ros2_args.params.iter().cloned());
    let loaded = settings::load(a.pipeline.config.as_deref(), &flags)?;
    let s = &loaded.settings;
    let mut n = NodeSettings::new(resolve(&s.models.dir));
    n.topics = topic_map(&loaded);
    n.sync = PolicyConfig {
        policy: s.sync.policy.parse()?,
        streams: 2,
        queue: s.sync.queue_size as usize,
        max_interval: (s.sync.max_interval > 0.0).then_some(s.sync.max_interval),
        slop: s.sync.slop,
        trigger: usize::from(s.sync.reference == "lidar"),
        max_age: vec![s.sync.max_age],
        ..Default::default()
    };
    n.stale_factor = s.engine.stale_factor;
    n.max_message_bytes = s.input.max_message_bytes as usize;
    n.max_rate_hz = s.input.max_rate_hz;
    n.map_text_ttl = s.sync.map_text_ttl;
    n.deadline_ms = s.engine.deadline_ms;
    n.ingest_capacity = ingest_capacity(&loaded);
    let staged = pipelined(&loaded, false);
    n.stages = if staged { Stages::Pipelined } else { Stages::Inline };
    n.threads = model_threads(&loaded, staged);
    let selection = crate::settings::model_selection(s, n.threads);
    n.models_variant = selection.variant;
    n.models_backend = selection.backend;
    n.models_cache_dir = selection.cache_dir;
    n.queries = s.scene.queries.clone();
    n.query_maps = s.scene.query_maps;
    n.frame_id = s.scene.frame_id.clone();
    if !s.calibration.dir.as_os_str().is_empty() {
        let dir = resolve(&s.calibration.dir);
        n.calibration = Some(VehicleCalib::load(&dir).with_context(|| {
            format!(
                "calibration {} (from {})",
                dir.display(),
                loaded.origin("calibration.dir")
            )
        })?);
    }
    let report = if s.ros.version == 2 {
        for (from, to) in &ros2_args.remaps {
            n.topics.remap(from, to);
        }
        n.ros2 = ros2_settings(&loaded);
        let base = ros2_args.node.as_deref().unwrap_or(&a.name);
        let name = match &ros2_args.namespace {
            Some(ns) => format!("{}/{}", ns.trim_end_matches('/'), base.trim_start_matches('/')),
            None => base.to_string(),
        };
        run_node_ros2(n, &name)?
    } else {
        run_node(n, &a.name)?
    };
    print!("{}", report.key_values());
    if let Some(why) = &report.master_restarted {
        eprintln!("sensorium node: {why}");
        return Ok(sensorium_ros::EXIT_MASTER_RESTARTED);
    }
    Ok(0)
}

/// The ROS 2 transport's settings: `[ros]`, and every configuration key declared as a node parameter.
fn ros2_settings(loaded: &settings::Loaded) -> Ros2Settings {
    let r = &loaded.settings.ros;
    let mut out = Ros2Settings {
        sensor_reliable: r.sensor_reliability == "reliable",
        sensor_depth: r.sensor_depth as i32,
        tf_static_transient_local: r.tf_static_durability == "transient_local",
        output_reliable: r.output_reliability == "reliable",
        socket_receive_buffer_bytes: r.socket_receive_buffer_bytes as usize,
        socket_send_buffer_bytes: r.socket_send_buffer_bytes as usize,
        ..Ros2Settings::default()
    };
    if r.domain_id >= 0 {
        out.domain_id = r.domain_id as u16;
    }
    out.parameters = loaded
        .describe()
        .into_iter()
        .filter_map(|(key, (value, _))| Some((key, param(&serde_json::from_str(&value).ok()?)?)))
        .collect();
    out
}

fn param(v: &serde_json::Value) -> Option<Param> {
    use serde_json::Value as J;
    Some(match v {
        J::Bool(b) => Param::Bool(*b),
        J::Number(n) if n.is_i64() || n.is_u64() => Param::Int(n.as_i64()?),
        J::Number(n) => Param::Double(n.as_f64()?),
        J::String(s) => Param::Str(s.clone()),
        J::Array(a) => Param::StrArray(
            a.iter()
                .map(|x| x.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()?,
        ),
        _ => return None,
    })
}

/// The ROS 2 command-line arguments after `--ros-args` (what `ros2 launch` and `ros2 run` pass).
#[derive(Debug, Default, PartialEq)]
pub struct Ros2Args {
    /// `-r __node:=NAME`
    pub node: Option<String>,
    /// `-r __ns:=/NS`
    pub namespace: Option<String>,
    /// `-r FROM:=TO` topic remappings.
    pub remaps: Vec<(String, String)>,
    /// `-p KEY:=VALUE` and `--params-file FILE`: configuration overrides (keys are configuration keys,
    /// e.g. `engine.deadline_ms`).
    pub params: Vec<Override>,
}

impl Ros2Args {
    /// Parses what follows `--ros-args` (up to a `--`); arguments before it (ROS 1 remaps) are ignored.
    pub fn parse(args: &[String]) -> Result<Ros2Args> {
        let mut out = Ros2Args::default();
        let Some(start) = args.iter().position(|a| a == "--ros-args") else {
            return Ok(out);
        };
        let mut it = args[start + 1..].iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "--" => break,
                "--ros-args" => {}
                "-r" | "--remap" => {
                    let r = it.next().context("--ros-args -r needs FROM:=TO")?;
                    let (from, to) = r
                        .split_once(":=")
                        .with_context(|| format!("--ros-args -r {r}: expected FROM:=TO"))?;
                    match from {
                        "__node" | "__name" => out.node = Some(to.to_string()),
                        "__ns" => out.namespace = Some(to.to_string()),
                        _ => out.remaps.push((from.to_string(), to.to_string())),
                    }
                }
                "-p" | "--param" => {
                    let p = it.next().context("--ros-args -p needs KEY:=VALUE")?;
                    let (k, v) = p
                        .split_once(":=")
                        .with_context(|| format!("--ros-args -p {p}: expected KEY:=VALUE"))?;
                    let value: serde_yaml::Value =
                        serde_yaml::from_str(v).unwrap_or_else(|_| serde_yaml::Value::String(v.to_string()));
                    out.params.push((
                        k.to_string(),
                        override_text(&value)?,
                        format!("--ros-args -p {k}"),
                    ));
                }
                "--params-file" => {
                    let f = it.next().context("--ros-args --params-file needs FILE")?;
                    out.params.extend(params_file(std::path::Path::new(f))?);
                }
                "--log-level" | "--enclave" => {
                    it.next();
                }
                other if other.starts_with("--") => {}
                other => anyhow::bail!("--ros-args: unexpected argument {other:?}"),
            }
        }
        Ok(out)
    }
}

fn override_text(v: &serde_yaml::Value) -> Result<String> {
    let j: serde_json::Value = serde_yaml::from_value(v.clone()).context("parameter value")?;
    Ok(j.to_string())
}

/// A ROS 2 parameters file: `NODE:` (or `/**`) → `ros__parameters:` → nested keys, flattened to
/// configuration keys (`engine: {deadline_ms: 80}` → `engine.deadline_ms`).
fn params_file(path: &std::path::Path) -> Result<Vec<Override>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading parameters file {}", path.display()))?;
    let doc: serde_yaml::Value =
        serde_yaml::from_str(&text).with_context(|| format!("parameters file {}", path.display()))?;
    let mut out = Vec::new();
    let Some(nodes) = doc.as_mapping() else {
        return Ok(out);
    };
    for (_node, body) in nodes {
        let Some(p) = body.get("ros__parameters") else {
            continue;
        };
        let mut leaves = Vec::new();
        flatten_yaml("", p, &mut leaves);
        for (k, v) in leaves {
            out.push((
                k.clone(),
                override_text(&v)?,
                format!("parameters file {} ({k})", path.display()),
            ));
        }
    }
    Ok(out)
}

fn flatten_yaml(prefix: &str, v: &serde_yaml::Value, out: &mut Vec<(String, serde_yaml::Value)>) {
    match v.as_mapping() {
        Some(m) => {
            for (k, x) in m {
                let Some(k) = k.as_str() else { continue };
                let key = if prefix.is_empty() {
                    k.to_string()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten_yaml(&key, x, out);
            }
        }
        None => out.push((prefix.to_string(), v.clone())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn ros2_arguments_give_name_namespace_remaps_and_overrides() {
        let dir = tempfile::tempdir().expect("tmp");
        let f = dir.path().join("p.yaml");
        std::fs::write(
            &f,
            "/**:\n  ros__parameters:\n    engine:\n      deadline_ms: 80.0\n    scene:\n      queries: [\"a b\", c]\n",
        )
        .expect("write");
        let a = Ros2Args::parse(&args(&format!(
            "__name:=ignored --ros-args -r __node:=perc -r __ns:=/car1 -r /lidar/points:=/velodyne_points \
             -p scene.frame_id:=odom -p engine.threads:=2 --params-file {}",
            f.display()
        )))
        .expect("parse");
        assert_eq!(a.node.as_deref(), Some("perc"));
        assert_eq!(a.namespace.as_deref(), Some("/car1"));
        assert_eq!(
            a.remaps,
            vec![("/lidar/points".to_string(), "/velodyne_points".to_string())]
        );
        let kv: Vec<(&str, &str)> = a
            .params
            .iter()
            .map(|(k, v, _)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            kv,
            vec![
                ("scene.frame_id", "\"odom\""),
                ("engine.threads", "2"),
                ("engine.deadline_ms", "80.0"),
                ("scene.queries", "[\"a b\",\"c\"]"),
            ]
        );
        // they load as configuration, with their origin
        let loaded = settings::load(None, &a.params).expect("load");
        assert_eq!(loaded.settings.scene.frame_id, "odom");
        assert_eq!(loaded.settings.engine.deadline_ms, 80.0);
        assert_eq!(loaded.settings.scene.queries, vec!["a b", "c"]);
        assert!(loaded.origin("engine.deadline_ms").contains("p.yaml"));
        assert!(Ros2Args::parse(&args("--ros-args -p nothing")).is_err());
        assert!(Ros2Args::parse(&args("--ros-args stray")).is_err());
        assert_eq!(
            Ros2Args::parse(&args("__name:=x a:=b")).expect("ros1"),
            Ros2Args::default()
        );
    }

    #[test]
    fn every_configuration_key_becomes_a_typed_parameter() {
        let loaded = settings::load(None, &[]).expect("defaults");
        let r = ros2_settings(&loaded);
        let get = |k: &str| r.parameters.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        assert_eq!(get("engine.deadline_ms"), Some(Param::Double(100.0)));
        assert_eq!(get("sync.queue_size"), Some(Param::Int(10)));
        assert_eq!(get("scene.query_maps"), Some(Param::Bool(false)));
        assert_eq!(get("input.lidar_topic"), Some(Param::Str("/lidar/points".into())));
        assert!(matches!(get("scene.queries"), Some(Param::StrArray(q)) if q.len() == 6));
        assert!(r.output_reliable && !r.sensor_reliable && r.tf_static_transient_local);
    }
}
