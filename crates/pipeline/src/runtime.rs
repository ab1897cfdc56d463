//! The runtime every source runs on: frame assembly ([`Assembler`]), the deadline rule, perception
//! (inline or on stage threads, by configuration) and the finished scenes handed to the caller's sinks.
//!
//! A source (the bag reader in replay, the subscriber callbacks in the node) decodes each message with
//! [`crate::streams::decode`], notes when it arrived (wall clock) and when it was received on its own
//! clock, and passes it through an ingest queue ([`sensorium_engine::ingest`]) to
//! [`Runtime::ingest`]. The runtime gives back every finished frame set as a [`Finished`].
//!
//! Timing, one rule for every source:
//! - A frame set's deadline counts from the arrival of the message that completed it; a set older
//!   than `deadline_ms` (on the source's clock) when it would enter perception is dropped as `late`,
//!   and on stage threads the rest of its budget goes with it to each stage boundary.
//! - A scene's `end_to_end_ms` runs from the arrival of the set's first message to the scene, on the
//!   source's clock (a recording played at rate r: wall time × r). In evaluation (`real_time = None`)
//!   nothing is dropped for time and it is the processing time.

use crate::assembly::{Assembled, Assembler, AssemblyConfig};
use crate::models::Models;
use crate::perception::{FrameDebug, FrameSet, Perception};
use crate::staged::{Done, StagedPerception};
use crate::streams::{Decoded, Role};
use anyhow::{anyhow, Result};
use sensorium_core::{Scene, Stamp};
use sensorium_engine::deadline::Deadline;
use sensorium_engine::pipeline::{Delivered, PipelineConfig, ThreadBudget};
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::{debug, info_span};

/// In evaluation, the most frame sets inside the stages at once (one per stage).
pub const FAST_IN_FLIGHT: usize = 3;

/// Where the perception stages run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stages {
    /// One after another on the runtime's thread, each encoder with the whole thread budget: least latency.
    Inline,
    /// Camera, LiDAR and fusion each on its own thread, set t+1 encoded while t is fused: more throughput.
    Pipelined,
}

/// How the runtime runs.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    pub assembly: AssemblyConfig,
    /// A frame set older than this (ms, source clock) is dropped as late.
    pub deadline_ms: f64,
    /// `Some(r)`: real time, the source's clock passing `r` × wall time (1 live). `None`: evaluation —
    /// nothing is dropped for time, at most [`FAST_IN_FLIGHT`] sets are in the stages at once.
    pub real_time: Option<f64>,
    pub stages: Stages,
}

/// A frame set out of perception.
pub struct Finished {
    pub set: FrameSet,
    /// The scene (its `end_to_end_ms` set) and what the LiDAR stage saw, or why the set failed.
    pub result: std::result::Result<(Scene, FrameDebug), String>,
    /// From entering perception to the scene (wall clock).
    pub processing: Duration,
}

/// Perception inline or on stage threads, behind one interface.
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
}

/// What a runtime counted, by reason, when it finished.
#[derive(Debug, Clone, Default)]
pub struct RuntimeReport {
    /// Frame sets formed: each ended as a [`Finished`] or as a drop.
    pub framesets: u64,
    pub dropped: BTreeMap<String, u64>,
}

/// Assembly, deadlines and perception for one stream of inputs.
pub struct Runtime {
    cfg: RuntimeConfig,
    assembler: Assembler,
    runner: Runner,
    models: Arc<Models>,
    paint_every_point: Arc<AtomicBool>,
    /// Sets in the stages, oldest first: (seq, first arrival).
    in_flight: VecDeque<(u64, Instant)>,
    framesets: u64,
    drops: BTreeMap<String, u64>,
}

impl Runtime {
    /// Starts the runtime on `perception` (on stage threads with [`Stages::Pipelined`]).
    pub fn new(perception: Perception, cfg: RuntimeConfig) -> Result<Runtime> {
        let assembler = Assembler::new(cfg.assembly.clone()).map_err(|e| anyhow!(e))?;
        let models = Arc::clone(perception.models());
        let paint_every_point = Arc::clone(&perception.lidar.paint_every_point);
        let runner = match cfg.stages {
            Stages::Pipelined => {
                let rate = cfg.real_time.unwrap_or(1.0).max(1e-6);
                let config = PipelineConfig {
                    // real time: one set waits per boundary at most (fresh sets over queued ones);
                    // evaluation: enough to keep every stage busy
                    channel_capacity: if cfg.real_time.is_some() {
                        1
                    } else {
                        FAST_IN_FLIGHT
                    },
                    deadline: Duration::from_secs_f64(cfg.deadline_ms.max(0.0) / 1e3 / rate),
                    threads: ThreadBudget::detect(),
                    ..PipelineConfig::default()
                };
                Runner::Staged(Box::new(StagedPerception::start(perception, config)?))
            }
            Stages::Inline => Runner::Inline {
                p: Box::new(perception),
                ready: VecDeque::new(),
                seq: 0,
            },
        };
        Ok(Runtime {
            cfg,
            assembler,
            runner,
            models,
            paint_every_point,
            in_flight: VecDeque::new(),
            framesets: 0,
            drops: BTreeMap::new(),
        })
    }

    pub fn models(&self) -> &Arc<Models> {
        &self.models
    }

    /// Fill every set's [`FrameDebug::painted_cloud`] (someone listens to the painted points).
    pub fn paint_every_point(&self, on: bool) {
        self.paint_every_point
            .store(on, std::sync::atomic::Ordering::Relaxed);
    }

    /// Frame sets in perception now.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Frame sets formed so far.
    pub fn framesets(&self) -> u64 {
        self.framesets
    }

    /// Drops so far by reason (assembly and deadlines; the stages' own when finished).
    pub fn drops(&self) -> BTreeMap<String, u64> {
        let mut d = self.assembler.drops();
        for (k, v) in &self.drops {
            *d.entry(k.clone()).or_default() += v;
        }
        d
    }

    fn drop_reason(&mut self, k: &str) {
        *self.drops.entry(k.to_string()).or_default() += 1;
    }

    /// One decoded message: `received` on the source's clock, `arrival` on the wall clock. Camera,
    /// LiDAR and map text go to the assembler and the sets they complete into perception; what has
    /// finished meanwhile goes to `out`. Calibration and ground truth are the source's: they come back.
    pub fn ingest(
        &mut self,
        role: Role,
        decoded: Decoded,
        received: Stamp,
        arrival: Instant,
        out: &mut dyn FnMut(Finished) -> Result<()>,
    ) -> Result<Option<Decoded>> {
        let sets = match decoded {
            Decoded::Camera(img) => self.assembler.camera(role, img, received, arrival),
            Decoded::Lidar(cloud) => self.assembler.lidar(cloud, received, arrival),
            Decoded::MapText(m) => {
                self.assembler.map_text(m, received);
                Vec::new()
            }
            other => return Ok(Some(other)),
        };
        for a in sets {
            self.submit(a, out)?;
        }
        Ok(None)
    }

    fn submit(&mut self, a: Assembled, out: &mut dyn FnMut(Finished) -> Result<()>) -> Result<()> {
        let Assembled {
            set,
            stamp,
            trigger,
            first,
        } = a;
        self.framesets += 1;
        let span = info_span!("frameset", seq = set.seq, stamp = %stamp);
        let _g = span.enter();
        let now = Instant::now();
        let deadline = match self.cfg.real_time {
            None => Deadline::from(now, Duration::from_secs(86_400)),
            Some(rate) => {
                let age_ms = now.saturating_duration_since(trigger).as_secs_f64() * 1e3 * rate;
                if age_ms > self.cfg.deadline_ms {
                    self.drop_reason("late");
                    debug!(age_ms, "frame set dropped: past its deadline");
                    return Ok(());
                }
                // the budget is source time; at rate r it passes r× faster
                let left_ms = (self.cfg.deadline_ms - age_ms) / rate.max(1e-6);
                Deadline::from(now, Duration::from_secs_f64(left_ms / 1e3))
            }
        };
        self.in_flight.push_back((set.seq, first));
        self.runner.submit(set, stamp, now, deadline);
        self.collect(out, false)?;
        // evaluation: no drops, at most FAST_IN_FLIGHT sets in the stages
        while self.cfg.real_time.is_none() && self.in_flight.len() >= FAST_IN_FLIGHT {
            if !self.collect(out, true)? {
                break;
            }
        }
        Ok(())
    }

    /// Hands what has finished to `out`; `wait`: one set at least, waiting for it. False when nothing
    /// was left to wait for.
    fn collect(&mut self, out: &mut dyn FnMut(Finished) -> Result<()>, wait: bool) -> Result<bool> {
        let mut any = false;
        loop {
            let d = if wait && !any {
                self.runner.recv()
            } else {
                self.runner.try_recv()
            };
            let Some(d) = d else { return Ok(any) };
            any = true;
            out(self.finished(d))?;
        }
    }

    fn finished(&mut self, d: Delivered<Done>) -> Finished {
        let Done { set, mut result } = d.value;
        // sets leave the stages in order; those before this one were dropped inside them
        let mut first = None;
        while let Some(&(seq, f)) = self.in_flight.front() {
            if seq > set.seq {
                break;
            }
            self.in_flight.pop_front();
            if seq == set.seq {
                first = Some(f);
            }
        }
        if let Ok((scene, _)) = result.as_mut() {
            scene.end_to_end_ms = match (self.cfg.real_time, first) {
                (Some(rate), Some(f)) => f.elapsed().as_secs_f64() * 1e3 * rate,
                _ => d.latency.as_secs_f64() * 1e3,
            };
        }
        if result.is_err() {
            self.drop_reason("pipeline_error");
        }
        Finished {
            set,
            result,
            processing: d.latency,
        }
    }

    /// Hands what has finished to `out` without waiting (a live loop between inputs).
    pub fn poll(&mut self, out: &mut dyn FnMut(Finished) -> Result<()>) -> Result<()> {
        self.collect(out, false).map(|_| ())
    }

    /// No more input: the sets in the stages finish into `out`, the stage threads are joined. The
    /// report counts every drop by reason, the messages still waiting for a partner included.
    pub fn finish(mut self, out: &mut dyn FnMut(Finished) -> Result<()>) -> Result<RuntimeReport> {
        if let Runner::Staged(s) = &mut self.runner {
            s.close();
        }
        while let Some(d) = self.runner.recv() {
            out(self.finished(d))?;
        }
        let mut dropped = self.assembler.finish();
        for (k, v) in &self.drops {
            *dropped.entry(k.clone()).or_default() += v;
        }
        if let Runner::Staged(s) = self.runner {
            let report = s.finish()?;
            // drops inside the stages, by reason (late at a stage boundary, full stage input, ...)
            let mut add = |k: String, n: u64| *dropped.entry(k).or_default() += n;
            for (reason, n) in &report.ingest.dropped {
                add(format!("stages_input_{reason}"), *n);
            }
            for st in &report.stages {
                for (reason, n) in &st.counters.dropped {
                    add(format!("stage_{}_{reason}", st.name), *n);
                }
            }
            for (reason, n) in &report.output.dropped {
                add(format!("stages_output_{reason}"), *n);
            }
        }
        dropped.retain(|_, n| *n > 0);
        Ok(RuntimeReport {
            framesets: self.framesets,
            dropped,
        })
    }
}
