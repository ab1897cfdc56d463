//! sensorium-engine: the real-time engine — synchronization policies, per-stream ring
//! buffers, counters, latency histograms, deadlines and a staged pipeline runner.
//!
//! - [`sync`]: [`sync::ApproximateTime`] (a port of message_filters' C++ policy),
//!   [`sync::SlopSync`] (python3-message-filters' `ApproximateTimeSynchronizer`),
//!   [`sync::ExactSync`] (C++ `ExactTime`) and [`sync::LatestSync`]; [`sync::run_sync`]
//!   runs a whole arrival sequence through one of them (`sensorium sync`).
//! - [`ingest`]: the queue between a source and the runtime (bounded, drop-oldest in real time).
//! - [`ring::StreamRing`]: bounded, drop-oldest, counted.
//! - [`stats`]: [`Counters`] and [`LatencyHistogram`].
//! - [`deadline::Deadline`] and [`pipeline`]: stage threads joined by bounded channels,
//!   late work dropped at stage boundaries.

pub mod arrivals;
pub mod deadline;
pub mod error;
pub mod ingest;
pub mod overhead;
pub mod pipeline;
pub mod ring;
pub mod stats;
pub mod sync;

pub use deadline::Deadline;
pub use error::EngineError;
pub use pipeline::{Delivered, Pipeline, PipelineConfig, PipelineReport, StageReport, ThreadBudget};
pub use ring::StreamRing;
pub use stats::{Counters, LatencyHistogram, LatencySummary};
pub use sync::{
    run_sync, ApproximateTime, ExactSync, LatestSync, MatchedSet, PolicyConfig, PolicyKind, SlopSync,
    Synchronizer,
};
