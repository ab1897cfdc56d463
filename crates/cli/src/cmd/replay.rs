//! `sensorium replay`: one recording, or a shard of many with `--recordings`.

use crate::cli::{ReplayArgs, Shard};
use crate::cmd::recordings;
use crate::settings;
use anyhow::{anyhow, Context, Result};
use sensorium_engine::sync::PolicyConfig;
use sensorium_pipeline::replay::{self, ReplayOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use tracing::info;

mod failure;
mod setup;

pub use failure::Failure;
pub(crate) use failure::{tag, Classify};
use setup::apply_remaps;
pub use setup::{
    ingest_capacity, load_perception, model_threads, overrides, pipelined, resolve, sample_bag, threads,
    topic_map,
};

/// `sensorium replay`: one recording, or with `--recordings` a shard of many. A failure prints
/// `error: ...` and exits with its class's code ([`Failure`]).
pub fn run(a: ReplayArgs) -> Result<i32> {
    let res = match &a.recordings {
        Some(spec) => run_many(&a, spec),
        None => {
            let bag = a.bag.clone().unwrap_or_else(sample_bag);
            if a.trace.is_some() {
                sensorium_pipeline::trace::enable();
            }
            replay_one(&a, &bag, a.out.as_deref(), a.summary_json.as_deref(), false)
                .and_then(|s| {
                    write_trace(a.trace.as_deref())?;
                    Ok(s)
                })
                .map(|s| {
                    print_summary(&s);
                    if let Some(r) = &a.record {
                        println!("  recorded: {}", r.display());
                    }
                    if s.interrupted {
                        eprintln!("interrupted: the outputs hold the frame sets read before the signal");
                        Failure::Interrupted.code()
                    } else {
                        0
                    }
                })
        }
    };
    res.or_else(|e| {
        eprintln!("error: {e:#}");
        Ok(Failure::of(&e).code())
    })
}

/// Writes the `--trace` timeline, if asked for.
pub(crate) fn write_trace(path: Option<&Path>) -> Result<()> {
    if let Some(p) = path {
        let n = sensorium_pipeline::trace::write(p)
            .with_context(|| format!("writing the trace {}", p.display()))
            .class(Failure::Output)?;
        println!("  trace: {} ({n} events)", p.display());
    }
    Ok(())
}

/// `--render all|none|N` as "every k-th of `count` scenes" (0: none), so that N are written.
pub(crate) fn render_every(render: &str, count: u64) -> Result<u64> {
    Ok(match render {
        "none" => 0,
        "all" => 1,
        n => {
            let n: u64 = n
                .parse()
                .with_context(|| format!("--render {n:?}: expected all, none or a count"))
                .class(Failure::Config)?;
            count.checked_div(n).map_or(0, |k| k.max(1))
        }
    })
}

/// Replays one recording into `out` (scenes, PNGs) and `summary_json`; `atomic`: the summary is
/// written under a temporary name and renamed, so its presence means the replay finished.
fn replay_one(
    a: &ReplayArgs,
    bag: &Path,
    out: Option<&Path>,
    summary_json: Option<&Path>,
    atomic: bool,
) -> Result<sensorium_pipeline::summary::Summary> {
    let loaded =
        settings::load(a.pipeline.config.as_deref(), &overrides(&a.pipeline)).class(Failure::Config)?;
    if !bag.exists() {
        return Err(tag(
            anyhow!("recording {} not found", bag.display()),
            Failure::Recording,
        ));
    }
    if let Some(r) = a.rate {
        if !(r.is_finite() && r > 0.0) {
            return Err(tag(
                anyhow!("--rate {r}: must be a positive number"),
                Failure::Config,
            ));
        }
    }
    let mut topics = topic_map(&loaded);
    apply_remaps(&mut topics, &a.topics).class(Failure::Config)?;
    let s = &loaded.settings;
    // a recording that does not open is the recording's failure, whatever reads it first
    let lidar_msgs = sensorium_bag::Recording::open(bag)
        .map(|r| r.topic_counts().get(&topics.lidar).copied().unwrap_or(0))
        .with_context(|| format!("opening {}", bag.display()))
        .class(Failure::Recording)?;
    let t_load = std::time::Instant::now();
    let pipelined = pipelined(&loaded, a.fast);
    let perception = load_perception(&loaded, Some(bag), &topics, pipelined)?;
    let models_used = perception.models().choices.clone();
    info!(
        ms = t_load.elapsed().as_millis() as u64,
        "models and calibration loaded"
    );
    let render_every = render_every(&a.render, lidar_msgs)?;
    let opts = ReplayOptions {
        bag: bag.to_path_buf(),
        fast: a.fast,
        rate: a.rate.unwrap_or(1.0),
        start: a.start,
        duration: a.duration,
        topics,
        sync: PolicyConfig {
            policy: s.sync.policy.parse().class(Failure::Config)?,
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
        out_dir: out.map(Path::to_path_buf),
        render_every,
        max_frames: a.max_frames,
        ingest_capacity: ingest_capacity(&loaded),
        record: a.record.clone(),
        stop: Some(stop_flag()),
        progress: !a.quiet && std::io::IsTerminal::is_terminal(&std::io::stderr()),
        pipelined,
    };
    let mut summary = replay::run(&opts, perception).map_err(|e| {
        let class = Failure::of_pipeline(&e);
        tag(e, class)
    })?;
    summary.models = models_used;
    summary.finish();
    // in a fleet run the summary marks a recording done: an interrupted one gets none, and is replayed
    // again when the run resumes
    if summary.interrupted && atomic {
        return Err(tag(
            anyhow!("interrupted by a signal; the recording is replayed again on resume"),
            Failure::Interrupted,
        ));
    }
    let json = serde_json::to_string_pretty(&summary)?;
    if let Some(p) = summary_json {
        write_file(p, &json, atomic)
            .with_context(|| format!("writing {}", p.display()))
            .class(Failure::Output)?;
    }
    Ok(summary)
}

/// Set by SIGINT/SIGTERM (installed on first use; a second signal while stopping ends the process).
fn stop_flag() -> Arc<AtomicBool> {
    static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    Arc::clone(FLAG.get_or_init(|| {
        let flag = Arc::new(AtomicBool::new(false));
        let f = Arc::clone(&flag);
        let installed = ctrlc::set_handler(move || {
            if f.swap(true, Ordering::SeqCst) {
                std::process::exit(Failure::Interrupted.code());
            }
        });
        if let Err(e) = installed {
            tracing::warn!("no SIGINT/SIGTERM handler ({e}): a signal ends the replay at once");
        }
        flag
    }))
}

fn write_file(p: &Path, text: &str, atomic: bool) -> std::io::Result<()> {
    if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    if !atomic {
        return std::fs::write(p, text);
    }
    let mut tmp = p.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, p)
}

/// Runs `f`; a panic in it becomes its error (class [`Failure::Other`]), so that one recording
/// that trips a bug is reported as failed and the shard goes on with the next.
fn guarded<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".to_string());
        Err(tag(anyhow!("replay panicked: {what}"), Failure::Other))
    })
}

/// `--recordings DIR_OR_LIST [--shard I/N]`: this shard's recordings one after another, each into
/// OUT/NAME/; one that already has its summary.json is skipped, one that fails (a panic included)
/// leaves OUT/NAME/error.json and the others go on (a configuration or models error stops the
/// shard: it would fail every recording alike).
fn run_many(a: &ReplayArgs, spec: &Path) -> Result<i32> {
    let all = recordings::list(spec).class(Failure::Config)?;
    let shard = a.shard.unwrap_or(Shard::ALL);
    let mine: Vec<&recordings::Recording> = all
        .iter()
        .enumerate()
        .filter(|(i, _)| shard.takes(*i))
        .map(|(_, r)| r)
        .collect();
    if a.dry_run {
        for r in &mine {
            println!("{}\t{}", r.name, r.path.display());
        }
        return Ok(0);
    }
    let out = a
        .out
        .as_deref()
        .context("--recordings needs --out DIR (each recording is replayed into DIR/NAME/)")
        .class(Failure::Config)?;
    settings::load(a.pipeline.config.as_deref(), &overrides(&a.pipeline)).class(Failure::Config)?;
    println!(
        "shard {shard}: {} of {} recordings, into {}",
        mine.len(),
        all.len(),
        out.display()
    );
    let (mut replayed, mut skipped) = (0usize, 0usize);
    let mut failed: Vec<i32> = Vec::new();
    for r in &mine {
        let dir = out.join(&r.name);
        let summary = dir.join("summary.json");
        if summary.is_file() {
            println!("{}: already replayed ({})", r.name, summary.display());
            skipped += 1;
            continue;
        }
        let error_file = dir.join("error.json");
        if error_file.exists() {
            std::fs::remove_file(&error_file)
                .with_context(|| format!("removing {}", error_file.display()))
                .class(Failure::Output)?;
        }
        match guarded(|| replay_one(a, &r.path, Some(&dir), Some(&summary), true)) {
            Ok(s) => {
                replayed += 1;
                println!(
                    "{}: {} frame sets fused in {:.1} s",
                    r.name, s.framesets_fused, s.wall_s
                );
            }
            Err(e) => {
                let class = Failure::of(&e);
                eprintln!("error: {}: {e:#}", r.name);
                let record = serde_json::json!({
                    "recording": r.path.display().to_string(),
                    "name": r.name,
                    "exit_code": class.code(),
                    "class": class.name(),
                    "error": format!("{e:#}"),
                });
                if let Err(w) = write_file(&error_file, &serde_json::to_string_pretty(&record)?, true) {
                    eprintln!("error: writing {}: {w}", error_file.display());
                }
                if matches!(class, Failure::Config | Failure::Models | Failure::Interrupted) {
                    return Ok(class.code());
                }
                failed.push(class.code());
            }
        }
    }
    println!(
        "shard {shard}: {replayed} replayed, {skipped} already done, {} failed",
        failed.len()
    );
    // a damaged recording is data, not a fault: its 3 decides the exit code only when nothing else failed
    let recording = Failure::Recording.code();
    Ok(failed
        .iter()
        .copied()
        .find(|&c| c != recording)
        .or(failed.first().copied())
        .unwrap_or(0))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicking_recording_becomes_an_error_of_class_other() {
        let e = guarded(|| -> Result<()> { panic!("index out of range in recording 7") })
            .expect_err("a panic is an error");
        assert_eq!(Failure::of(&e), Failure::Other);
        assert!(
            format!("{e:#}").contains("index out of range in recording 7"),
            "{e:#}"
        );
        let e = guarded(|| -> Result<()> { std::panic::panic_any(42u8) }).expect_err("panic");
        assert!(format!("{e:#}").contains("panicked"), "{e:#}");
        let e = guarded(|| -> Result<()> { Err(tag(anyhow!("damaged"), Failure::Recording)) })
            .expect_err("error");
        assert_eq!(Failure::of(&e), Failure::Recording);
        assert_eq!(guarded(|| Ok(3)).expect("ok"), 3);
    }
}
