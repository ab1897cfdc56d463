//! The live node: raw ROS subscriptions → the shared pipeline → `~scene`, `~occupancy`, `/diagnostics`.
//!
//! The live topics are a source of the shared runtime ([`Runtime`], the same one replay runs):
//! subscriber callbacks (rosrust's threads) decode each raw body with
//! [`sensorium_pipeline::streams::decode`] and hand it to one processing thread through the ingest
//! queue ([`sensorium_engine::ingest`]: bounded, a full queue drops its oldest message and counts it).
//! The processing thread collects the calibration from `/tf_static` + `camera_info`
//! ([`CalibCollector`]) unless one is given, then starts the runtime (assembly, deadlines, perception
//! inline or on stage threads) and publishes every finished scene.

use crate::scene_msg;
use anyhow::{anyhow, Context, Result};
use rosrust::{RawMessage, RawMessageDescription};
use sensorium_core::{Scene, Stamp};
use sensorium_engine::ingest::{ingest_queue, recv_timeout, IngestSender};
use sensorium_engine::sync::PolicyConfig;
use sensorium_geometry::VehicleCalib;
use sensorium_msgs::{
    DiagnosticArray, DiagnosticStatus, Header, KeyValue, MarkerArray, OccupancyGrid, RosMessage,
};
use sensorium_pipeline::calibration::CalibCollector;
use sensorium_pipeline::models::Models;
use sensorium_pipeline::perception::Perception;
use sensorium_pipeline::runtime::{Finished, Runtime, RuntimeConfig, Stages};
use sensorium_pipeline::streams::{decode, Decoded, Role, TopicMap};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use tracing::{info, warn};

/// Diagnostic levels (`diagnostic_msgs/DiagnosticStatus`).
pub const OK: u8 = 0;
pub const WARN: u8 = 1;
pub const ERROR: u8 = 2;
pub const STALE: u8 = 3;

/// Everything the node needs; [`NodeSettings::new`] gives the defaults of the layered configuration.
#[derive(Debug, Clone)]
pub struct NodeSettings {
    pub topics: TopicMap,
    pub sync: PolicyConfig,
    /// A stream is stale after its period × this factor (WARN), × 2 (ERROR).
    pub stale_factor: f64,
    pub map_text_ttl: f64,
    /// A frame set whose triggering message waited longer than this is dropped as late (ms).
    pub deadline_ms: f64,
    /// Capacity of the queue between the subscriber callbacks and the processing thread.
    pub ingest_capacity: usize,
    /// Perception inline on the processing thread or on stage threads.
    pub stages: Stages,
    pub models_dir: PathBuf,
    pub models_variant: Option<String>,
    /// `None`: auto (tuned choice, else tract).
    pub models_backend: Option<sensorium_pipeline::models::Backend>,
    pub models_cache_dir: Option<PathBuf>,
    pub threads: usize,
    /// Fixed calibration; `None`: built from `/tf_static` and `camera_info` as they arrive.
    pub calibration: Option<VehicleCalib>,
    pub queries: Vec<String>,
    /// Per-query BEV similarity maps in the published Scene (`query_maps`).
    pub query_maps: bool,
    pub frame_id: String,
    /// Include the BEV feature tensor in `~scene`.
    pub publish_features: bool,
    /// Advertise `~painted_points` (filled only while someone subscribes).
    pub publish_painted_points: bool,
    /// A message claiming more bytes is refused by the (patched) rosrust transport before any memory
    /// is reserved for it; counted as `dropped_oversized`.
    pub max_message_bytes: usize,
    /// Messages per second accepted per input topic (token bucket, burst of one second); more are
    /// dropped before decoding, counted as `rate_limited_<stream>`. 0: no limit.
    pub max_rate_hz: f64,
    /// How often the ROS master's system state is read to notice a master restart.
    pub master_check_period: Duration,
    pub diagnostics_period: Duration,
}

impl NodeSettings {
    pub fn new(models_dir: PathBuf) -> NodeSettings {
        NodeSettings {
            topics: TopicMap {
                camera: "/camera/image_raw".into(),
                camera_compressed: "/camera/image_raw/compressed".into(),
                prefer_compressed: false,
                camera_info: "/camera/camera_info".into(),
                lidar: "/lidar/points".into(),
                map_text: "/map/text".into(),
                tf_static: "/tf_static".into(),
                ground_truth: String::new(),
            },
            sync: PolicyConfig {
                streams: 2,
                queue: 10,
                max_interval: Some(0.05),
                slop: 0.05,
                trigger: 1,
                max_age: vec![0.15],
                ..Default::default()
            },
            stale_factor: 3.0,
            map_text_ttl: 30.0,
            deadline_ms: 100.0,
            ingest_capacity: 32,
            stages: Stages::Inline,
            models_dir,
            models_variant: None,
            models_backend: None,
            models_cache_dir: None,
            threads: 2,
            calibration: None,
            queries: Vec::new(),
            query_maps: false,
            frame_id: "base_link".into(),
            publish_features: false,
            publish_painted_points: true,
            max_message_bytes: 64 << 20,
            max_rate_hz: 100.0,
            master_check_period: Duration::from_secs(1),
            diagnostics_period: Duration::from_secs(1),
        }
    }

    /// The runtime the node runs: real time on the ROS clock.
    pub fn runtime(&self) -> RuntimeConfig {
        RuntimeConfig {
            assembly: sensorium_pipeline::assembly::AssemblyConfig {
                sync: self.sync.clone(),
                stale_factor: self.stale_factor,
                map_text_ttl: self.map_text_ttl,
                prefer_compressed: self.topics.prefer_compressed,
            },
            deadline_ms: self.deadline_ms,
            real_time: Some(1.0),
            stages: self.stages,
        }
    }

    /// Merges the node's private parameters (`~stale_factor`, `~deadline_ms`, `~map_text_ttl`,
    /// `~publish_features`, `~publish_painted_points`, `~max_message_bytes`, `~max_rate_hz`, `~image_preference`, `~models_dir`, `~frame_id`, `~queries`) over `self`.
    /// Returns the names of the parameters applied.
    pub fn apply_private_params(&mut self) -> Vec<String> {
        let mut applied = Vec::new();
        let get = |name: &str| rosrust::param(&format!("~{name}")).filter(|p| p.exists().unwrap_or(false));
        let f64_param = |name: &str, slot: &mut f64, applied: &mut Vec<String>| {
            if let Some(v) = get(name).and_then(|p| p.get::<f64>().ok()) {
                *slot = v;
                applied.push(name.to_string());
            }
        };
        f64_param("stale_factor", &mut self.stale_factor, &mut applied);
        f64_param("deadline_ms", &mut self.deadline_ms, &mut applied);
        f64_param("map_text_ttl", &mut self.map_text_ttl, &mut applied);
        if let Some(v) = get("publish_features").and_then(|p| p.get::<bool>().ok()) {
            self.publish_features = v;
            applied.push("publish_features".into());
        }
        if let Some(v) = get("publish_painted_points").and_then(|p| p.get::<bool>().ok()) {
            self.publish_painted_points = v;
            applied.push("publish_painted_points".into());
        }
        if let Some(v) = get("max_message_bytes").and_then(|p| p.get::<i32>().ok()) {
            self.max_message_bytes = v.max(1024) as usize;
            applied.push("max_message_bytes".into());
        }
        f64_param("max_rate_hz", &mut self.max_rate_hz, &mut applied);
        if let Some(v) = get("image_preference").and_then(|p| p.get::<String>().ok()) {
            self.topics.prefer_compressed = v == "compressed";
            applied.push("image_preference".into());
        }
        if let Some(v) = get("models_dir").and_then(|p| p.get::<String>().ok()) {
            self.models_dir = PathBuf::from(v);
            applied.push("models_dir".into());
        }
        if let Some(v) = get("frame_id").and_then(|p| p.get::<String>().ok()) {
            self.frame_id = v;
            applied.push("frame_id".into());
        }
        if let Some(v) = get("queries").and_then(|p| p.get::<Vec<String>>().ok()) {
            self.queries = v;
            applied.push("queries".into());
        }
        applied
    }
}

/// What a node run did, returned when it exits.
#[derive(Debug, Clone, Default)]
pub struct NodeReport {
    /// Frame sets formed (matched by the synchronizer or fused alone in a degraded mode): each ends
    /// as a scene or as a drop (`late`, `pipeline_error`).
    pub framesets: u64,
    pub scenes: u64,
    pub modalities: BTreeMap<String, u64>,
    pub received: BTreeMap<String, u64>,
    pub dropped: BTreeMap<String, u64>,
    /// Message received → scene published (ms), p50 and p99.
    pub latency_p50_ms: f64,
    pub latency_p99_ms: f64,
    /// Set when the node stopped because the ROS master restarted (see [`EXIT_MASTER_RESTARTED`]).
    pub master_restarted: Option<String>,
}

/// Exit status of `sensorium node` after a master restart: rosrust cannot re-register with a new
/// master, so the node exits and roslaunch's `respawn` (on in `launch/sensorium.launch`) starts it
/// again, registered with the new master.
pub const EXIT_MASTER_RESTARTED: i32 = 3;

/// Watches the ROS master from its own thread (a call to an unreachable master may block for the
/// TCP timeout; the processing loop must not). Every `period` it asks the master for its system
/// state (uncached, unlike rosrust's parameters): when a master that answers no longer lists this
/// node as the publisher of `topic` (advertised before the watch starts) on two checks in a row, it
/// is a new master that never heard of the node — roscore was restarted. An unreachable master alone
/// is not a restart: publishers and subscribers already connected go on peer to peer, as in roscpp
/// and rospy.
fn watch_master(topic: String, period: Duration, stop: Arc<AtomicBool>) -> Arc<OnceLock<String>> {
    let restarted = Arc::new(OnceLock::new());
    let out = Arc::clone(&restarted);
    let spawned = std::thread::Builder::new()
        .name("master-watch".into())
        .spawn(move || {
            let node = rosrust::name();
            let mut missing = 0u32;
            let mut unreachable_since: Option<Instant> = None;
            while !stop.load(Ordering::SeqCst) && rosrust::is_ok() {
                match rosrust::state() {
                    Ok(state) => {
                        if let Some(t) = unreachable_since.take() {
                            info!(
                                after_s = t.elapsed().as_secs_f64(),
                                "the ROS master answers again"
                            );
                        }
                        let registered = state
                            .publishers
                            .iter()
                            .any(|t| t.name == topic && t.connections.contains(&node));
                        missing = if registered { 0 } else { missing + 1 };
                        if missing >= 2 {
                            let msg = format!(
                                "the ROS master no longer lists {node} as publisher of {topic}: it was \
                                 restarted, and rosrust cannot register again; exiting with status \
                                 {EXIT_MASTER_RESTARTED} so that roslaunch's respawn starts the node with \
                                 the new master"
                            );
                            warn!("{msg}");
                            let _ = restarted.set(msg);
                            return;
                        }
                    }
                    Err(e) => {
                        if unreachable_since.is_none() {
                            warn!("the ROS master does not answer ({e}); connected topics go on");
                            unreachable_since = Some(Instant::now());
                        }
                    }
                }
                std::thread::sleep(period);
            }
        });
    if let Err(e) = spawned {
        warn!("cannot start the master watch thread: {e}");
    }
    out
}

/// Receive statistics of one input stream, on the wall clock.
#[derive(Debug, Default, Clone, Copy)]
struct WallRate {
    count: u64,
    last: Option<Instant>,
    period: Option<f64>,
}

impl WallRate {
    fn observe(&mut self, now: Instant) {
        if let Some(l) = self.last {
            let dt = now.duration_since(l).as_secs_f64();
            if dt > 1e-4 && dt < 10.0 {
                self.period = Some(self.period.map_or(dt, |p| 0.9 * p + 0.1 * dt));
            }
        }
        self.count += 1;
        self.last = Some(now);
    }
}

/// Level of a stream at `now`: OK while it arrives within period × factor, WARN beyond, ERROR beyond
/// twice that (or when it never arrived while its peer did).
fn stream_level(r: &WallRate, now: Instant, factor: f64) -> (u8, String) {
    match (r.last, r.period) {
        (None, _) => (WARN, "no message received".into()),
        (Some(l), Some(p)) => {
            let age = now.duration_since(l).as_secs_f64();
            if age > 2.0 * p * factor {
                (
                    ERROR,
                    format!("stale: no message for {age:.2} s (period {p:.3} s)"),
                )
            } else if age > p * factor {
                (WARN, format!("late: no message for {age:.2} s (period {p:.3} s)"))
            } else {
                (OK, format!("{:.1} Hz", 1.0 / p))
            }
        }
        (Some(_), None) => (OK, "one message received".into()),
    }
}

struct Ingest {
    role: Role,
    /// Wall-clock arrival.
    received: Instant,
    /// Arrival on the ROS clock (simulated time under `/use_sim_time`).
    stamp: Stamp,
    decoded: Result<Decoded, String>,
    topic: String,
}

#[derive(Default)]
struct Shared {
    rates: BTreeMap<&'static str, WallRate>,
    dropped: BTreeMap<String, u64>,
}

/// Set by SIGINT/SIGTERM.
fn stop_flag() -> Result<Arc<AtomicBool>> {
    static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    if let Some(f) = FLAG.get() {
        return Ok(Arc::clone(f));
    }
    let flag = Arc::new(AtomicBool::new(false));
    let f2 = Arc::clone(&flag);
    ctrlc::set_handler(move || f2.store(true, Ordering::SeqCst))
        .context("installing the SIGINT/SIGTERM handler")?;
    Ok(Arc::clone(FLAG.get_or_init(|| flag)))
}

fn ros_now() -> Stamp {
    let t = rosrust::now();
    Stamp::new(t.sec, t.nsec)
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted.get(i).copied().unwrap_or(0.0)
}

fn raw_description<M: RosMessage>() -> RawMessageDescription {
    scene_msg::description_for::<M>()
}

/// Runs the node `name` until SIGINT/SIGTERM or a ROS shutdown. Waits for the ROS master first (as
/// roscpp does; a signal while waiting ends the run with an empty report). Initialises rosrust without its
/// signal handler (`try_init_with_options(name, false)`): on a signal the frame set in flight is
/// finished, queued inputs are dropped (counted as `shutdown_pending`) and the node unregisters.
pub fn run_node(mut settings: NodeSettings, name: &str) -> Result<NodeReport> {
    let stop = stop_flag()?;
    let master = rosrust::api::resolve::master();
    if !crate::master::wait_for_master(&master, &stop, Duration::from_millis(500)) {
        info!(master, "stopped while waiting for the ROS master");
        return Ok(NodeReport::default());
    }
    rosrust::try_init_with_options(name, false).map_err(|e| anyhow!("rosrust init as {name}: {e}"))?;
    let applied = settings.apply_private_params();
    if !applied.is_empty() {
        info!(?applied, "private parameters applied");
    }
    let result = run_inner(&settings, &stop);
    rosrust::shutdown();
    result
}

fn run_inner(s: &NodeSettings, stop: &AtomicBool) -> Result<NodeReport> {
    let node_name = rosrust::name();
    let diag_pub = rosrust::publish_with_description::<RawMessage>(
        "/diagnostics",
        10,
        raw_description::<DiagnosticArray>(),
    )
    .map_err(|e| anyhow!("advertising /diagnostics: {e}"))?;
    let scene_pub = rosrust::publish_with_description::<RawMessage>("~scene", 4, scene_msg::description())
        .map_err(|e| anyhow!("advertising ~scene: {e}"))?;
    let occ_pub =
        rosrust::publish_with_description::<RawMessage>("~occupancy", 4, raw_description::<OccupancyGrid>())
            .map_err(|e| anyhow!("advertising ~occupancy: {e}"))?;
    let marker_pub =
        rosrust::publish_with_description::<RawMessage>("~markers", 4, raw_description::<MarkerArray>())
            .map_err(|e| anyhow!("advertising ~markers: {e}"))?;
    let painted_pub = if s.publish_painted_points {
        Some(
            rosrust::publish_with_description::<RawMessage>(
                "~painted_points",
                2,
                raw_description::<sensorium_msgs::PointCloud2>(),
            )
            .map_err(|e| anyhow!("advertising ~painted_points: {e}"))?,
        )
    } else {
        None
    };
    let watch_stop = Arc::new(AtomicBool::new(false));
    let master_restarted = watch_master(
        format!("{}/scene", node_name.trim_end_matches('/')),
        s.master_check_period,
        Arc::clone(&watch_stop),
    );

    let send_diag = |status: Vec<DiagnosticStatus>| {
        let msg = DiagnosticArray {
            header: Header::new(ros_now(), ""),
            status,
        };
        if let Err(e) = diag_pub.send(RawMessage(msg.to_bytes())) {
            warn!("publishing /diagnostics: {e}");
        }
    };

    // models first: their load status is the first diagnostic
    let t_load = Instant::now();
    let selection = sensorium_pipeline::models::Selection {
        backend: s.models_backend,
        variant: s.models_variant.clone(),
        threads: s.threads.max(1),
        cache_dir: s.models_cache_dir.clone(),
    };
    let models = Models::load(&s.models_dir, &selection);
    let load_ms = t_load.elapsed().as_secs_f64() * 1e3;
    let mut models = match models {
        Ok(m) => Some(m),
        Err(e) => {
            let detail = format!("{e:#}");
            send_diag(vec![DiagnosticStatus {
                level: ERROR,
                name: "sensorium: models".into(),
                message: detail.clone(),
                hardware_id: node_name.clone(),
                values: vec![KeyValue {
                    key: "dir".into(),
                    value: s.models_dir.display().to_string(),
                }],
            }]);
            return Err(anyhow!(
                "loading models from {}: {detail}",
                s.models_dir.display()
            ));
        }
    };
    info!(ms = load_ms as u64, "models loaded");

    // the transport refuses a message over the cap before reserving memory for it (vendored rosrust)
    rosrust::limits::set_max_message_bytes(s.max_message_bytes);
    let oversized_at_start = rosrust::limits::oversized_messages();
    let (tx, rx) = ingest_queue::<Ingest>(s.ingest_capacity);
    let shared = Arc::new(Mutex::new(Shared::default()));
    let mut subs = Vec::new();
    let t = &s.topics;
    for (topic, role) in [
        (&t.camera, Role::CameraRaw),
        (&t.camera_compressed, Role::CameraCompressed),
        (&t.camera_info, Role::CameraInfo),
        (&t.lidar, Role::Lidar),
        (&t.map_text, Role::MapText),
        (&t.tf_static, Role::TfStatic),
    ] {
        if topic.is_empty() {
            continue;
        }
        subs.push(subscribe(
            topic,
            role,
            s.max_rate_hz,
            tx.clone(),
            Arc::clone(&shared),
        )?);
    }
    drop(tx);
    info!(topics = subs.len(), "subscribed");

    let mut state = Processing {
        s,
        runtime: None,
        calib: CalibCollector::default(),
        lidar_frame: None,
        early_map_text: None,
        report: NodeReport::default(),
        latencies: Vec::new(),
        header_seq: 0,
        calib_error: String::from("waiting for /tf_static and camera_info"),
    };
    if let Some(c) = &s.calibration {
        state.start_runtime(&mut models, c.clone())?;
    }
    let publish =
        |scene: &Scene, seq: u32, painted: Option<&sensorium_pipeline::perception::PaintedCloud>| {
            let body = scene_msg::encode(scene, seq, s.publish_features);
            if let Err(e) = scene_pub.send(RawMessage(body)) {
                warn!("publishing ~scene: {e}");
            }
            let grid = scene_msg::occupancy_grid(scene, seq);
            if let Err(e) = occ_pub.send(RawMessage(grid.to_bytes())) {
                warn!("publishing ~occupancy: {e}");
            }
            let markers = sensorium_pipeline::publish::scene_markers(scene, seq);
            if let Err(e) = marker_pub.send(RawMessage(markers.to_bytes())) {
                warn!("publishing ~markers: {e}");
            }
            if let (Some(p), Some(c)) = (painted_pub.as_ref(), painted) {
                let cloud = sensorium_pipeline::publish::painted_points(
                    &c.points,
                    &c.features,
                    c.width,
                    scene.stamp,
                    &scene.frame_id,
                    seq,
                );
                if let Err(e) = p.send(RawMessage(cloud.to_bytes())) {
                    warn!("publishing ~painted_points: {e}");
                }
            }
        };
    let mut last_diag: Option<Instant> = None;
    let mut last_levels: Vec<u8> = Vec::new();
    let mut done: Vec<Finished> = Vec::new();
    while !stop.load(Ordering::SeqCst) && rosrust::is_ok() {
        // built only for a listener: a painted cloud is ~150 B per point
        if let (Some(rt), Some(p)) = (state.runtime.as_ref(), painted_pub.as_ref()) {
            rt.paint_every_point(p.subscriber_count() > 0);
        }
        // sets on stage threads are picked up within a few milliseconds of finishing
        let wait = match state.runtime.as_ref() {
            Some(rt) if rt.in_flight() > 0 => Duration::from_millis(2),
            _ => Duration::from_millis(50),
        };
        match recv_timeout(&rx, wait) {
            // the frame sets of this input are in flight: finished even when a signal arrives meanwhile
            Ok(Some(item)) => state.ingest(item, &mut models, &shared, &mut done)?,
            Ok(None) => {}
            Err(_) => break,
        }
        if let Some(rt) = state.runtime.as_mut() {
            rt.poll(&mut |f| {
                done.push(f);
                Ok(())
            })?;
        }
        for f in done.drain(..) {
            if let Some((scene, painted)) = state.finished(f) {
                publish(&scene, state.header_seq, painted.as_ref());
            }
        }
        if let Some(msg) = master_restarted.get() {
            state.report.master_restarted = Some(msg.clone());
            break;
        }
        // periodically, and at once when a level changes (so WARN is seen before ERROR)
        let levels = state.levels(&shared);
        if last_diag.is_none_or(|l| l.elapsed() >= s.diagnostics_period) || levels != last_levels {
            last_diag = Some(Instant::now());
            last_levels = levels;
            send_diag(state.diagnostics(&node_name, &shared, load_ms));
        }
    }
    // drain: what is still queued is not processed; the sets already in perception finish
    watch_stop.store(true, Ordering::SeqCst); // not joined: it may sit in a call to a dead master
    drop(subs);
    let pending = rx.try_iter().count() as u64;
    if pending > 0 {
        let mut sh = shared
            .lock()
            .map_err(|_| anyhow!("stream statistics lock poisoned"))?;
        *sh.dropped.entry("shutdown_pending".into()).or_default() += pending;
    }
    let mut runtime_drops = BTreeMap::new();
    if let Some(rt) = state.runtime.take() {
        state.report.framesets = rt.framesets();
        let report = rt.finish(&mut |f| {
            done.push(f);
            Ok(())
        })?;
        for f in done.drain(..) {
            if let Some((scene, painted)) = state.finished(f) {
                publish(&scene, state.header_seq, painted.as_ref());
            }
        }
        runtime_drops = report.dropped;
    }
    // goodbye on /diagnostics: the aggregator and monitoring see a node that stopped, not one gone quiet
    let why = if state.report.master_restarted.is_some() {
        "the ROS master restarted"
    } else if stop.load(Ordering::SeqCst) {
        "SIGINT/SIGTERM"
    } else {
        "ROS shutdown"
    };
    send_diag(vec![DiagnosticStatus {
        level: STALE,
        name: "sensorium: pipeline".into(),
        message: format!("stopped ({why}): {} scenes published", state.report.scenes),
        hardware_id: node_name.clone(),
        values: Vec::new(),
    }]);
    if diag_pub.subscriber_count() > 0 {
        // the publisher's connection threads send it; the process must not end first
        std::thread::sleep(Duration::from_millis(300));
    }
    let mut report = state.report.clone();
    let mut lat = state.latencies.clone();
    lat.sort_by(f64::total_cmp);
    report.latency_p50_ms = percentile(&lat, 0.5);
    report.latency_p99_ms = percentile(&lat, 0.99);
    if let Ok(sh) = shared.lock() {
        report.received = sh.rates.iter().map(|(k, v)| (k.to_string(), v.count)).collect();
        for (k, v) in &sh.dropped {
            *report.dropped.entry(k.clone()).or_default() += v;
        }
    }
    for (k, v) in &runtime_drops {
        *report.dropped.entry(k.clone()).or_default() += v;
    }
    let oversized = rosrust::limits::oversized_messages().saturating_sub(oversized_at_start);
    if oversized > 0 {
        *report.dropped.entry("oversized".into()).or_default() += oversized;
    }
    info!(
        scenes = report.scenes,
        p50 = report.latency_p50_ms,
        p99 = report.latency_p99_ms,
        "node stopped"
    );
    Ok(report)
}

/// Token bucket: `rate` tokens per second, at most one second's worth banked. Rate 0: unlimited.
struct TokenBucket {
    rate: f64,
    tokens: f64,
    last: Option<Instant>,
}

impl TokenBucket {
    fn new(rate: f64) -> Self {
        TokenBucket {
            rate,
            tokens: rate.max(1.0),
            last: None,
        }
    }

    /// Takes a token at `now`; false when none is left.
    fn take(&mut self, now: Instant) -> bool {
        if self.rate <= 0.0 {
            return true;
        }
        if let Some(l) = self.last {
            let dt = now.saturating_duration_since(l).as_secs_f64();
            self.tokens = (self.tokens + dt * self.rate).min(self.rate.max(1.0));
        }
        self.last = Some(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

fn bump(shared: &Mutex<Shared>, key: &str) {
    if let Ok(mut sh) = shared.lock() {
        *sh.dropped.entry(key.to_string()).or_default() += 1;
    }
}

/// Subscribes `topic` as raw bytes. A full ingest queue drops its oldest message (the freshest data
/// wins), counted as `ingest_overflow_<stream of the dropped message>`; `/tf_static` (latched, sent once)
/// waits for room instead.
fn subscribe(
    topic: &str,
    role: Role,
    max_rate_hz: f64,
    tx: IngestSender<Ingest>,
    shared: Arc<Mutex<Shared>>,
) -> Result<rosrust::Subscriber> {
    // the publisher's datatype comes with its connection header (RawMessage subscribes with "*")
    let datatype = Arc::new(Mutex::new(String::from("*")));
    let dt_connect = Arc::clone(&datatype);
    let name = topic.to_string();
    let bucket = Mutex::new(TokenBucket::new(max_rate_hz));
    rosrust::subscribe_with_ids_and_headers(
        topic,
        4,
        move |raw: RawMessage, _caller: &str| {
            let received = Instant::now();
            // per-topic rate limit, before any decoding work (calibration topics are never limited)
            let limited = !matches!(role, Role::TfStatic | Role::CameraInfo)
                && bucket.lock().is_ok_and(|mut b| !b.take(received));
            if limited {
                bump(&shared, &format!("rate_limited_{}", role.name()));
                return;
            }
            let dtype = datatype.lock().map(|d| d.clone()).unwrap_or_else(|_| "*".into());
            let dtype = if dtype == "*" && role == Role::TfStatic {
                "tf2_msgs/TFMessage".to_string()
            } else {
                dtype
            };
            let decoded = decode(role, &name, &dtype, &raw.0).map_err(|e| e.to_string());
            if let Ok(mut sh) = shared.lock() {
                sh.rates.entry(role.name()).or_default().observe(received);
            }
            let item = Ingest {
                role,
                received,
                stamp: ros_now(),
                decoded,
                topic: name.clone(),
            };
            if role == Role::TfStatic {
                let _ = tx.send(item, Some(Duration::from_secs(1)));
            } else if let Ok(Some(old)) = tx.push(item) {
                bump(&shared, &format!("ingest_overflow_{}", old.role.name()));
            }
        },
        move |headers: HashMap<String, String>| {
            if let (Some(t), Ok(mut d)) = (headers.get("type"), dt_connect.lock()) {
                *d = t.clone();
            }
        },
    )
    .map_err(|e| anyhow!("subscribing to {topic}: {e}"))
}

struct Processing<'a> {
    s: &'a NodeSettings,
    /// Started once the calibration is known.
    runtime: Option<Runtime>,
    calib: CalibCollector,
    lidar_frame: Option<String>,
    /// Map text received before the runtime started, with its receive time.
    early_map_text: Option<(sensorium_core::MapText, Stamp)>,
    report: NodeReport,
    latencies: Vec<f64>,
    header_seq: u32,
    calib_error: String,
}

impl Processing<'_> {
    fn start_runtime(&mut self, models: &mut Option<Models>, calib: VehicleCalib) -> Result<()> {
        let m = models.take().ok_or_else(|| anyhow!("models already used"))?;
        let mut p =
            Perception::new(m, calib, &self.s.queries, &self.s.frame_id)?.with_query_maps(self.s.query_maps);
        p.lidar.keep_points = false; // the node renders nothing
        let mut rt = Runtime::new(p, self.s.runtime())?;
        if let Some((m, at)) = self.early_map_text.take() {
            rt.ingest(
                Role::MapText,
                Decoded::MapText(m),
                at,
                Instant::now(),
                &mut |_| Ok(()),
            )?;
        }
        self.runtime = Some(rt);
        info!(stages = ?self.s.stages, "calibration ready: perception running");
        Ok(())
    }

    fn try_calibrate(&mut self, models: &mut Option<Models>) -> Result<()> {
        if self.runtime.is_some() {
            return Ok(());
        }
        let Some(lf) = self.lidar_frame.clone() else {
            self.calib_error = "waiting for a LiDAR message (its frame id)".into();
            return Ok(());
        };
        match self.calib.build(&lf, &self.s.frame_id) {
            Ok(c) => self.start_runtime(models, c),
            Err(e) => {
                self.calib_error = e;
                Ok(())
            }
        }
    }

    /// One input into the runtime; the frame sets that finish meanwhile go to `done`.
    fn ingest(
        &mut self,
        item: Ingest,
        models: &mut Option<Models>,
        shared: &Mutex<Shared>,
        done: &mut Vec<Finished>,
    ) -> Result<()> {
        *self
            .report
            .received
            .entry(item.role.name().to_string())
            .or_default() += 1;
        let decoded = match item.decoded {
            Ok(d) => d,
            Err(e) => {
                warn!(topic = item.topic, "decode error: {e}");
                bump(shared, &format!("decode_error_{}", item.role.name()));
                return Ok(());
            }
        };
        match decoded {
            Decoded::TfStatic(tf) => {
                self.calib.add_tf(&tf);
                return self.try_calibrate(models);
            }
            Decoded::CameraInfo(ci) => {
                self.calib.add_camera_info(&ci);
                return self.try_calibrate(models);
            }
            Decoded::GroundTruth(_) => return Ok(()),
            Decoded::Lidar(ref cloud) if self.lidar_frame.is_none() => {
                self.lidar_frame = Some(cloud.frame_id.trim_start_matches('/').to_string());
                self.try_calibrate(models)?;
            }
            _ => {}
        }
        let Some(rt) = self.runtime.as_mut() else {
            match decoded {
                Decoded::MapText(m) => self.early_map_text = Some((m, item.stamp)),
                _ => bump(shared, &format!("waiting_for_calibration_{}", item.role.name())),
            }
            return Ok(());
        };
        rt.ingest(item.role, decoded, item.stamp, item.received, &mut |f| {
            done.push(f);
            Ok(())
        })?;
        Ok(())
    }

    /// A finished frame set: its scene (counted) and painted cloud to publish, or `None` when it failed.
    fn finished(
        &mut self,
        f: Finished,
    ) -> Option<(Scene, Option<sensorium_pipeline::perception::PaintedCloud>)> {
        match f.result {
            Ok((scene, dbg)) => {
                self.header_seq = self.header_seq.wrapping_add(1);
                self.report.scenes += 1;
                *self
                    .report
                    .modalities
                    .entry(scene.mask.names().join("+"))
                    .or_default() += 1;
                self.latencies.push(scene.end_to_end_ms);
                if self.latencies.len() > 100_000 {
                    self.latencies.drain(..50_000);
                }
                Some((scene, dbg.painted_cloud))
            }
            Err(e) => {
                warn!("frame set {}: {e}", f.set.seq);
                None
            }
        }
    }

    /// The levels [`Self::diagnostics`] would report, in the same order.
    fn levels(&self, shared: &Mutex<Shared>) -> Vec<u8> {
        self.diagnostics_inner(None, shared, 0.0)
            .iter()
            .map(|d| d.level)
            .collect()
    }

    fn diagnostics(&self, hw: &str, shared: &Mutex<Shared>, load_ms: f64) -> Vec<DiagnosticStatus> {
        self.diagnostics_inner(Some(hw), shared, load_ms)
    }

    /// `hw`: the hardware id (empty when only the levels are wanted).
    fn diagnostics_inner(
        &self,
        hw: Option<&str>,
        shared: &Mutex<Shared>,
        load_ms: f64,
    ) -> Vec<DiagnosticStatus> {
        let now = Instant::now();
        let kv = |k: &str, v: String| KeyValue {
            key: k.into(),
            value: v,
        };
        let mut out = Vec::new();
        let (rates, dropped) = match shared.lock() {
            Ok(sh) => (sh.rates.clone(), sh.dropped.clone()),
            Err(_) => Default::default(),
        };
        let camera_role = if self.s.topics.prefer_compressed {
            "camera_compressed"
        } else {
            "camera"
        };
        let camera_any = rates
            .get(camera_role)
            .or_else(|| rates.get("camera"))
            .or_else(|| rates.get("camera_compressed"))
            .copied()
            .unwrap_or_default();
        for (label, r, topic) in [
            ("camera", camera_any, self.s.topics.camera.as_str()),
            (
                "lidar",
                rates.get("lidar").copied().unwrap_or_default(),
                self.s.topics.lidar.as_str(),
            ),
            (
                "map_text",
                rates.get("map_text").copied().unwrap_or_default(),
                self.s.topics.map_text.as_str(),
            ),
        ] {
            let (mut level, msg) = stream_level(&r, now, self.s.stale_factor);
            if label == "map_text" && level > OK {
                level = OK; // map text is latched / occasional: never degrades the node
            }
            out.push(DiagnosticStatus {
                level,
                name: format!("sensorium: input {label}"),
                message: msg,
                hardware_id: hw.unwrap_or_default().into(),
                values: vec![
                    kv("topic", topic.into()),
                    kv("received", r.count.to_string()),
                    kv(
                        "rate_hz",
                        r.period.map_or("0".into(), |p| format!("{:.2}", 1.0 / p)),
                    ),
                    kv(
                        "age_s",
                        r.last.map_or("never".into(), |l| {
                            format!("{:.3}", now.duration_since(l).as_secs_f64())
                        }),
                    ),
                ],
            });
        }
        // degraded mode: the fused modalities
        let cam_level = out.first().map_or(OK, |d| d.level);
        let lidar_level = out.get(1).map_or(OK, |d| d.level);
        let (level, message) = if self.runtime.is_none() {
            (WARN, format!("waiting for calibration: {}", self.calib_error))
        } else if cam_level > OK && lidar_level > OK {
            (ERROR, "no camera and no LiDAR".to_string())
        } else if cam_level > OK {
            (
                cam_level,
                "degraded: LiDAR-only scenes (camera missing)".to_string(),
            )
        } else if lidar_level > OK {
            (
                lidar_level,
                "degraded: camera-only scenes (LiDAR missing)".to_string(),
            )
        } else {
            (OK, "camera + LiDAR fused".to_string())
        };
        let mut lat = self
            .latencies
            .iter()
            .rev()
            .take(1000)
            .copied()
            .collect::<Vec<_>>();
        lat.sort_by(f64::total_cmp);
        let mut values = vec![
            kv("scenes", self.report.scenes.to_string()),
            kv("latency_p50_ms", format!("{:.2}", percentile(&lat, 0.5))),
            kv("latency_p99_ms", format!("{:.2}", percentile(&lat, 0.99))),
        ];
        for (k, v) in &self.report.modalities {
            values.push(kv(&format!("modalities_{k}"), v.to_string()));
        }
        let mut all_drops = dropped;
        for (k, v) in self.runtime.iter().flat_map(Runtime::drops) {
            *all_drops.entry(k).or_default() += v;
        }
        *all_drops.entry("oversized".into()).or_default() += rosrust::limits::oversized_messages();
        for (k, v) in all_drops.iter().filter(|(_, v)| **v > 0) {
            values.push(kv(&format!("dropped_{k}"), v.to_string()));
        }
        out.push(DiagnosticStatus {
            level,
            name: "sensorium: pipeline".into(),
            message,
            hardware_id: hw.unwrap_or_default().into(),
            values,
        });
        out.push(DiagnosticStatus {
            level: OK,
            name: "sensorium: models".into(),
            message: format!("loaded in {load_ms:.0} ms"),
            hardware_id: hw.unwrap_or_default().into(),
            values: vec![kv("dir", self.s.models_dir.display().to_string())],
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_levels_follow_the_stale_factor() {
        let t0 = Instant::now();
        let mut r = WallRate::default();
        assert_eq!(stream_level(&r, t0, 3.0).0, WARN);
        for k in 0..5 {
            r.observe(t0 + Duration::from_millis(100 * k));
        }
        let last = t0 + Duration::from_millis(400);
        assert_eq!(stream_level(&r, last + Duration::from_millis(200), 3.0).0, OK);
        assert_eq!(stream_level(&r, last + Duration::from_millis(400), 3.0).0, WARN);
        assert_eq!(stream_level(&r, last + Duration::from_millis(700), 3.0).0, ERROR);
        assert_eq!(r.count, 5);
    }

    #[test]
    fn token_bucket_limits_the_rate_after_a_one_second_burst() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(10.0);
        // 100 messages in one second at 100 Hz: the banked second (10) plus 10 refilled, give or take one
        let passed = (0..100)
            .filter(|k| b.take(t0 + Duration::from_millis(10 * k)))
            .count();
        assert!((19..=21).contains(&passed), "{passed}");
        let mut free = TokenBucket::new(0.0);
        assert!((0..1000).all(|_| free.take(t0)));
    }

    #[test]
    fn percentiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), 51.0);
        assert_eq!(percentile(&v, 0.99), 99.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
    }
}
