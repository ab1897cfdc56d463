//! `sensorium eval`: a labelled real dataset (KITTI object, Argoverse 2) through the replay's perception,
//! scored per class: objects (recall, precision) and grid cells (recall).

use crate::cli::EvalArgs;
use crate::cmd::replay::{model_threads, overrides, render_every, resolve, tag, Classify, Failure};
use crate::settings;
use anyhow::{anyhow, Context, Result};
use sensorium_datasets::{Dataset, Options};
use sensorium_fusion::metrics::{Metrics, MetricsAccumulator};
use sensorium_pipeline::models::Models;
use sensorium_pipeline::perception::{FrameSet, Perception};
use sensorium_pipeline::sinks::ReplaySinks;
use sensorium_pipeline::summary::Summary;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Instant;
use tracing::warn;

/// Positions farther than this from the scene origin (m) are not scored (as in replay).
const RADIUS_M: f32 = 40.0;

pub fn run(a: EvalArgs) -> Result<i32> {
    match eval(&a) {
        Ok(()) => Ok(0),
        Err(e) => {
            eprintln!("error: {e:#}");
            Ok(Failure::of(&e).code())
        }
    }
}

fn eval(a: &EvalArgs) -> Result<()> {
    let loaded =
        settings::load(a.pipeline.config.as_deref(), &overrides(&a.pipeline)).class(Failure::Config)?;
    let s = &loaded.settings;
    if let Some(h) = a.lidar_height {
        if !h.is_finite() {
            return Err(tag(anyhow!("--lidar-height {h}: not a number"), Failure::Config));
        }
    }
    let opts = Options {
        ego_frame: s.scene.frame_id.clone(),
        min_points: a.min_points,
        lidar_height: a.lidar_height,
    };
    let mut ds = sensorium_datasets::open(&a.dataset, &a.path, &opts).class(Failure::Recording)?;
    let mut names: Vec<String> = ds.frames().to_vec();
    if let Some(n) = a.max_frames {
        names.truncate(n);
    }
    let models_dir = resolve(&s.models.dir);
    let selection = settings::model_selection(s, model_threads(&loaded, false));
    let models = Models::load(&models_dir, &selection)
        .with_context(|| {
            format!(
                "models {} (from {})",
                models_dir.display(),
                loaded.origin("models.dir")
            )
        })
        .class(Failure::Models)?;
    let choices = models.choices.clone();

    let mut perception: Option<Perception> = None;
    let mut models = Some(models);
    let mut current: Option<Arc<sensorium_geometry::VehicleCalib>> = None;
    let mut metrics: Option<MetricsAccumulator> = None;
    let mut sinks: Option<ReplaySinks> = None;
    let mut summary = Summary::new(&a.path);
    let render_every = render_every(&a.render, names.len() as u64)?;
    let mut errors: Vec<String> = Vec::new();
    let mut per_frame: Vec<Value> = Vec::new();
    if a.trace.is_some() {
        sensorium_pipeline::trace::enable();
    }
    let t0 = Instant::now();
    for (seq, name) in names.iter().enumerate() {
        let t_load = Instant::now();
        let loaded = ds.load(name);
        sensorium_pipeline::trace::record("load", "decode", t_load);
        let frame = match loaded {
            Ok(f) => f,
            Err(e) => {
                warn!("{e}");
                errors.push(e.to_string());
                continue;
            }
        };
        let p = match perception.as_mut() {
            Some(p) => {
                if !current.as_ref().is_some_and(|c| Arc::ptr_eq(c, &frame.calib)) {
                    if let Err(e) = p.set_calibration((*frame.calib).clone()) {
                        errors.push(format!("frame {name}: calibration: {e:#}"));
                        continue;
                    }
                }
                p
            }
            None => {
                let Some(m) = models.take() else { continue };
                let p = Perception::new(m, (*frame.calib).clone(), &s.scene.queries, &s.scene.frame_id)
                    .class(Failure::Models)?;
                let grid = *p.grid();
                let classes = p.models().classes().to_vec();
                metrics = Some(MetricsAccumulator::new(grid, RADIUS_M, classes.clone()));
                sinks = Some(
                    ReplaySinks::create(a.out.as_deref(), render_every, None, grid, classes)
                        .class(Failure::Output)?,
                );
                perception.insert(p)
            }
        };
        current = Some(Arc::clone(&frame.calib));
        if let Some(sk) = &sinks {
            p.lidar.keep_points = sk.wants_points();
        }
        let set = FrameSet {
            seq: seq as u64,
            camera: frame.camera,
            lidar: Some(frame.lidar),
            map_text: None,
        };
        let t = Instant::now();
        let (scene, dbg) = match p.process(&set, frame.stamp) {
            Ok(x) => x,
            Err(e) => {
                errors.push(format!("frame {name}: {e:#}"));
                continue;
            }
        };
        let ms = t.elapsed().as_secs_f64() * 1e3;
        if let Some(m) = metrics.as_mut() {
            m.set_region(frame.region);
            m.add_frame(&frame.truth, &scene.bev.occupancy, &scene.bev.class);
            m.add_objects(&frame.truth, &scene.objects);
        }
        let truth: Vec<Value> = frame
            .truth
            .boxes
            .iter()
            .map(|b| {
                json!({
                    "class": b.class, "x": b.center[0], "y": b.center[1], "z": b.center[2], "yaw": b.yaw,
                    "length": b.size[0], "width": b.size[1], "height": b.size[2], "ignore": b.ignore,
                })
            })
            .collect();
        per_frame.push(json!({
            "name": name,
            "labels": frame.truth.boxes.iter().filter(|b| !b.ignore).count(),
            "truth": truth,
            "objects": scene.objects.len(),
            "painted_points": dbg.painted_points,
            "processing_ms": ms,
        }));
        if let Some(sk) = sinks.as_mut() {
            sk.write(&set, &scene, &dbg, &mut summary)
                .class(Failure::Output)?;
        }
        if !a.quiet {
            eprint!("\r{}/{} frames", seq + 1, names.len());
        }
    }
    if !a.quiet && !names.is_empty() {
        eprintln!();
    }
    if let Some(sk) = sinks.as_mut() {
        sk.finish(&mut summary).class(Failure::Output)?;
    }
    let scored = metrics.as_ref().map(|m| m.finish());
    let Some(m) = scored.filter(|m| m.frames > 0) else {
        let first = errors.first().cloned().unwrap_or_else(|| "no frames".into());
        return Err(tag(
            anyhow!(
                "{}: no frame could be evaluated ({} errors; first: {first})",
                a.path.display(),
                errors.len()
            ),
            Failure::Recording,
        ));
    };
    let report = json!({
        "dataset": ds.kind(),
        "path": a.path.display().to_string(),
        "frames": m.frames,
        "frames_failed": errors.len(),
        "errors": errors,
        "models": choices,
        "scene_frame": s.scene.frame_id,
        "radius_m": RADIUS_M,
        "min_points": a.min_points,
        "wall_s": t0.elapsed().as_secs_f64(),
        "metrics": metrics_json(&m),
        "per_frame": per_frame,
    });
    print_report(ds.as_ref(), &m, &report);
    crate::cmd::replay::write_trace(a.trace.as_deref())?;
    if let Some(path) = &a.json {
        let text = serde_json::to_string_pretty(&report)?;
        std::fs::write(path, text + "\n")
            .with_context(|| format!("writing {}", path.display()))
            .class(Failure::Output)?;
    }
    Ok(())
}

/// The `metrics` object of the JSON report: per class, objects and grid.
fn metrics_json(m: &Metrics) -> Value {
    let objects: serde_json::Map<String, Value> = m
        .object_classes
        .iter()
        .map(|(c, o)| {
            (
                c.clone(),
                json!({
                    "recall": o.recall,
                    "precision": o.precision,
                    "truth": o.truth,
                    "predicted": o.predicted,
                    "matched": o.matched,
                }),
            )
        })
        .collect();
    let grid: serde_json::Map<String, Value> = m
        .object_classes
        .keys()
        .map(|c| {
            let n = m.objects.get(c).copied().unwrap_or(0);
            let recall = (n > 0).then(|| m.recall.get(c).copied()).flatten();
            (c.clone(), json!({ "recall": recall, "objects": n }))
        })
        .collect();
    json!({
        "frames": m.frames,
        "objects": objects,
        "grid": grid,
        "object_recall": m.object_recall,
        "object_precision": m.object_precision,
    })
}

fn print_report(ds: &dyn Dataset, m: &Metrics, report: &Value) {
    let f = |v: Option<f64>| v.map_or("-".to_string(), |x| format!("{x:.3}"));
    println!(
        "{} {}: {} frames scored, {} failed",
        ds.kind(),
        report["path"].as_str().unwrap_or(""),
        m.frames,
        report["frames_failed"]
    );
    println!(
        "  {:<12} {:>7} {:>8} {:>10} {:>8} {:>12}",
        "class", "labels", "recall", "precision", "found", "grid recall"
    );
    for (c, o) in &m.object_classes {
        let grid = (m.objects.get(c).copied().unwrap_or(0) > 0)
            .then(|| m.recall.get(c).copied())
            .flatten();
        println!(
            "  {:<12} {:>7} {:>8} {:>10} {:>8} {:>12}",
            c,
            o.truth,
            f(o.recall),
            f(o.precision),
            o.predicted,
            f(grid)
        );
    }
    println!(
        "  all objects: recall {}, precision {}",
        f(m.object_recall),
        f(m.object_precision)
    );
}
