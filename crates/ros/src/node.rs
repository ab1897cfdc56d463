//! The live node: raw ROS subscriptions → the shared pipeline → `~scene`, `~occupancy`, `/diagnostics`.
//!
//! The live topics are a source of the shared runtime ([`Runtime`], the same one replay runs):
//! subscriber callbacks (rosrust's threads) decode each raw body with
//! [`sensorium_pipeline::streams::decode`] and hand it to one processing thread through the ingest
//! queue ([`sensorium_engine::ingest`]: bounded, a full queue drops its oldest message and counts it).
//! The processing thread collects the calibration from `/tf_static` + `camera_info`
//! ([`CalibCollector`]) unless one is given, then starts the runtime (assembly, deadlines, perception
//! inline or on stage threads) and publishes every finished scene.

use crate::diagnostics::{percentile, ERROR, STALE};
use crate::input::{bump, subscribe, Ingest, Shared};
use crate::master::watch_master;
use crate::scene_msg;
use crate::settings::NodeSettings;
use anyhow::{anyhow, Context, Result};
use rosrust::{RawMessage, RawMessageDescription};
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

pub(crate) fn ros_now() -> Stamp {
    let t = rosrust::now();
    Stamp::new(t.sec, t.nsec)
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
    // every finished frame set: counted, and its scene published
    let publish_finished = |state: &mut Processing, done: &mut Vec<Finished>| {
        for f in done.drain(..) {
            if let Some((scene, painted)) = state.finished(f) {
                publish(&scene, state.header_seq, painted.as_ref());
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
        publish_finished(&mut state, &mut done);
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
        let report = rt.finish(&mut |f| {
            done.push(f);
            Ok(())
        })?;
        publish_finished(&mut state, &mut done);
        state.report.framesets = report.framesets;
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
