//! A staged pipeline: one thread per stage, stages joined by bounded crossbeam channels.
//!
//! - Each stage is a boxed `FnMut(In) -> Option<Out>`; `None` drops the item (counted as
//!   `filtered`).
//! - Every item carries a [`Deadline`]. An item past its deadline is dropped at the next
//!   stage boundary (before a stage runs it, and at delivery) and counted as `late`, so
//!   latency stays bounded under overload instead of queueing.
//! - Ingest never blocks: when the first channel is full, its oldest item is dropped
//!   (`queue_full`) to make room for the new one. Between stages, a full channel makes the
//!   upstream stage wait (back-pressure) — what waits there is bounded by the capacity.
//! - Memory is bounded: channel capacities, fixed-size histograms, counters.
//!
//! ```
//! use std::time::Duration;
//! use sensorium_engine::pipeline::{Pipeline, PipelineConfig};
//! let config = PipelineConfig { channel_capacity: 8, ..PipelineConfig::default() };
//! let mut p = Pipeline::<u32>::builder(config).unwrap()
//!     .stage("double", Box::new(|x: u32| Some(x * 2))).unwrap()
//!     .stage("odd-only", Box::new(|x: u32| if x % 4 == 2 { Some(x) } else { None })).unwrap()
//!     .build();
//! for x in 0..4 { p.submit(x); }
//! let got: Vec<u32> = (0..2).filter_map(|_| p.recv_timeout(Duration::from_secs(5))).map(|d| d.value).collect();
//! assert_eq!(got, vec![2, 6]);
//! let report = p.finish().unwrap();
//! assert_eq!(report.stages[1].counters.dropped_for("filtered"), 2);
//! ```

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, RecvTimeoutError, Sender, TrySendError};
use serde::{Deserialize, Serialize};

use crate::deadline::Deadline;
use crate::error::EngineError;
use crate::stats::{Counters, LatencyHistogram, LatencySummary};

/// Drop reasons used by the pipeline.
pub const DROP_QUEUE_FULL: &str = "queue_full";
pub const DROP_FILTERED: &str = "filtered";
pub const DROP_UNREAD: &str = "unread_at_finish";
pub const DROP_CLOSED: &str = "closed";

/// Default [`PipelineConfig::spin`].
pub const DEFAULT_SPIN: Duration = Duration::from_micros(200);

/// Receives from `rx`, polling (with `yield_now`) for up to `spin` before blocking: a wake-up of a
/// parked thread costs 10–30 µs on a VM, a poll that finds the item costs nothing.
fn recv_spinning<T>(rx: &Receiver<T>, spin: Duration) -> Result<T, crossbeam_channel::RecvError> {
    if !spin.is_zero() {
        let t = Instant::now();
        loop {
            match rx.try_recv() {
                Ok(v) => return Ok(v),
                Err(crossbeam_channel::TryRecvError::Disconnected) => {
                    return Err(crossbeam_channel::RecvError)
                }
                Err(crossbeam_channel::TryRecvError::Empty) => {}
            }
            if t.elapsed() >= spin {
                break;
            }
            std::thread::yield_now();
        }
    }
    rx.recv()
}

/// A stage's work: `None` drops the item.
pub type StageFn<In, Out> = Box<dyn FnMut(In) -> Option<Out> + Send>;

/// How many threads the runtime may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadBudget {
    /// Cores the runtime may keep busy (2 on the CI box, 6–12 on a Jetson Orin).
    pub cores: usize,
    /// Most stage threads a pipeline may start (stage threads mostly wait on channels).
    pub max_stage_threads: usize,
}

impl ThreadBudget {
    /// All available cores, up to 16 stage threads.
    pub fn detect() -> Self {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        ThreadBudget {
            cores,
            max_stage_threads: 16,
        }
    }

    /// Compute threads each of `heavy_stages` stages (encoders running tract) may use so
    /// that together they fill the cores once: `max(1, cores / heavy_stages)`.
    pub fn compute_threads_per_heavy_stage(&self, heavy_stages: usize) -> usize {
        (self.cores / heavy_stages.max(1)).max(1)
    }
}

impl Default for ThreadBudget {
    fn default() -> Self {
        ThreadBudget::detect()
    }
}

/// Pipeline settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PipelineConfig {
    /// Capacity of each channel (input, between stages, output).
    pub channel_capacity: usize,
    /// Deadline of an item submitted with [`Pipeline::submit`], from its submission.
    pub deadline: Duration,
    pub threads: ThreadBudget,
    /// How long a waiting stage (and [`Pipeline::recv_timeout`]) polls its channel, yielding the
    /// core between polls, before it parks. Waking a parked thread costs 10–30 µs (measured on a
    /// 2-core VM: 56 µs for a set through 3 no-op stages, 4.5 µs with 200 µs of polling); polling
    /// costs at most this much CPU per item and stage. Zero: park at once.
    #[serde(default = "default_spin")]
    pub spin: Duration,
}

fn default_spin() -> Duration {
    DEFAULT_SPIN
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            channel_capacity: 2,
            deadline: Duration::from_millis(100),
            threads: ThreadBudget::detect(),
            spin: DEFAULT_SPIN,
        }
    }
}

struct Envelope<T> {
    value: T,
    seq: u64,
    origin: Instant,
    deadline: Deadline,
}

/// An item out of the last stage.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivered<T> {
    pub value: T,
    /// Submission order number (0-based).
    pub seq: u64,
    /// From the item's origin to its delivery.
    pub latency: Duration,
}

#[derive(Default)]
struct StageStats {
    counters: Counters,
    service: LatencyHistogram,
}

/// What one stage did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageReport {
    pub name: String,
    pub counters: Counters,
    /// Time spent in the stage's function per item.
    pub service: LatencySummary,
}

/// What the pipeline did: ingest, each stage, delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PipelineReport {
    /// `received` = submitted; drops: `queue_full`, `closed`.
    pub ingest: Counters,
    pub stages: Vec<StageReport>,
    /// `received` = left the last stage, `fused` = delivered; drops: `late`, `unread_at_finish`.
    pub output: Counters,
    /// Origin → delivery of delivered items.
    pub end_to_end: LatencySummary,
}

impl PipelineReport {
    /// Every drop at every point, all reasons.
    pub fn total_dropped(&self) -> u64 {
        self.ingest.total_dropped()
            + self
                .stages
                .iter()
                .map(|s| s.counters.total_dropped())
                .sum::<u64>()
            + self.output.total_dropped()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking stage poisons only its own statistics; counts stay readable.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

struct Shared {
    config: PipelineConfig,
    ingest: Arc<Mutex<Counters>>,
    stages: Vec<(String, Arc<Mutex<StageStats>>)>,
    threads: Vec<(String, JoinHandle<()>)>,
}

/// Adds stages to a pipeline whose items are `I` at the input and `T` at the current tail.
pub struct PipelineBuilder<I, T> {
    shared: Shared,
    input: Sender<Envelope<I>>,
    input_drain: Receiver<Envelope<I>>,
    tail: Receiver<Envelope<T>>,
}

/// A running pipeline taking `I` and delivering `O`.
pub struct Pipeline<I, O = I> {
    shared: Shared,
    input: Option<Sender<Envelope<I>>>,
    input_drain: Receiver<Envelope<I>>,
    output: Receiver<Envelope<O>>,
    output_stats: Counters,
    end_to_end: LatencyHistogram,
    next_seq: u64,
}

impl<I: Send + 'static> Pipeline<I, I> {
    /// Starts building: add stages with [`PipelineBuilder::stage`], then `build()`.
    pub fn builder(config: PipelineConfig) -> Result<PipelineBuilder<I, I>, EngineError> {
        if config.channel_capacity == 0 {
            return Err(EngineError::InvalidPipeline {
                field: "channel_capacity",
                value: "0".into(),
                problem: "must be at least 1",
            });
        }
        let (tx, rx) = bounded(config.channel_capacity);
        Ok(PipelineBuilder {
            shared: Shared {
                config,
                ingest: Arc::default(),
                stages: Vec::new(),
                threads: Vec::new(),
            },
            input: tx,
            input_drain: rx.clone(),
            tail: rx,
        })
    }
}

impl<I: Send + 'static, T: Send + 'static> PipelineBuilder<I, T> {
    /// Appends a stage running `f` on its own thread.
    pub fn stage<U: Send + 'static>(
        mut self,
        name: &str,
        mut f: StageFn<T, U>,
    ) -> Result<PipelineBuilder<I, U>, EngineError> {
        let budget = self.shared.config.threads.max_stage_threads;
        if self.shared.threads.len() >= budget {
            return Err(EngineError::InvalidPipeline {
                field: "threads.max_stage_threads",
                value: budget.to_string(),
                problem: "more stages than the thread budget allows",
            });
        }
        let (tx, rx) = bounded::<Envelope<U>>(self.shared.config.channel_capacity);
        let stats = Arc::new(Mutex::new(StageStats::default()));
        let inbox = self.tail;
        let thread_stats = Arc::clone(&stats);
        let spin = self.shared.config.spin;
        let handle = std::thread::Builder::new()
            .name(format!("stage-{name}"))
            .spawn(move || {
                while let Ok(env) = recv_spinning(&inbox, spin) {
                    let start = Instant::now();
                    if env.deadline.is_past(start) {
                        let mut s = lock(&thread_stats);
                        s.counters.record_received();
                        s.counters.record_late();
                        continue;
                    }
                    let out = f(env.value);
                    let service = start.elapsed();
                    {
                        let mut s = lock(&thread_stats);
                        s.counters.record_received();
                        s.service.record(service);
                        if out.is_none() {
                            s.counters.record_drop(DROP_FILTERED);
                        }
                    }
                    if let Some(value) = out {
                        let next = Envelope {
                            value,
                            seq: env.seq,
                            origin: env.origin,
                            deadline: env.deadline,
                        };
                        if tx.send(next).is_err() {
                            break; // downstream gone: the pipeline is shutting down
                        }
                    }
                }
            })
            .map_err(|e| EngineError::Stage {
                stage: name.to_string(),
                problem: format!("spawn: {e}"),
            })?;
        self.shared.stages.push((name.to_string(), stats));
        self.shared.threads.push((name.to_string(), handle));
        Ok(PipelineBuilder {
            shared: self.shared,
            input: self.input,
            input_drain: self.input_drain,
            tail: rx,
        })
    }

    /// The running pipeline.
    pub fn build(self) -> Pipeline<I, T> {
        Pipeline {
            shared: self.shared,
            input: Some(self.input),
            input_drain: self.input_drain,
            output: self.tail,
            output_stats: Counters::default(),
            end_to_end: LatencyHistogram::new(),
            next_seq: 0,
        }
    }
}

impl<I: Send + 'static, O: Send + 'static> Pipeline<I, O> {
    /// Submits an item due `config.deadline` from now. Never blocks.
    pub fn submit(&mut self, value: I) -> u64 {
        let now = Instant::now();
        let deadline = Deadline::from(now, self.shared.config.deadline);
        self.submit_with(value, now, deadline)
    }

    /// Submits an item with its own origin (where its latency counts from, e.g. the
    /// arrival of its newest input) and deadline. Never blocks: when the input channel is
    /// full its oldest item is dropped (`queue_full`). Returns the item's sequence number.
    pub fn submit_with(&mut self, value: I, origin: Instant, deadline: Deadline) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        let mut ingest = lock(&self.shared.ingest);
        ingest.record_received();
        let Some(input) = &self.input else {
            ingest.record_drop(DROP_CLOSED);
            return seq;
        };
        let mut env = Envelope {
            value,
            seq,
            origin,
            deadline,
        };
        loop {
            match input.try_send(env) {
                Ok(()) => return seq,
                Err(TrySendError::Full(back)) => {
                    if self.input_drain.try_recv().is_ok() {
                        ingest.record_drop(DROP_QUEUE_FULL);
                    }
                    env = back;
                }
                Err(TrySendError::Disconnected(_)) => {
                    ingest.record_drop(DROP_CLOSED);
                    return seq;
                }
            }
        }
    }

    fn accept(&mut self, env: Envelope<O>) -> Option<Delivered<O>> {
        let now = Instant::now();
        self.output_stats.record_received();
        if env.deadline.is_past(now) {
            self.output_stats.record_late();
            return None;
        }
        self.output_stats.record_fused();
        let latency = now.saturating_duration_since(env.origin);
        self.end_to_end.record(latency);
        Some(Delivered {
            value: env.value,
            seq: env.seq,
            latency,
        })
    }

    /// The next delivered item, waiting at most `timeout`. Items that are late on arrival
    /// at the output are dropped and counted.
    pub fn recv_timeout(&mut self, timeout: Duration) -> Option<Delivered<O>> {
        let until = Instant::now() + timeout;
        let t = Instant::now();
        while t.elapsed() < self.shared.config.spin.min(timeout) {
            match self.output.try_recv() {
                Ok(env) => {
                    if let Some(d) = self.accept(env) {
                        return Some(d);
                    }
                }
                Err(crossbeam_channel::TryRecvError::Disconnected) => return None,
                Err(crossbeam_channel::TryRecvError::Empty) => std::thread::yield_now(),
            }
        }
        loop {
            let left = until.saturating_duration_since(Instant::now());
            match self.output.recv_timeout(left) {
                Ok(env) => {
                    if let Some(d) = self.accept(env) {
                        return Some(d);
                    }
                }
                Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => return None,
            }
        }
    }

    /// The next delivered item, waiting as long as it takes; `None` once the input is closed
    /// ([`Pipeline::close_input`]) and every stage has passed on what it held.
    pub fn recv(&mut self) -> Option<Delivered<O>> {
        while let Ok(env) = self.output.recv() {
            if let Some(d) = self.accept(env) {
                return Some(d);
            }
        }
        None
    }

    /// Closes the input: later submissions are dropped (`closed`); the stages finish what they
    /// hold, which [`Pipeline::recv`] still delivers.
    pub fn close_input(&mut self) {
        self.input = None;
    }

    /// The next delivered item if one is ready.
    pub fn try_recv(&mut self) -> Option<Delivered<O>> {
        while let Ok(env) = self.output.try_recv() {
            if let Some(d) = self.accept(env) {
                return Some(d);
            }
        }
        None
    }

    /// Items waiting in channels right now (input, between stages, output).
    pub fn queued(&self) -> usize {
        self.input_drain.len() + self.output.len()
    }

    /// Counters and latencies so far.
    pub fn report(&self) -> PipelineReport {
        PipelineReport {
            ingest: lock(&self.shared.ingest).clone(),
            stages: self
                .shared
                .stages
                .iter()
                .map(|(name, stats)| {
                    let s = lock(stats);
                    StageReport {
                        name: name.clone(),
                        counters: s.counters.clone(),
                        service: s.service.summary(),
                    }
                })
                .collect(),
            output: self.output_stats.clone(),
            end_to_end: self.end_to_end.summary(),
        }
    }

    /// Closes the input, lets the stages finish what they hold, joins them and returns the
    /// final report. Items reaching the output now are counted `unread_at_finish`.
    pub fn finish(mut self) -> Result<PipelineReport, EngineError> {
        self.input = None;
        // Drain the output so no stage stays blocked on a full channel.
        for _env in self.output.iter() {
            self.output_stats.record_received();
            self.output_stats.record_drop(DROP_UNREAD);
        }
        let mut failure = None;
        for (name, handle) in std::mem::take(&mut self.shared.threads) {
            if handle.join().is_err() && failure.is_none() {
                failure = Some(EngineError::Stage {
                    stage: name,
                    problem: "the stage function panicked".into(),
                });
            }
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(self.report()),
        }
    }
}

impl<I, O> Drop for Pipeline<I, O> {
    fn drop(&mut self) {
        // Dropping the input sender ends the first stage, which ends the next, and so on;
        // threads not joined by `finish` exit on their own once their channels close.
        self.input = None;
    }
}
