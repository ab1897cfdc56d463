//! `sensorium replay`: a recording played through the runtime ([`crate::runtime::Runtime`]).
//!
//! The bag is the source: a reader thread reads it in time order, paces it on the bag clock (or not at
//! all with `fast`), decodes every message into its role and passes it through the ingest queue. The
//! main thread runs the runtime (assembly, deadlines, perception inline or on stage threads) and the
//! sinks (scenes.jsonl, PNG, the `--record` bag, the summary), and scores the scenes against the ground
//! truth the recording carries. In real time, ingest never waits for a slow pipeline: a full ingest
//! queue drops its oldest message, and late sets are dropped, each counted by reason. With `fast`,
//! nothing is dropped (evaluation is deterministic).

use crate::groundtruth::GroundTruthIndex;
use crate::perception::Perception;
use crate::runtime::{Finished, Runtime, RuntimeConfig, Stages};
use crate::sinks::ReplaySinks;
use crate::streams::{decode, Decoded, Role, TopicMap};
use crate::summary::Summary;
use anyhow::{anyhow, Context, Result};
use crossbeam_channel::Receiver;
use sensorium_bag::{ReadOptions, Recording};
use sensorium_core::Stamp;
use sensorium_engine::ingest::{ingest_queue, Disconnected};
use sensorium_engine::sync::PolicyConfig;
use sensorium_fusion::metrics::{strictly_first, MetricsAccumulator};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::{info, warn};

/// How a replay runs.
#[derive(Debug, Clone)]
pub struct ReplayOptions {
    pub bag: PathBuf,
    /// As fast as possible (no pacing, no drops).
    pub fast: bool,
    pub rate: f64,
    pub start: Option<f64>,
    pub duration: Option<f64>,
    pub topics: TopicMap,
    pub sync: PolicyConfig,
    pub deadline_ms: f64,
    pub stale_factor: f64,
    pub map_text_ttl: f64,
    pub out_dir: Option<PathBuf>,
    /// Render every k-th scene as PNG (0 = none).
    pub render_every: u64,
    pub max_frames: Option<u64>,
    pub ingest_capacity: usize,
    /// Record what the pipeline publishes (occupancy grid, scene JSON) into this bag.
    pub record: Option<PathBuf>,
    /// Show a progress bar on stderr.
    pub progress: bool,
    /// Camera, LiDAR and fusion stages on their own threads (pipelined) instead of one after another.
    pub pipelined: bool,
    /// Set (by a signal handler) to stop early: the sets already read are finished, the outputs closed
    /// and the summary marked `interrupted`.
    pub stop: Option<Arc<AtomicBool>>,
}

impl ReplayOptions {
    /// The runtime this replay runs.
    pub fn runtime(&self) -> RuntimeConfig {
        RuntimeConfig {
            assembly: crate::assembly::AssemblyConfig {
                sync: self.sync.clone(),
                stale_factor: self.stale_factor,
                map_text_ttl: self.map_text_ttl,
                prefer_compressed: self.topics.prefer_compressed,
            },
            deadline_ms: self.deadline_ms,
            real_time: (!self.fast).then_some(self.rate.max(1e-6)),
            stages: if self.pipelined {
                Stages::Pipelined
            } else {
                Stages::Inline
            },
        }
    }
}

/// What the reader thread hands the main thread.
enum Ingest {
    Msg {
        role: Role,
        /// Receive time on the bag clock.
        time: Stamp,
        /// When it was due on the wall clock (paced), or read (fast).
        arrival: Instant,
        decoded: Decoded,
    },
    DecodeError {
        topic: String,
        detail: String,
    },
    BagWarning(String),
    Done,
}

impl Ingest {
    fn kind(&self) -> &'static str {
        match self {
            Ingest::Msg { role, .. } => role.name(),
            Ingest::DecodeError { .. } => "decode_error",
            Ingest::BagWarning(_) => "bag_warning",
            Ingest::Done => "done",
        }
    }
}

/// The reader thread; it ends at the end of the bag, when the receiver is dropped, or when `stop` is
/// set. Returns its drops by reason (real time: a full ingest queue's oldest message).
fn spawn_reader(
    opts: &ReplayOptions,
    reader: Recording,
    stop: Arc<AtomicBool>,
) -> (Receiver<Ingest>, std::thread::JoinHandle<BTreeMap<String, u64>>) {
    let (mut tx, rx) = ingest_queue(opts.ingest_capacity);
    if opts.fast {
        // nothing is dropped: a send waits for room, and ends when the caller drops its receiver
        tx.release_drain();
    }
    let topics = opts.topics.clone();
    let (fast, rate) = (opts.fast, opts.rate.max(1e-3));
    let (start, duration) = (opts.start, opts.duration);
    let handle = std::thread::Builder::new()
        .name("sensorium-reader".into())
        .spawn(move || {
            let mut dropped: BTreeMap<String, u64> = BTreeMap::new();
            let (from, to) = reader.window(start, duration);
            let ro = ReadOptions {
                topics: Some(topics.topics()),
                start: from,
                end: to,
                prefetch: 0,
                skip_checksums: false,
                max_chunk_bytes: 0,
            };
            let wall0 = Instant::now();
            let mut t0: Option<Stamp> = None;
            let put = |item: Ingest, dropped: &mut BTreeMap<String, u64>| -> Result<(), Disconnected> {
                if fast {
                    tx.send(item, None)
                } else {
                    if let Some(old) = tx.push(item)? {
                        *dropped
                            .entry(format!("ingest_overflow_{}", old.kind()))
                            .or_default() += 1;
                    }
                    Ok(())
                }
            };
            for item in reader.messages(&ro) {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let msg = match item {
                    Ok(m) => m,
                    Err(e) => {
                        if put(Ingest::BagWarning(e.to_string()), &mut dropped).is_err() {
                            break;
                        }
                        continue;
                    }
                };
                let Some(role) = topics.role_of(&msg.conn.topic) else {
                    continue;
                };
                let arrival = if fast {
                    Instant::now()
                } else {
                    let t0 = *t0.get_or_insert(msg.time);
                    let due = wall0
                        + Duration::from_secs_f64((msg.time.diff_nanos(t0).max(0) as f64 * 1e-9) / rate);
                    if let Some(wait) = due.checked_duration_since(Instant::now()) {
                        std::thread::sleep(wait);
                    }
                    due
                };
                let t_decode = Instant::now();
                let decoded = decode(role, &msg.conn.topic, &msg.conn.datatype, &msg.data);
                crate::trace::record(role.name(), "decode", t_decode);
                let item = match decoded {
                    Ok(decoded) => Ingest::Msg {
                        role,
                        time: msg.time,
                        arrival,
                        decoded,
                    },
                    Err(e) => Ingest::DecodeError {
                        topic: msg.conn.topic.clone(),
                        detail: e.to_string(),
                    },
                };
                if put(item, &mut dropped).is_err() {
                    return dropped;
                }
            }
            tx.release_drain(); // from here a dropped caller's receiver ends the sends below
            for w in reader.warnings() {
                let _ = tx.send(Ingest::BagWarning(w.to_string()), None);
            }
            let _ = tx.send(Ingest::Done, None);
            dropped
        })
        .expect("spawning the reader thread");
    (rx, handle)
}

/// Scores scenes against the recording's ground truth: occupancy and per-class recall per frame, and
/// scene-to-caption retrieval at the end.
struct Evaluation {
    gt: GroundTruthIndex,
    metrics: MetricsAccumulator,
    retrieval: Vec<(Vec<f32>, String)>,
}

impl Evaluation {
    fn scene(&mut self, scene: &sensorium_core::Scene) {
        if let Some(truth) = scene.lidar_stamp.and_then(|s| self.gt.take(s)) {
            self.metrics
                .add_frame(&truth, &scene.bev.occupancy, &scene.bev.class);
            self.metrics.add_objects(&truth, &scene.objects);
            self.retrieval
                .push((scene.embedding.clone(), truth.caption.clone()));
        }
    }

    /// Scene-to-caption retrieval (the recipe's `score` query_top1; its text_to_scene_top1 ranks scenes
    /// for a caption instead): each scene against its own caption and the next 9 distinct other
    /// captions in scene order (cyclic), each caption embedded once; a hit only when its own caption is
    /// strictly the most similar (distinct captions can tokenize alike: a tie is a miss).
    fn finish(mut self, models: &crate::models::Models, summary: &mut Summary) -> Result<()> {
        let retrieval = &self.retrieval;
        let distinct = {
            let mut seen = Vec::<&str>::new();
            for (_, c) in retrieval {
                if !c.is_empty() && !seen.contains(&c.as_str()) {
                    seen.push(c);
                }
            }
            seen.len()
        };
        if distinct >= 10 {
            let mut cache: HashMap<String, Vec<f32>> = HashMap::new();
            for (i, (emb, cap)) in retrieval.iter().enumerate() {
                if cap.is_empty() {
                    continue;
                }
                let cands = retrieval_candidates(retrieval, i, 9);
                let mut embs = Vec::with_capacity(cands.len() + 1);
                for c in std::iter::once(cap.as_str()).chain(cands.iter().copied()) {
                    if !cache.contains_key(c) {
                        cache.insert(c.to_string(), crate::perception::embed_text(models, c)?);
                    }
                    embs.push(cache[c].clone());
                }
                self.metrics.add_query_trial(strictly_first(emb, &embs));
            }
        } else if !retrieval.is_empty() {
            summary.note(format!(
                "query_top1 not scored: {} distinct captions (< 10)",
                distinct
            ));
        }
        if self.metrics.finish().frames > 0 {
            summary.metrics = Some(self.metrics.finish());
        }
        Ok(())
    }
}

/// One finished frame set into the summary, the evaluation and the sinks.
fn finished(
    f: Finished,
    summary: &mut Summary,
    eval: &mut Evaluation,
    sinks: &mut ReplaySinks,
) -> Result<()> {
    let Finished {
        set,
        result,
        processing,
    } = f;
    let (scene, dbg) = match result {
        Ok(x) => x,
        Err(e) => {
            summary.error(format!("frame set {}: {e}", set.seq));
            return Ok(());
        }
    };
    for t in &scene.timing {
        summary.latency(&t.stage, t.ms);
    }
    summary.latency("total", processing.as_secs_f64() * 1e3);
    summary.end_to_end(scene.end_to_end_ms);
    summary.fused(scene.mask);
    eval.scene(&scene);
    crate::trace::frameset(Some(set.seq));
    let t = Instant::now();
    let res = sinks.write(&set, &scene, &dbg, summary);
    crate::trace::record("sinks", "sink", t);
    res
}

/// Plays a bag through `perception`; returns the summary (also written as configured).
pub fn run(opts: &ReplayOptions, perception: Perception) -> Result<Summary> {
    let reader = Recording::open(&opts.bag).with_context(|| format!("opening {}", opts.bag.display()))?;
    let mut summary = Summary::new(&opts.bag);
    let total_msgs: u64 = reader
        .topic_counts()
        .iter()
        .filter(|(t, _)| opts.topics.role_of(t).is_some())
        .map(|(_, n)| *n)
        .sum();
    let bar = if opts.progress {
        let b = indicatif::ProgressBar::new(total_msgs);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{elapsed_precise} [{bar:40}] {pos}/{len} messages {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let mut perception = perception;
    let grid = *perception.grid();
    let mut sinks = ReplaySinks::create(
        opts.out_dir.as_deref(),
        opts.render_every,
        opts.record.as_deref(),
        grid,
        perception.models().classes().to_vec(),
    )?;
    perception.lidar.keep_points = sinks.wants_points();
    let mut eval = Evaluation {
        gt: GroundTruthIndex::new(256),
        metrics: MetricsAccumulator::new(grid, 40.0, perception.models().classes().to_vec()),
        retrieval: Vec::new(),
    };
    let mut runtime = Runtime::new(perception, opts.runtime())?;
    let stop_reader = Arc::new(AtomicBool::new(false));
    let (rx, reader_handle) = spawn_reader(opts, reader, Arc::clone(&stop_reader));
    let wall0 = Instant::now();

    loop {
        if opts.stop.as_ref().is_some_and(|s| s.load(Ordering::SeqCst)) {
            info!("interrupted: finishing the frame sets read so far");
            summary.interrupted = true;
            summary.note("interrupted by a signal before the end of the recording".into());
            break;
        }
        // a short wait, so that a signal is noticed while the reader paces a quiet recording
        let item = match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(item) => item,
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => continue,
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => {
                return Err(anyhow!("reader thread ended unexpectedly"))
            }
        };
        let (role, time, arrival, decoded) = match item {
            Ingest::Done => break,
            Ingest::BagWarning(w) => {
                warn!("{}: {w}", opts.bag.display());
                summary.bag_warning(w);
                continue;
            }
            Ingest::DecodeError { topic, detail } => {
                warn!("decode error: {detail}");
                summary.decode_error(&topic, detail);
                continue;
            }
            Ingest::Msg {
                role,
                time,
                arrival,
                decoded,
            } => (role, time, arrival, decoded),
        };
        bar.inc(1);
        summary.received(role.name());
        let mut out = |f: Finished| finished(f, &mut summary, &mut eval, &mut sinks);
        // calibration is fixed before the replay starts: only the ground truth comes back for us
        if let Some(Decoded::GroundTruth(g)) = runtime.ingest(role, decoded, time, arrival, &mut out)? {
            eval.gt.insert(*g);
        }
        if opts.max_frames.is_some_and(|m| runtime.framesets() >= m) {
            info!("stopping after {} frame sets (--max-frames)", runtime.framesets());
            break;
        }
    }
    stop_reader.store(true, Ordering::Relaxed);
    drop(rx);
    let models = Arc::clone(runtime.models());
    // the sets still in the stages
    let report = runtime.finish(&mut |f| finished(f, &mut summary, &mut eval, &mut sinks))?;
    bar.finish_and_clear();
    sinks.finish(&mut summary)?;
    for (k, v) in &report.dropped {
        summary.drop_n(k, *v);
    }
    let reader_drops = reader_handle
        .join()
        .map_err(|_| anyhow!("reader thread panicked"))?;
    for (k, v) in reader_drops {
        summary.drop_n(&k, v);
    }
    eval.finish(&models, &mut summary)?;
    summary.dropped.retain(|_, n| *n > 0);
    summary.wall_s = wall0.elapsed().as_secs_f64();
    Ok(summary)
}

/// The first `n` distinct captions other than scene `i`'s, in scene order after `i`, wrapping around.
fn retrieval_candidates(retrieval: &[(Vec<f32>, String)], i: usize, n: usize) -> Vec<&str> {
    let own = retrieval[i].1.as_str();
    let mut out: Vec<&str> = Vec::with_capacity(n);
    for j in (i + 1..retrieval.len()).chain(0..i) {
        let c = retrieval[j].1.as_str();
        if out.len() == n {
            break;
        }
        if !c.is_empty() && c != own && !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::retrieval_candidates;

    #[test]
    fn retrieval_candidates_are_the_next_distinct_other_captions_wrapping_around() {
        let r: Vec<(Vec<f32>, String)> = ["a", "b", "a", "c", "b", "d", ""]
            .iter()
            .map(|c| (Vec::new(), c.to_string()))
            .collect();
        assert_eq!(retrieval_candidates(&r, 0, 9), vec!["b", "c", "d"]);
        assert_eq!(retrieval_candidates(&r, 3, 2), vec!["b", "d"]);
        assert_eq!(retrieval_candidates(&r, 5, 9), vec!["a", "b", "c"]);
    }
}
