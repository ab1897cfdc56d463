//! What a replay takes from the loaded configuration: flag overrides, resolved paths, topics, the thread
//! budget, and the perception (models and calibration); the node and other commands share these.

use super::failure::{tag, Classify, Failure};
use crate::cli::PipelineOpts;
use crate::settings::{Loaded, Override};
use anyhow::{bail, Context, Result};
use sensorium_geometry::VehicleCalib;
use sensorium_pipeline::models::Models;
use sensorium_pipeline::perception::Perception;
use sensorium_pipeline::streams::TopicMap;
use std::path::{Path, PathBuf};

/// The bundled sample recording, found at run time (see [`crate::paths`]).
pub fn sample_bag() -> PathBuf {
    crate::paths::bundled("tests/fixtures/sample.bag")
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

/// Resolves a configured path: absolute, relative to the working directory, else to the data folder
/// (the checkout or the folder the binary was installed with, [`crate::paths`]).
pub fn resolve(p: &Path) -> PathBuf {
    if p.is_absolute() || p.exists() {
        p.to_path_buf()
    } else {
        match crate::paths::data_root().map(|r| r.join(p)) {
            Some(r) if r.exists() => r,
            _ => p.to_path_buf(),
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

/// Threads per model: one after another, each encoder gets the whole thread budget; pipelined, the three
/// stages share it.
pub fn model_threads(l: &Loaded, pipelined: bool) -> usize {
    if pipelined {
        sensorium_engine::pipeline::ThreadBudget {
            cores: threads(l),
            max_stage_threads: 3,
        }
        .compute_threads_per_heavy_stage(3)
    } else {
        threads(l)
    }
}

/// The ingest queue between a source and the runtime (`engine.ring_capacity` × 4: every stream's share).
pub fn ingest_capacity(l: &Loaded) -> usize {
    (l.settings.engine.ring_capacity as usize) * 4
}

pub fn load_perception(
    l: &Loaded,
    bag: Option<&Path>,
    topics: &TopicMap,
    pipelined: bool,
) -> Result<Perception> {
    let s = &l.settings;
    let calib = if s.calibration.dir.as_os_str().is_empty() {
        let bag = bag
            .context("no calibration configured (calibration.dir / --calib) and no recording to read it from")
            .class(Failure::Config)?;
        sensorium_pipeline::calibration::from_bag(bag, topics, &s.scene.frame_id).map_err(|e| {
            let class = match Failure::of_pipeline(&e) {
                Failure::Recording => Failure::Recording,
                _ => Failure::Calibration,
            };
            tag(e, class)
        })?
    } else {
        let dir = resolve(&s.calibration.dir);
        VehicleCalib::load(&dir)
            .with_context(|| {
                format!(
                    "calibration {} (from {})",
                    dir.display(),
                    l.origin("calibration.dir")
                )
            })
            .class(Failure::Calibration)?
    };
    let models_dir = resolve(&s.models.dir);
    let selection = crate::settings::model_selection(s, model_threads(l, pipelined));
    let models = Models::load(&models_dir, &selection)
        .with_context(|| {
            format!(
                "models {} (from {})",
                models_dir.display(),
                l.origin("models.dir")
            )
        })
        .class(Failure::Models)?;
    Perception::new(models, calib, &s.scene.queries, &s.scene.frame_id)
        .map(|p| p.with_query_maps(s.scene.query_maps))
        .class(Failure::Models)
}

pub(super) fn apply_remaps(topics: &mut TopicMap, remaps: &[String]) -> Result<()> {
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
