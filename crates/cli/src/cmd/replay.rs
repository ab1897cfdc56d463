//! `sensorium replay`.

use crate::cli::{PipelineOpts, ReplayArgs};
use crate::settings::{self, Loaded, Override};
use anyhow::{bail, Context, Result};
use sensorium_core::testdata::repo_root;
use sensorium_engine::sync::PolicyConfig;
use sensorium_geometry::VehicleCalib;
use sensorium_pipeline::models::Models;
use sensorium_pipeline::perception::Perception;
use sensorium_pipeline::replay::{self, ReplayOptions};
use sensorium_pipeline::streams::TopicMap;
use std::path::{Path, PathBuf};
use tracing::info;

/// The bundled sample recording.
pub fn sample_bag() -> PathBuf {
    repo_root().join("tests/fixtures/sample.bag")
}

/// Flag values as configuration overrides (highest layer), each naming its flag.
pub fn overrides(p: &PipelineOpts) -> Vec<Override> {
    let mut o = Vec::new();
    let mut add = |key: &str, val: Option<String>, flag: &str| {
        if let Some(v) = val {
            o.push((key.to_string(), v, format!("flag {flag}")));
        }
    };
    let quote = |s: &str| format!("{s:?}");
    add(
        "models.dir",
        p.models.as_ref().map(|d| quote(&d.display().to_string())),
        "--models",
    );
    add(
        "calibration.dir",
        p.calib.as_ref().map(|d| quote(&d.display().to_string())),
        "--calib",
    );
    add("models.variant", p.variant.as_deref().map(quote), "--variant");
    add("models.backend", p.backend.as_deref().map(quote), "--backend");
    add("engine.threads", p.threads.map(|t| t.to_string()), "--threads");
    add(
        "engine.deadline_ms",
        p.deadline_ms.map(|t| format!("{t:?}")),
        "--deadline-ms",
    );
    add("sync.policy", p.policy.as_deref().map(quote), "--policy");
    o
}

/// Resolves a configured path: absolute, relative to the working directory, else to the repository.
pub fn resolve(p: &Path) -> PathBuf {
    if p.is_absolute() || p.exists() {
        p.to_path_buf()
    } else {
        let r = repo_root().join(p);
        if r.exists() {
            r
        } else {
            p.to_path_buf()
        }
    }
}

pub fn topic_map(l: &Loaded) -> TopicMap {
    let i = &l.settings.input;
    TopicMap {
        camera: i.camera_topic.clone(),
        camera_compressed: i.camera_compressed_topic.clone(),
        prefer_compressed: i.image_preference == "compressed",
        camera_info: i.camera_info_topic.clone(),
        lidar: i.lidar_topic.clone(),
        map_text: i.map_text_topic.clone(),
        tf_static: i.tf_static_topic.clone(),
        ground_truth: i.ground_truth_topic.clone(),
    }
}

pub fn threads(l: &Loaded) -> usize {
    match l.settings.engine.threads {
        0 => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        n => n as usize,
    }
}

/// Does replay run the perception stages on their own threads (`engine.stages`)?
pub fn pipelined(l: &Loaded, fast: bool) -> bool {
    match l.settings.engine.stages.as_str() {
        "pipelined" => true,
        "inline" => false,
        _ => fast || threads(l) >= 6,
    }
}

pub fn load_perception(
    l: &Loaded,
    bag: Option<&Path>,
    topics: &TopicMap,
    pipelined: bool,
) -> Result<Perception> {
    let s = &l.settings;
    let calib = if s.calibration.dir.as_os_str().is_empty() {
        let bag = bag.context(
            "no calibration configured (calibration.dir / --calib) and no recording to read it from",
        )?;
        sensorium_pipeline::calibration::from_bag(bag, topics, &s.scene.frame_id)?
    } else {
        let dir = resolve(&s.calibration.dir);
        VehicleCalib::load(&dir).with_context(|| {
            format!(
                "calibration {} (from {})",
                dir.display(),
                l.origin("calibration.dir")
            )
        })?
    };
    let models_dir = resolve(&s.models.dir);
    // one after another, each encoder gets the whole thread budget; pipelined, the three stages share it
    let model_threads = if pipelined {
        sensorium_engine::pipeline::ThreadBudget {
            cores: threads(l),
            max_stage_threads: 3,
        }
        .compute_threads_per_heavy_stage(3)
    } else {
        threads(l)
    };
    let selection = crate::settings::model_selection(s, model_threads);
    let models = Models::load(&models_dir, &selection).with_context(|| {
        format!(
            "models {} (from {})",
            models_dir.display(),
            l.origin("models.dir")
        )
    })?;
    Perception::new(models, calib, &s.scene.queries, &s.scene.frame_id)
        .map(|p| p.with_query_maps(s.scene.query_maps))
}

fn apply_remaps(topics: &mut TopicMap, remaps: &[String]) -> Result<()> {
    for r in remaps {
        let Some((from, to)) = r.split_once(":=") else {
            bail!("--topics {r:?}: expected FROM:=TO")
        };
        let mut hit = false;
        for slot in [
            &mut topics.camera,
            &mut topics.camera_compressed,
            &mut topics.camera_info,
            &mut topics.lidar,
            &mut topics.map_text,
            &mut topics.tf_static,
            &mut topics.ground_truth,
        ] {
            if slot == to {
                *slot = from.to_string();
                hit = true;
            }
        }
        if !hit {
            bail!("--topics {r:?}: {to} is none of the pipeline's input topics");
        }
    }
    Ok(())
}

pub fn run(a: ReplayArgs) -> Result<i32> {
    let loaded = settings::load(a.pipeline.config.as_deref(), &overrides(&a.pipeline))?;
    let bag = match &a.bag {
        Some(b) => b.clone(),
        None => sample_bag(),
    };
    if !bag.is_file() {
        bail!("recording {} not found", bag.display());
    }
    if let Some(r) = a.rate {
        if !(r.is_finite() && r > 0.0) {
            bail!("--rate {r}: must be a positive number");
        }
    }
    let mut topics = topic_map(&loaded);
    apply_remaps(&mut topics, &a.topics)?;
    let s = &loaded.settings;
    let t_load = std::time::Instant::now();
    let pipelined = pipelined(&loaded, a.fast);
    let perception = load_perception(&loaded, Some(&bag), &topics, pipelined)?;
    let models_used = perception.models().choices.clone();
    info!(
        ms = t_load.elapsed().as_millis() as u64,
        "models and calibration loaded"
    );
    let lidar_msgs = sensorium_bag::BagReader::open(&bag)
        .map(|r| r.topic_counts().get(&topics.lidar).copied().unwrap_or(0))
        .unwrap_or(0);
    let render_every = match a.render.as_str() {
        "none" => 0,
        "all" => 1,
        n => {
            let n: u64 = n
                .parse()
                .with_context(|| format!("--render {n:?}: expected all, none or a count"))?;
            lidar_msgs.checked_div(n).map_or(0, |k| k.max(1))
        }
    };
    let opts = ReplayOptions {
        bag: bag.clone(),
        fast: a.fast,
        rate: a.rate.unwrap_or(1.0),
        start: a.start,
        duration: a.duration,
        topics,
        sync: PolicyConfig {
            policy: s.sync.policy.parse()?,
            streams: 2,
            queue: s.sync.queue_size as usize,
            max_interval: (s.sync.max_interval > 0.0).then_some(s.sync.max_interval),
            slop: s.sync.slop,
            // trigger = the reference stream (0 camera, 1 LiDAR); camera may be older than the trigger
            trigger: usize::from(s.sync.reference == "lidar"),
            max_age: vec![s.sync.max_age],
            ..Default::default()
        },
        deadline_ms: s.engine.deadline_ms,
        stale_factor: s.engine.stale_factor,
        map_text_ttl: s.sync.map_text_ttl,
        out_dir: a.out.clone(),
        render_every,
        max_frames: a.max_frames,
        ingest_capacity: (s.engine.ring_capacity as usize) * 4,
        record: a.record.clone(),
        progress: !a.quiet && std::io::IsTerminal::is_terminal(&std::io::stderr()),
        pipelined,
    };
    let mut summary = replay::run(&opts, perception)?;
    summary.models = models_used;
    summary.finish();
    let json = serde_json::to_string_pretty(&summary)?;
    if let Some(p) = &a.summary_json {
        if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(p, &json).with_context(|| format!("writing {}", p.display()))?;
    }
    print_summary(&summary);
    if let Some(r) = &a.record {
        println!("  recorded: {}", r.display());
    }
    Ok(0)
}

fn print_summary(s: &sensorium_pipeline::summary::Summary) {
    println!(
        "replayed {} in {:.1} s: {} frame sets fused",
        s.bag, s.wall_s, s.framesets_fused
    );
    for (k, v) in &s.modalities {
        println!("  modalities {k}: {v}");
    }
    if !s.dropped.is_empty() {
        println!(
            "  dropped: {}",
            s.dropped
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    println!("  {:<16} {:>8} {:>8} {:>8}", "stage (ms)", "p50", "p99", "max");
    for (k, p) in &s.latency_ms {
        println!("  {k:<16} {:>8.2} {:>8.2} {:>8.2}", p.p50, p.p99, p.max);
    }
    let e = &s.end_to_end_ms;
    println!(
        "  {:<16} {:>8.2} {:>8.2} {:>8.2}",
        "end_to_end", e.p50, e.p99, e.max
    );
    if let Some(m) = &s.metrics {
        println!(
            "  metrics over {} frames: occupancy IoU {:.3}",
            m.frames, m.occupancy_iou
        );
        for (k, v) in &m.recall {
            println!(
                "    recall {k}: {v:.3} ({} objects)",
                m.objects.get(k).copied().unwrap_or(0)
            );
        }
        if let Some(q) = m.query_top1 {
            println!("    query top-1: {q:.3}");
        }
    }
    for n in &s.notes {
        println!("  note: {n}");
    }
    if !s.errors.is_empty() {
        println!("  {} errors (first: {})", s.errors.len(), s.errors[0]);
    }
}
