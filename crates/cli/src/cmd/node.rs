//! `sensorium node`: the ROS1 node on the shared pipeline (crates/ros).

use crate::cli::NodeArgs;
use crate::cmd::replay::{ingest_capacity, model_threads, overrides, pipelined, resolve, topic_map};
use crate::settings;
use anyhow::{Context, Result};
use sensorium_engine::sync::PolicyConfig;
use sensorium_geometry::VehicleCalib;
use sensorium_pipeline::runtime::Stages;
use sensorium_ros::{run_node, NodeSettings};

pub fn run(a: NodeArgs) -> Result<i32> {
    let loaded = settings::load(a.pipeline.config.as_deref(), &overrides(&a.pipeline))?;
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
    let report = run_node(n, &a.name)?;
    print!("{}", report.key_values());
    if let Some(why) = &report.master_restarted {
        eprintln!("sensorium node: {why}");
        return Ok(sensorium_ros::EXIT_MASTER_RESTARTED);
    }
    Ok(0)
}
