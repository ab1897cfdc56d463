//! The engine's own cost per frame set, with no-op stages: per-stream ring buffers → ApproximateTime
//! sync → a 3-stage pipeline (bounded channels, deadline checks, counters, histograms) → delivery.
//! Shared by `cargo bench -p sensorium-engine --bench overhead` and `sensorium bench`.

use std::time::{Duration, Instant};

use sensorium_core::Stamp;

use crate::pipeline::{Pipeline, PipelineConfig, ThreadBudget};
use crate::sync::{ApproximateTime, MatchedSet, Synchronizer};
use crate::{EngineError, LatencyHistogram, StreamRing};

/// A pipeline of three stages that pass each set through unchanged.
pub fn noop_pipeline() -> Result<Pipeline<MatchedSet, MatchedSet>, EngineError> {
    let config = PipelineConfig {
        channel_capacity: 4,
        deadline: Duration::from_secs(1),
        threads: ThreadBudget::detect(),
        ..PipelineConfig::default()
    };
    Ok(Pipeline::<MatchedSet>::builder(config)?
        .stage("preprocess", Box::new(Some))?
        .stage("encode", Box::new(Some))?
        .stage("fuse", Box::new(Some))?
        .build())
}

/// Feeds `seq` (`(stream, stamp)` in arrival order) through ring → sync (queue 10) → no-op pipeline →
/// delivery, one set at a time (the full hand-off cost of every set, no pipelining). Returns the
/// histogram of per-set time (from the arrival of the message completing the set to its delivery)
/// and the number of sets delivered.
pub fn engine_overhead(
    seq: &[(usize, Stamp)],
    streams: usize,
) -> Result<(LatencyHistogram, usize), EngineError> {
    let mut rings: Vec<StreamRing<(Stamp, u64)>> = (0..streams)
        .map(|_| StreamRing::new(16))
        .collect::<Result<_, _>>()?;
    let mut sync = ApproximateTime::new(streams, 10)?;
    let mut pipeline = noop_pipeline()?;
    let mut hist = LatencyHistogram::new();
    let mut sets = Vec::new();
    let mut delivered = 0;
    for (id, &(stream, stamp)) in seq.iter().enumerate() {
        let t0 = Instant::now();
        if let Some(ring) = rings.get_mut(stream) {
            ring.push((stamp, id as u64));
        }
        for (s, ring) in rings.iter_mut().enumerate() {
            while let Some((stamp, id)) = ring.pop() {
                sync.add_into(s, stamp, id, &mut sets);
            }
        }
        let n = sets.len();
        for set in sets.drain(..) {
            pipeline.submit(set);
        }
        for _ in 0..n {
            if pipeline.recv_timeout(Duration::from_secs(1)).is_some() {
                delivered += 1;
            }
        }
        if n > 0 {
            hist.record(t0.elapsed() / n as u32);
        }
    }
    let _ = pipeline.finish();
    Ok((hist, delivered))
}
