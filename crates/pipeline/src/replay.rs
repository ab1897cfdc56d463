//! `sensorium replay`: a recording played through the whole pipeline.
//!
//! Threads: the reader reads the bag in time order, paces it on the bag clock (or not at all with
//! `fast`) and decodes every message into its role; the main thread synchronizes, submits frame sets
//! to the perception stages and writes the outputs; with `pipelined` (the default) the camera, LiDAR
//! and fusion stages run on three more threads ([`StagedPerception`]), else one after another on the
//! main thread. Ingest never blocks on a slow pipeline in real-time mode: a full ingest queue drops
//! the message, a full stage input its oldest set, and a set past its deadline is dropped at the next
//! stage boundary — each counted by reason. With `fast`, nothing is dropped (evaluation is
//! deterministic): the main thread keeps at most [`FAST_IN_FLIGHT`] sets in the stages.

use crate::groundtruth::GroundTruthIndex;
use crate::perception::{FrameSet, Perception};
use crate::staged::{Done, StagedPerception};
use crate::streams::{decode, Decoded, Role, TopicMap};
use crate::summary::Summary;
use anyhow::{anyhow, Context, Result};
use crossbeam_channel::{bounded, Receiver, TrySendError};
use sensorium_bag::{BagReader, ReadOptions};
use sensorium_core::{MapText, PointsSoA, RgbImage, Stamp};
use sensorium_engine::deadline::Deadline;
use sensorium_engine::pipeline::{Delivered, PipelineConfig, ThreadBudget};
use sensorium_engine::sync::{MatchedSet, PolicyConfig, Synchronizer};
use sensorium_fusion::metrics::{strictly_first, MetricsAccumulator};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::{debug, info, info_span, warn};

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
}

/// With `fast`, the most frame sets inside the stages at once (one per stage).
pub const FAST_IN_FLIGHT: usize = 3;

/// The perception, inline or on stage threads, behind one interface.
enum Runner {
    Inline {
        p: Box<Perception>,
        ready: VecDeque<Delivered<Done>>,
        seq: u64,
    },
    Staged(Box<StagedPerception>),
}

impl Runner {
    fn submit(&mut self, set: FrameSet, stamp: Stamp, origin: Instant, deadline: Deadline) {
        match self {
            Runner::Inline { p, ready, seq } => {
                let result = p.process(&set, stamp).map_err(|e| format!("{e:#}"));
                ready.push_back(Delivered {
                    value: Done { set, result },
                    seq: *seq,
                    latency: origin.elapsed(),
                });
                *seq += 1;
            }
            Runner::Staged(s) => s.submit(set, stamp, origin, deadline),
        }
    }

    fn try_recv(&mut self) -> Option<Delivered<Done>> {
        match self {
            Runner::Inline { ready, .. } => ready.pop_front(),
            Runner::Staged(s) => s.try_recv(),
        }
    }

    /// Waits for the next set; `None` when nothing is left (inline: nothing ready).
    fn recv(&mut self) -> Option<Delivered<Done>> {
        match self {
            Runner::Inline { ready, .. } => ready.pop_front(),
            Runner::Staged(s) => s.recv(),
        }
    }

    fn models(&self) -> std::sync::Arc<crate::models::Models> {
        match self {
            Runner::Inline { p, .. } => std::sync::Arc::clone(p.models()),
            Runner::Staged(s) => std::sync::Arc::clone(s.models()),
        }
    }
}

/// `replay --record`: the published topics written to a bag. A write error (disk full) stops the
/// recording with an error in the summary; the pipeline goes on and the bag written so far stays readable.
struct Recorder {
    writer: Option<sensorium_bag::BagWriter>,
    scene: u32,
    occupancy: u32,
    markers: u32,
    scene_json: u32,
    seq: u32,
}

impl Recorder {
    fn create(path: &std::path::Path) -> Result<Recorder> {
        use sensorium_msgs::{OccupancyGrid, RosMessage, StringMsg};
        let mut w = sensorium_bag::BagWriter::create(path, sensorium_bag::Compression::Lz4)
            .with_context(|| format!("creating {}", path.display()))?;
        // what the node publishes (`~scene`, `~occupancy` under the node name `sensorium`), plus the
        // scene as JSON for tools without the sensorium_msgs package
        let scene = w.add_connection(
            "/sensorium/scene",
            crate::scene_msg::DATATYPE,
            crate::scene_msg::md5sum(),
            crate::scene_msg::definition(),
        )?;
        let occupancy = w.add_connection(
            "/sensorium/occupancy",
            OccupancyGrid::DATATYPE,
            OccupancyGrid::MD5SUM,
            OccupancyGrid::DEFINITION,
        )?;
        let markers = w.add_connection(
            "/sensorium/markers",
            sensorium_msgs::MarkerArray::DATATYPE,
            sensorium_msgs::MarkerArray::MD5SUM,
            sensorium_msgs::MarkerArray::DEFINITION,
        )?;
        let scene_json = w.add_connection(
            "/sensorium/scene_json",
            StringMsg::DATATYPE,
            StringMsg::MD5SUM,
            StringMsg::DEFINITION,
        )?;
        Ok(Recorder {
            writer: Some(w),
            scene,
            occupancy,
            markers,
            scene_json,
            seq: 0,
        })
    }

    fn write(&mut self, scene: &sensorium_core::Scene, summary: &mut Summary) {
        use sensorium_msgs::{RosMessage, StringMsg};
        let Some(w) = self.writer.as_mut() else { return };
        self.seq += 1;
        let grid = crate::publish::occupancy_grid(scene, self.seq).to_bytes();
        let mut light = scene.clone();
        light.bev.features.clear();
        // the JSON copy is for tooling: the per-query maps travel in the Scene message only
        light.queries.iter_mut().for_each(|q| q.map.clear());
        let json = StringMsg {
            data: serde_json::to_string(&light).unwrap_or_default(),
        }
        .to_bytes();
        let body = crate::scene_msg::encode(scene, self.seq, false);
        let res = w
            .write(self.scene, scene.stamp, &body)
            .and_then(|()| w.write(self.occupancy, scene.stamp, &grid))
            .and_then(|()| {
                let markers = crate::publish::scene_markers(scene, self.seq).to_bytes();
                w.write(self.markers, scene.stamp, &markers)
            })
            .and_then(|()| w.write(self.scene_json, scene.stamp, &json));
        if let Err(e) = res {
            summary.error(format!("recording stopped: {e}"));
            summary.drop_reason("record_error");
            if let Some(w) = self.writer.take() {
                let _ = w.finish();
            }
        }
    }

    fn finish(&mut self, summary: &mut Summary) {
        if let Some(w) = self.writer.take() {
            if let Err(e) = w.finish() {
                summary.error(format!("finishing the recording: {e}"));
            }
        }
    }
}

/// What the reader thread hands the main thread.
enum Ingest {
    Msg {
        role: Role,
        time: Stamp,
        decoded: Decoded,
    },
    DecodeError {
        topic: String,
        detail: String,
    },
    BagWarning(String),
    Done,
}

/// Expected period of a stream, learned from its stamps (EWMA of positive intervals).
#[derive(Debug, Default, Clone, Copy)]
struct Rate {
    last: Option<Stamp>,
    period: Option<f64>,
    /// Messages observed since the last reset.
    seen: u64,
}

impl Rate {
    fn observe(&mut self, s: Stamp) {
        self.seen += 1;
        if let Some(l) = self.last {
            let dt = s.diff_nanos(l) as f64 * 1e-9;
            if dt > 0.0 && dt < 10.0 {
                self.period = Some(self.period.map_or(dt, |p| 0.9 * p + 0.1 * dt));
            }
        }
        self.last = Some(s);
    }
    /// Is the stream stale at `now` (no message for period × factor)?
    fn stale_at(&self, now: Stamp, factor: f64) -> bool {
        match (self.last, self.period) {
            (Some(l), Some(p)) => now.diff_nanos(l) as f64 * 1e-9 > p * factor,
            (None, _) => true,
            _ => false,
        }
    }
}

const CAMERA: usize = 0;
const LIDAR: usize = 1;

/// The reader thread; it ends at the end of the bag, when the receiver is dropped, or when `stop` is
/// set (it holds a receiver of its own to drop the oldest message in real time, so dropping the
/// caller's receiver alone does not end it).
fn spawn_reader(
    opts: &ReplayOptions,
    reader: BagReader,
    stop: Arc<AtomicBool>,
) -> (Receiver<Ingest>, std::thread::JoinHandle<BTreeMap<String, u64>>) {
    let (tx, rx) = bounded(opts.ingest_capacity.max(1));
    let drain = (!opts.fast).then(|| rx.clone());
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
            for item in reader.messages(&ro) {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let msg = match item {
                    Ok(m) => m,
                    Err(e) => {
                        let _ = tx.send(Ingest::BagWarning(e.to_string()));
                        continue;
                    }
                };
                let Some(role) = topics.role_of(&msg.conn.topic) else {
                    continue;
                };
                if !fast {
                    let t0 = *t0.get_or_insert(msg.time);
                    let due = Duration::from_secs_f64((msg.time.diff_nanos(t0).max(0) as f64 * 1e-9) / rate);
                    if let Some(wait) = due.checked_sub(wall0.elapsed()) {
                        std::thread::sleep(wait);
                    }
                }
                let item = match decode(role, &msg.conn.topic, &msg.conn.datatype, &msg.data) {
                    Ok(decoded) => Ingest::Msg {
                        role,
                        time: msg.time,
                        decoded,
                    },
                    Err(e) => Ingest::DecodeError {
                        topic: msg.conn.topic.clone(),
                        detail: e.to_string(),
                    },
                };
                if fast {
                    if tx.send(item).is_err() {
                        break;
                    }
                } else {
                    // real time: a full queue drops its oldest message (the freshest data wins), counted
                    // by that message's stream; ingest never waits for the pipeline
                    let mut item = item;
                    loop {
                        match tx.try_send(item) {
                            Ok(()) => break,
                            Err(TrySendError::Full(back)) => {
                                item = back;
                                if let Some(Ok(old)) = drain.as_ref().map(Receiver::try_recv) {
                                    let what = match &old {
                                        Ingest::Msg { role, .. } => role.name(),
                                        Ingest::DecodeError { .. } => "decode_error",
                                        Ingest::BagWarning(_) => "bag_warning",
                                        Ingest::Done => "done",
                                    };
                                    *dropped.entry(format!("ingest_overflow_{what}")).or_default() += 1;
                                }
                            }
                            Err(TrySendError::Disconnected(_)) => return dropped,
                        }
                    }
                }
            }
            drop(drain); // from here a dropped caller's receiver ends the sends below
            for w in reader.warnings() {
                let _ = tx.send(Ingest::BagWarning(w.to_string()));
            }
            let _ = tx.send(Ingest::Done);
            dropped
        })
        .expect("spawning the reader thread");
    (rx, handle)
}

/// Small bounded store of decoded messages waiting for the synchronizer, keyed by id.
struct Pending<T> {
    items: VecDeque<(u64, T)>,
    cap: usize,
    /// Messages discarded because a newer one of the same stream was matched first.
    unmatched: u64,
}

impl<T> Pending<T> {
    fn new(cap: usize) -> Self {
        Pending {
            items: VecDeque::new(),
            cap: cap.max(2),
            unmatched: 0,
        }
    }
    fn push(&mut self, id: u64, v: T) -> bool {
        let overflow = self.items.len() >= self.cap;
        if overflow {
            self.items.pop_front();
        }
        self.items.push_back((id, v));
        overflow
    }
    fn take(&mut self, id: u64) -> Option<T> {
        let i = self.items.iter().position(|(k, _)| *k == id)?;
        let v = self.items.remove(i).map(|(_, v)| v);
        // everything older than a matched message can never be matched again
        let before = self.items.len();
        self.items.retain(|(k, _)| *k > id);
        self.unmatched += (before - self.items.len()) as u64;
        v
    }
}

/// Plays a bag through `perception`; returns the summary (also written as configured).
pub fn run(opts: &ReplayOptions, perception: Perception) -> Result<Summary> {
    let reader = BagReader::open(&opts.bag).with_context(|| format!("opening {}", opts.bag.display()))?;
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
    let mut recorder = match &opts.record {
        Some(p) => Some(Recorder::create(p)?),
        None => None,
    };
    let stop_reader = Arc::new(AtomicBool::new(false));
    let (rx, reader_handle) = spawn_reader(opts, reader, Arc::clone(&stop_reader));
    if let Some(dir) = &opts.out_dir {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut jsonl = match &opts.out_dir {
        Some(dir) => Some(std::io::BufWriter::new(
            std::fs::File::create(dir.join("scenes.jsonl"))
                .with_context(|| format!("{}/scenes.jsonl", dir.display()))?,
        )),
        None => None,
    };

    let mut sync: Box<dyn Synchronizer> = opts.sync.build().map_err(|e| anyhow!(e))?;
    let queue = opts.sync.queue.max(1);
    let mut cams: Pending<RgbImage> = Pending::new(queue + 2);
    let mut clouds: Pending<PointsSoA> = Pending::new(queue + 2);
    let mut rates = [Rate::default(); 2];
    let mut map_text: Option<MapText> = None;
    let mut next_id = 0u64;
    let mut seq = 0u64;
    let mut gt = GroundTruthIndex::new(256);
    let mut metrics = MetricsAccumulator::new(*perception.grid(), 40.0);
    let mut retrieval: Vec<(Vec<f32>, String)> = Vec::new();
    let mut last_stamp: Option<Stamp> = None;
    let wall0 = Instant::now();
    let bag_t0: std::cell::Cell<Option<Stamp>> = std::cell::Cell::new(None);

    let grid = *perception.grid();
    let mut perception = perception;
    perception.lidar.keep_points = opts.out_dir.is_some() && opts.render_every > 0;
    let mut runner = if opts.pipelined {
        let config = PipelineConfig {
            // real time: one set waits per boundary at most (fresh sets over queued ones); fast: enough
            // to keep every stage busy
            channel_capacity: if opts.fast { FAST_IN_FLIGHT } else { 1 },
            deadline: Duration::from_secs_f64(opts.deadline_ms.max(0.0) / 1e3 / opts.rate.max(1e-6)),
            threads: ThreadBudget::detect(),
            ..PipelineConfig::default()
        };
        Runner::Staged(Box::new(StagedPerception::start(perception, config)?))
    } else {
        Runner::Inline {
            p: Box::new(perception),
            ready: VecDeque::new(),
            seq: 0,
        }
    };
    let mut in_flight = 0usize;
    let submitted = std::cell::Cell::new(0u64);

    // one finished frame set: summary, metrics, renderings, recording, JSON lines
    let mut finish = |d: Delivered<Done>, summary: &mut Summary, gt: &mut GroundTruthIndex| -> Result<()> {
        let Done { set, result } = d.value;
        let (mut scene, dbg) = match result {
            Ok(x) => x,
            Err(e) => {
                summary.drop_reason("pipeline_error");
                summary.error(format!("frame set {}: {e}", set.seq));
                return Ok(());
            }
        };
        let proc_ms = d.latency.as_secs_f64() * 1e3;
        scene.end_to_end_ms = if opts.fast {
            proc_ms
        } else {
            let oldest = [scene.camera_stamp, scene.lidar_stamp]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(scene.stamp);
            let now_bag = bag_t0.get().map_or(0.0, |t0| {
                t0.as_secs_f64() + wall0.elapsed().as_secs_f64() * opts.rate
            });
            (now_bag - oldest.as_secs_f64()) * 1e3
        };
        for t in &scene.timing {
            summary.latency(&t.stage, t.ms);
        }
        summary.latency("total", proc_ms);
        summary.end_to_end(scene.end_to_end_ms);
        summary.fused(scene.mask);
        if let Some(truth) = scene.lidar_stamp.and_then(|s| gt.take(s)) {
            metrics.add_frame(&truth, &scene.bev.occupancy, &scene.bev.class);
            retrieval.push((scene.embedding.clone(), truth.caption.clone()));
        }
        if let Some(dir) = &opts.out_dir {
            if opts.render_every > 0 && scene.seq % opts.render_every == 0 {
                // the heat map of the query the scene matches best
                let heat = scene
                    .queries
                    .iter()
                    .filter(|q| !q.map.is_empty())
                    .max_by(|a, b| a.score.total_cmp(&b.score))
                    .map(|q| q.map.as_slice());
                let bev = sensorium_fusion::render::render_bev(&scene, &grid, Some(&dbg.ego_points), heat);
                let img = sensorium_fusion::render::side_by_side(set.camera.as_ref(), &bev);
                let path = dir.join(format!("scene_{:06}.png", scene.seq));
                img.save(&path)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
        }
        if let Some(r) = recorder.as_mut() {
            r.write(&scene, summary);
        }
        if let Some(w) = jsonl.as_mut() {
            let mut s = scene.clone();
            s.bev.features.clear();
            serde_json::to_writer(
                &mut *w,
                &SceneLine {
                    scene: &s,
                    lidar_points: dbg.ego_points.len(),
                    painted_points: dbg.painted_points,
                },
            )?;
            w.write_all(b"\n")?;
        }
        Ok(())
    };

    // one matched frame set into the stages; collects what has finished meanwhile
    let mut process = |set: FrameSet,
                       stamp: Stamp,
                       arrival: Stamp,
                       summary: &mut Summary,
                       gt: &mut GroundTruthIndex|
     -> Result<()> {
        let span = info_span!("frameset", seq = set.seq, stamp = %stamp);
        let _g = span.enter();
        let now = Instant::now();
        // deadline, in real-time mode: from the arrival (bag receive time) of the message that
        // completed the set, as in the node. Not from the set's newest stamp: ApproximateTime confirms
        // a set only when a later message arrives, one period after it (100 ms at 10 Hz), so a
        // deadline of 100 ms from the stamp would drop every set. The rest of the budget goes with the
        // set through the stages, which drop it at their next boundary once it is spent.
        let deadline = if opts.fast {
            Deadline::from(now, Duration::from_secs(86_400))
        } else {
            let age_ms = bag_t0.get().map_or(0.0, |t0| {
                let now_bag = t0.as_nanos() as f64 * 1e-9 + wall0.elapsed().as_secs_f64() * opts.rate;
                (now_bag - arrival.as_secs_f64()) * 1e3
            });
            if age_ms > opts.deadline_ms {
                summary.drop_reason("late");
                debug!(age_ms, "frame set dropped: past its deadline");
                return Ok(());
            }
            // the budget is bag time (what a vehicle would have); at --rate r it passes r× faster
            let left_ms = (opts.deadline_ms - age_ms.max(0.0)) / opts.rate.max(1e-6);
            Deadline::from(now, Duration::from_secs_f64(left_ms / 1e3))
        };
        runner.submit(set, stamp, now, deadline);
        submitted.set(submitted.get() + 1);
        in_flight += 1;
        while let Some(d) = runner.try_recv() {
            in_flight = in_flight.saturating_sub(1);
            finish(d, summary, gt)?;
        }
        // evaluation: no drops, at most FAST_IN_FLIGHT sets in the stages
        while opts.fast && in_flight >= FAST_IN_FLIGHT {
            let Some(d) = runner.recv() else { break };
            in_flight -= 1;
            finish(d, summary, gt)?;
        }
        Ok(())
    };

    loop {
        let item = rx
            .recv()
            .map_err(|_| anyhow!("reader thread ended unexpectedly"))?;
        let (role, time, decoded) = match item {
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
            Ingest::Msg { role, time, decoded } => (role, time, decoded),
        };
        if bag_t0.get().is_none() {
            bag_t0.set(Some(time));
        }
        bar.inc(1);
        summary.received(role.name());
        match decoded {
            Decoded::TfStatic(_) | Decoded::CameraInfo(_) => {} // calibration is fixed before the replay starts
            Decoded::GroundTruth(g) => gt.insert(*g),
            Decoded::MapText(mut m) => {
                m.stamp = time;
                map_text = Some(m);
            }
            Decoded::Camera(img) => {
                if role == Role::CameraRaw && opts.topics.prefer_compressed
                    || role == Role::CameraCompressed && !opts.topics.prefer_compressed
                {
                    // both camera topics present: keep the preferred one only
                    if summary.has_received(if role == Role::CameraRaw {
                        "camera_compressed"
                    } else {
                        "camera"
                    }) {
                        continue;
                    }
                }
                let stamp = img.stamp;
                if clock_jumped(&mut last_stamp, stamp) {
                    sync.reset();
                    rates = [Rate::default(); 2];
                    summary.drop_reason("clock_jump_reset");
                }
                rates[CAMERA].observe(stamp);
                let id = next_id;
                next_id += 1;
                if cams.push(id, img) {
                    summary.drop_reason("sync_queue_camera");
                }
                for set in sync.add(CAMERA, stamp, id) {
                    match assemble(
                        &set,
                        &mut cams,
                        &mut clouds,
                        &map_text,
                        opts.map_text_ttl,
                        seq + 1,
                    ) {
                        Some((fs, st)) => {
                            seq += 1;
                            process(fs, st, time, &mut summary, &mut gt)?;
                        }
                        None => summary.drop_reason("sync_input_gone"),
                    }
                }
                // LiDAR stale: fuse the camera alone
                if rates[LIDAR].stale_at(stamp, opts.stale_factor) && rates[LIDAR].last.is_some() {
                    if let Some(img) = cams.take(id) {
                        seq += 1;
                        let set = FrameSet {
                            seq,
                            camera: Some(img),
                            lidar: None,
                            map_text: live_text(&map_text, stamp, opts.map_text_ttl),
                        };
                        process(set, stamp, time, &mut summary, &mut gt)?;
                    }
                }
            }
            Decoded::Lidar(cloud) => {
                let stamp = cloud.stamp;
                if clock_jumped(&mut last_stamp, stamp) {
                    sync.reset();
                    rates = [Rate::default(); 2];
                    summary.drop_reason("clock_jump_reset");
                }
                rates[LIDAR].observe(stamp);
                let id = next_id;
                next_id += 1;
                if clouds.push(id, cloud) {
                    summary.drop_reason("sync_queue_lidar");
                }
                for set in sync.add(LIDAR, stamp, id) {
                    match assemble(
                        &set,
                        &mut cams,
                        &mut clouds,
                        &map_text,
                        opts.map_text_ttl,
                        seq + 1,
                    ) {
                        Some((fs, st)) => {
                            seq += 1;
                            process(fs, st, time, &mut summary, &mut gt)?;
                        }
                        None => summary.drop_reason("sync_input_gone"),
                    }
                }
                // camera stale: fuse LiDAR (+ map text) alone. A camera not seen yet is absent only from
                // the second sweep on (a recording's topics do not start together: the first sweep may
                // come a little before the first image); then every sweep still waiting goes alone
                let waiting: Vec<u64> = match rates[CAMERA].last {
                    Some(_) if rates[CAMERA].stale_at(stamp, opts.stale_factor) => vec![id],
                    Some(_) => Vec::new(),
                    None if rates[LIDAR].seen >= 2 => clouds.items.iter().map(|(k, _)| *k).collect(),
                    None => Vec::new(),
                };
                for k in waiting {
                    if let Some(cloud) = clouds.take(k) {
                        seq += 1;
                        let at = cloud.stamp;
                        let set = FrameSet {
                            seq,
                            camera: None,
                            lidar: Some(cloud),
                            map_text: live_text(&map_text, at, opts.map_text_ttl),
                        };
                        process(set, at, time, &mut summary, &mut gt)?;
                    }
                }
            }
        }
        if opts.max_frames.is_some_and(|m| submitted.get() >= m) {
            info!("stopping after {} frame sets (--max-frames)", submitted.get());
            break;
        }
    }
    stop_reader.store(true, Ordering::Relaxed);
    drop(rx);
    // the sets still in the stages
    if let Runner::Staged(s) = &mut runner {
        s.close();
    }
    while let Some(d) = runner.recv() {
        finish(d, &mut summary, &mut gt)?;
    }
    let models = runner.models();
    if let Runner::Staged(s) = runner {
        let report = *s;
        let report = report.finish()?;
        // drops inside the stages, by reason (late at a stage boundary, full stage input, ...)
        for (reason, n) in &report.ingest.dropped {
            summary.drop_n(&format!("stages_input_{reason}"), *n);
        }
        for st in &report.stages {
            for (reason, n) in &st.counters.dropped {
                summary.drop_n(&format!("stage_{}_{reason}", st.name), *n);
            }
        }
        for (reason, n) in &report.output.dropped {
            summary.drop_n(&format!("stages_output_{reason}"), *n);
        }
    }
    bar.finish_and_clear();
    if let Some(r) = recorder.as_mut() {
        r.finish(&mut summary);
    }
    // account for every message: never matched, or still waiting when the recording ended
    summary.drop_n("sync_unmatched_camera", cams.unmatched);
    summary.drop_n("sync_unmatched_lidar", clouds.unmatched);
    summary.drop_n("sync_pending_at_end_camera", cams.items.len() as u64);
    summary.drop_n("sync_pending_at_end_lidar", clouds.items.len() as u64);
    summary.dropped.retain(|_, n| *n > 0);
    let reader_drops = reader_handle
        .join()
        .map_err(|_| anyhow!("reader thread panicked"))?;
    for (k, v) in reader_drops {
        summary.drop_n(&k, v);
    }

    // scene-to-caption retrieval (the recipe's `score` query_top1; its text_to_scene_top1 ranks scenes for a
    // caption instead): each scene against its own caption and the next 9
    // distinct other captions in scene order (cyclic), each caption embedded once; a hit only when its
    // own caption is strictly the most similar (distinct captions can tokenize alike: a tie is a miss)
    let distinct = {
        let mut seen = Vec::<&str>::new();
        for (_, c) in &retrieval {
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
            let cands = retrieval_candidates(&retrieval, i, 9);
            let mut embs = Vec::with_capacity(cands.len() + 1);
            for c in std::iter::once(cap.as_str()).chain(cands.iter().copied()) {
                if !cache.contains_key(c) {
                    cache.insert(c.to_string(), crate::perception::embed_text(&models, c)?);
                }
                embs.push(cache[c].clone());
            }
            metrics.add_query_trial(strictly_first(emb, &embs));
        }
    } else if !retrieval.is_empty() {
        summary.note(format!(
            "query_top1 not scored: {} distinct captions (< 10)",
            distinct
        ));
    }
    if metrics.finish().frames > 0 {
        summary.metrics = Some(metrics.finish());
    }
    summary.wall_s = wall0.elapsed().as_secs_f64();
    if let Some(w) = jsonl.as_mut() {
        w.flush()?;
    }
    Ok(summary)
}

/// One line of `scenes.jsonl`: the scene (without the BEV feature tensor) and what its LiDAR stage saw.
#[derive(serde::Serialize)]
struct SceneLine<'a> {
    #[serde(flatten)]
    scene: &'a sensorium_core::Scene,
    /// LiDAR points inside the grid (after the ego transform and crop).
    lidar_points: usize,
    /// Of those, the points that landed in the camera image and sampled its features.
    painted_points: usize,
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

/// A header stamp this much older than the previous one is a clock jump (looped bag, restarted sim
/// clock), not reordering (which is milliseconds).
pub const CLOCK_JUMP_BACK_NS: i64 = 1_000_000_000;

/// Records `stamp` as the newest seen; true when it jumped back by more than [`CLOCK_JUMP_BACK_NS`].
fn clock_jumped(last: &mut Option<Stamp>, stamp: Stamp) -> bool {
    let jumped = last.is_some_and(|l| stamp.diff_nanos(l) < -CLOCK_JUMP_BACK_NS);
    if jumped {
        warn!(from = %last.unwrap_or(stamp), to = %stamp, "time went backwards: resetting the synchronizer");
    }
    *last = Some(stamp);
    jumped
}

fn live_text(m: &Option<MapText>, now: Stamp, ttl: f64) -> Option<MapText> {
    m.as_ref()
        .filter(|t| ttl <= 0.0 || (now.diff_nanos(t.stamp) as f64) * 1e-9 <= ttl)
        .cloned()
}

/// The frame set of a matched set, or `None` when one of its messages is gone (already fused alone in a
/// degraded-mode set, or evicted from its bounded queue): the caller counts it as `sync_input_gone`.
fn assemble(
    set: &MatchedSet,
    cams: &mut Pending<RgbImage>,
    clouds: &mut Pending<PointsSoA>,
    map_text: &Option<MapText>,
    ttl: f64,
    seq: u64,
) -> Option<(FrameSet, Stamp)> {
    let mut fs = FrameSet {
        seq,
        ..Default::default()
    };
    let mut stamp = Stamp::ZERO;
    let mut gone = false;
    for &(stream, s, id) in &set.items {
        match stream {
            CAMERA => {
                fs.camera = cams.take(id);
                gone |= fs.camera.is_none();
            }
            _ => {
                fs.lidar = clouds.take(id);
                gone |= fs.lidar.is_none();
                stamp = s;
            }
        }
        if stamp == Stamp::ZERO {
            stamp = s;
        }
    }
    if gone {
        return None;
    }
    fs.map_text = live_text(map_text, stamp, ttl);
    Some((fs, stamp))
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
