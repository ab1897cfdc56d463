//! The live node: subscriptions → the shared pipeline → `~scene`, `~occupancy`, `~markers`,
//! `/diagnostics`, on ROS 1 ([`crate::ros1`]) or ROS 2 ([`crate::ros2`]).
//!
//! A middleware is a [`Transport`]: a source and a sink around one processing loop ([`serve`]). Its
//! receive callbacks decode each message with [`sensorium_pipeline::streams::decode`] and hand it to
//! the processing thread through the ingest queue ([`sensorium_engine::ingest`]: bounded, a full queue
//! drops its oldest message and counts it). The processing thread collects the calibration from
//! `/tf_static` + `camera_info` ([`CalibCollector`]) unless one is given, then starts the shared
//! runtime ([`Runtime`], the same one replay runs: assembly, deadlines, perception inline or on stage
//! threads) and publishes every finished scene through the transport.

use crate::diagnostics::{percentile, ERROR, STALE};
use crate::input::{bump, Accept, Ingest, Shared};
use crate::scene_msg;
use crate::settings::NodeSettings;
use anyhow::{anyhow, Context, Result};
use sensorium_core::{Scene, Stamp};
use sensorium_engine::ingest::{ingest_queue, recv_timeout};
use sensorium_geometry::VehicleCalib;
use sensorium_msgs::{
    DiagnosticArray, DiagnosticStatus, Header, KeyValue, MarkerArray, OccupancyGrid, RosMessage,
};
use sensorium_pipeline::calibration::CalibCollector;
use sensorium_pipeline::models::Models;
use sensorium_pipeline::perception::Perception;
use sensorium_pipeline::runtime::{Finished, Runtime};
use sensorium_pipeline::streams::{Decoded, Role};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use tracing::{info, warn};

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

impl NodeReport {
    /// The report as `key=value` lines (what `sensorium node` prints on stdout when it exits):
    /// `framesets`, `scenes`, `modalities_<kind>`, `received_<role>`, `dropped_<reason>`,
    /// `latency_p50_ms`, `latency_p99_ms`, and `master_restarted=1` after a master restart.
    pub fn key_values(&self) -> String {
        let mut out = format!("framesets={}\nscenes={}\n", self.framesets, self.scenes);
        for (prefix, map) in [
            ("modalities", &self.modalities),
            ("received", &self.received),
            ("dropped", &self.dropped),
        ] {
            for (k, v) in map {
                out.push_str(&format!("{prefix}_{k}={v}\n"));
            }
        }
        out.push_str(&format!(
            "latency_p50_ms={:.2}\nlatency_p99_ms={:.2}\n",
            self.latency_p50_ms, self.latency_p99_ms
        ));
        if self.master_restarted.is_some() {
            out.push_str("master_restarted=1\n");
        }
        out
    }
}

/// Exit status of `sensorium node` after a master restart: rosrust cannot re-register with a new
/// master, so the node exits and roslaunch's `respawn` (on in `launch/sensorium.launch`) starts it
/// again, registered with the new master.
pub const EXIT_MASTER_RESTARTED: i32 = 3;

/// Set by SIGINT/SIGTERM.
pub(crate) fn stop_flag() -> Result<Arc<AtomicBool>> {
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

/// What the node publishes, each on its own topic of the transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Output {
    /// `~scene`: `sensorium_msgs/Scene`.
    Scene,
    /// `~occupancy`: `nav_msgs/OccupancyGrid`.
    Occupancy,
    /// `~markers`: `visualization_msgs/MarkerArray`.
    Markers,
    /// `~painted_points`: `sensor_msgs/PointCloud2`.
    Painted,
    /// `/diagnostics`: `diagnostic_msgs/DiagnosticArray`.
    Diagnostics,
}

impl Output {
    /// The topic's name relative to the node (`~name`), or absolute.
    pub(crate) fn topic(self) -> &'static str {
        match self {
            Output::Scene => "~scene",
            Output::Occupancy => "~occupancy",
            Output::Markers => "~markers",
            Output::Painted => "~painted_points",
            Output::Diagnostics => "/diagnostics",
        }
    }

    /// ROS1 type name, definition (`gendeps --cat` form) and md5sum.
    pub(crate) fn message(self) -> (&'static str, &'static str, &'static str) {
        fn of<M: RosMessage>() -> (&'static str, &'static str, &'static str) {
            (M::DATATYPE, M::DEFINITION, M::MD5SUM)
        }
        match self {
            Output::Scene => (scene_msg::DATATYPE, scene_msg::definition(), scene_msg::md5sum()),
            Output::Occupancy => of::<OccupancyGrid>(),
            Output::Markers => of::<MarkerArray>(),
            Output::Painted => of::<sensorium_msgs::PointCloud2>(),
            Output::Diagnostics => of::<DiagnosticArray>(),
        }
    }

    /// Messages kept for a late or slow subscriber.
    pub(crate) fn depth(self) -> usize {
        match self {
            Output::Diagnostics => 10,
            Output::Painted => 2,
            _ => 4,
        }
    }
}

/// A middleware the node runs on: its inputs are a source of the shared runtime (each message goes
/// through [`Accept::offer`] into the ingest queue), its outputs a sink of ROS1-serialized bodies
/// (the transport converts them to its own wire form).
pub(crate) trait Transport {
    /// The node's fully qualified name (the diagnostics' hardware id).
    fn node_name(&self) -> String;
    /// Now, on the node's clock.
    fn now(&self) -> Stamp;
    /// False once the middleware has shut down.
    fn ok(&self) -> bool;
    /// Advertises `outputs`.
    fn advertise(&mut self, outputs: &[Output]) -> Result<()>;
    /// Subscribes each input (its topic and role are in the [`Accept`]).
    fn subscribe(&mut self, inputs: Vec<Accept>) -> Result<()>;
    /// Ends every subscription (no more input).
    fn unsubscribe(&mut self);
    /// Someone subscribes to `output` now.
    fn has_subscribers(&self, output: Output) -> bool;
    /// Publishes a ROS1-serialized body on `output`.
    fn publish(&self, output: Output, ros1: Vec<u8>) -> Result<()>;
    /// Why the node must stop although no signal came (a ROS master restart).
    fn restarted(&self) -> Option<String> {
        None
    }
    /// Messages the transport refused as too large, so far.
    fn oversized(&self) -> u64 {
        0
    }
    /// Before exit: gives the last messages time to leave.
    fn linger(&self) {}
    /// Why the node stopped when [`Self::ok`] turned false.
    fn shutdown_reason(&self) -> &'static str {
        "ROS shutdown"
    }
}

/// The node's processing on `transport` until SIGINT/SIGTERM (`stop`), a shutdown or a restart: models,
/// subscriptions, the shared runtime, publishing and diagnostics. One loop for every middleware.
pub(crate) fn serve(s: &NodeSettings, t: &mut dyn Transport, stop: &AtomicBool) -> Result<NodeReport> {
    let node_name = t.node_name();
    let mut outputs = vec![
        Output::Diagnostics,
        Output::Scene,
        Output::Occupancy,
        Output::Markers,
    ];
    if s.publish_painted_points {
        outputs.push(Output::Painted);
    }
    t.advertise(&outputs)?;
    let send_diag = |t: &dyn Transport, status: Vec<DiagnosticStatus>| {
        let msg = DiagnosticArray {
            header: Header::new(t.now(), ""),
            status,
        };
        if let Err(e) = t.publish(Output::Diagnostics, msg.to_bytes()) {
            warn!("publishing /diagnostics: {e:#}");
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
            send_diag(
                t,
                vec![DiagnosticStatus {
                    level: ERROR,
                    name: "sensorium: models".into(),
                    message: detail.clone(),
                    hardware_id: node_name.clone(),
                    values: vec![KeyValue {
                        key: "dir".into(),
                        value: s.models_dir.display().to_string(),
                    }],
                }],
            );
            return Err(anyhow!(
                "loading models from {}: {detail}",
                s.models_dir.display()
            ));
        }
    };
    info!(ms = load_ms as u64, "models loaded");

    let oversized_at_start = t.oversized();
    let (tx, rx) = ingest_queue::<Ingest>(s.ingest_capacity);
    let shared = Arc::new(Mutex::new(Shared::default()));
    let mut inputs = Vec::new();
    // the live inputs: every configured topic but the simulator's ground truth
    for (topic, role) in s.topics.roles() {
        if role == Role::GroundTruth {
            continue;
        }
        if topic.is_empty() {
            continue;
        }
        inputs.push(Accept::new(
            topic,
            role,
            s.max_rate_hz,
            tx.clone(),
            Arc::clone(&shared),
        ));
    }
    drop(tx);
    let n_inputs = inputs.len();
    t.subscribe(inputs)?;
    info!(topics = n_inputs, "subscribed");

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
        oversized: 0,
    };
    if let Some(c) = &s.calibration {
        state.start_runtime(&mut models, c.clone())?;
    }
    let publish = |t: &dyn Transport,
                   scene: &Scene,
                   seq: u32,
                   painted: Option<&sensorium_pipeline::perception::PaintedCloud>| {
        let bodies = [
            (Output::Scene, scene_msg::encode(scene, seq, s.publish_features)),
            (
                Output::Occupancy,
                scene_msg::occupancy_grid(scene, seq).to_bytes(),
            ),
            (
                Output::Markers,
                sensorium_pipeline::publish::scene_markers(scene, seq).to_bytes(),
            ),
        ];
        for (out, body) in bodies {
            if let Err(e) = t.publish(out, body) {
                warn!("publishing {}: {e:#}", out.topic());
            }
        }
        if let (true, Some(c)) = (s.publish_painted_points, painted) {
            let cloud = sensorium_pipeline::publish::painted_points(
                &c.points,
                &c.features,
                c.width,
                scene.stamp,
                &scene.frame_id,
                seq,
            );
            if let Err(e) = t.publish(Output::Painted, cloud.to_bytes()) {
                warn!("publishing ~painted_points: {e:#}");
            }
        }
    };
    // every finished frame set: counted, and its scene published
    let publish_finished = |t: &dyn Transport, state: &mut Processing, done: &mut Vec<Finished>| {
        for f in done.drain(..) {
            if let Some((scene, painted)) = state.finished(f) {
                publish(t, &scene, state.header_seq, painted.as_ref());
            }
        }
    };
    let mut last_diag: Option<Instant> = None;
    let mut last_levels: Vec<u8> = Vec::new();
    let mut done: Vec<Finished> = Vec::new();
    let mut restarted = None;
    while !stop.load(Ordering::SeqCst) && t.ok() {
        // built only for a listener: a painted cloud is ~150 B per point
        if let (Some(rt), true) = (state.runtime.as_ref(), s.publish_painted_points) {
            rt.paint_every_point(t.has_subscribers(Output::Painted));
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
        publish_finished(t, &mut state, &mut done);
        if let Some(msg) = t.restarted() {
            restarted = Some(msg);
            break;
        }
        state.oversized = t.oversized().saturating_sub(oversized_at_start);
        // periodically, and at once when a level changes (so WARN is seen before ERROR)
        let levels = state.levels(&shared);
        if last_diag.is_none_or(|l| l.elapsed() >= s.diagnostics_period) || levels != last_levels {
            last_diag = Some(Instant::now());
            last_levels = levels;
            send_diag(t, state.diagnostics(&node_name, &shared, load_ms));
        }
    }
    state.report.master_restarted = restarted;
    // drain: what is still queued is not processed; the sets already in perception finish
    t.unsubscribe();
    let pending = rx.try_iter().count() as u64;
    if pending > 0 {
        let mut sh = shared
            .lock()
            .map_err(|_| anyhow!("stream statistics lock poisoned"))?;
        *sh.dropped.entry("shutdown_pending".into()).or_default() += pending;
    }
    let mut runtime_drops = BTreeMap::new();
    if let Some(rt) = state.runtime.take() {
        let report = rt.finish(&mut |f| {
            done.push(f);
            Ok(())
        })?;
        publish_finished(t, &mut state, &mut done);
        state.report.framesets = report.framesets;
        runtime_drops = report.dropped;
    }
    // goodbye on /diagnostics: the aggregator and monitoring see a node that stopped, not one gone quiet
    let why = if state.report.master_restarted.is_some() {
        "the ROS master restarted"
    } else if stop.load(Ordering::SeqCst) {
        "SIGINT/SIGTERM"
    } else {
        t.shutdown_reason()
    };
    send_diag(
        t,
        vec![DiagnosticStatus {
            level: STALE,
            name: "sensorium: pipeline".into(),
            message: format!("stopped ({why}): {} scenes published", state.report.scenes),
            hardware_id: node_name.clone(),
            values: Vec::new(),
        }],
    );
    t.linger();
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
    let oversized = t.oversized().saturating_sub(oversized_at_start);
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

pub(crate) struct Processing<'a> {
    pub(crate) s: &'a NodeSettings,
    /// Started once the calibration is known.
    pub(crate) runtime: Option<Runtime>,
    pub(crate) calib: CalibCollector,
    pub(crate) lidar_frame: Option<String>,
    /// Map text received before the runtime started, with its receive time.
    pub(crate) early_map_text: Option<(sensorium_core::MapText, Stamp)>,
    pub(crate) report: NodeReport,
    pub(crate) latencies: Vec<f64>,
    pub(crate) header_seq: u32,
    pub(crate) calib_error: String,
    /// Messages the transport refused as too large since the start.
    pub(crate) oversized: u64,
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
        let built = if self.s.topics.lidar_only() {
            self.calib.build_lidar_only(&lf, &self.s.frame_id)
        } else {
            self.calib.build(&lf, &self.s.frame_id)
        };
        match built {
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
}
