//! Port of message_filters' C++ `sync_policies::ExactTime` (what `TimeSynchronizer` uses).
//!
//! Messages are grouped by stamp; a group complete on every stream is emitted, then it and
//! every older group are discarded. At most `queue_size` incomplete groups are kept (the
//! oldest goes first).

use std::collections::BTreeMap;

use sensorium_core::Stamp;

use super::{MatchedSet, Synchronizer, MAX_STREAMS};
use crate::error::EngineError;

const POLICY: &str = "exact";

/// The C++ ExactTime policy. See the module documentation.
#[derive(Debug, Clone)]
pub struct ExactSync {
    n: usize,
    queue_size: usize,
    tuples: BTreeMap<Stamp, Vec<Option<u64>>>,
}

impl ExactSync {
    /// `streams` in 2..=9, `queue_size` ≥ 1 (C++ treats 0 as unbounded; this runtime keeps
    /// memory bounded and refuses it).
    pub fn new(streams: usize, queue_size: usize) -> Result<Self, EngineError> {
        if !(2..=MAX_STREAMS).contains(&streams) {
            return Err(EngineError::InvalidPolicy {
                policy: POLICY,
                field: "streams",
                value: streams.to_string(),
                problem: "must be between 2 and 9",
            });
        }
        if queue_size == 0 {
            return Err(EngineError::InvalidPolicy {
                policy: POLICY,
                field: "queue",
                value: "0".into(),
                problem: "must be at least 1",
            });
        }
        Ok(ExactSync {
            n: streams,
            queue_size,
            tuples: BTreeMap::new(),
        })
    }
}

impl Synchronizer for ExactSync {
    fn num_streams(&self) -> usize {
        self.n
    }

    fn add_into(&mut self, stream: usize, stamp: Stamp, id: u64, out: &mut Vec<MatchedSet>) {
        if stream >= self.n {
            return;
        }
        let tuple = self.tuples.entry(stamp).or_insert_with(|| vec![None; self.n]);
        tuple[stream] = Some(id);
        if tuple.iter().all(Option::is_some) {
            let items = tuple
                .iter()
                .enumerate()
                .filter_map(|(s, id)| id.map(|id| (s, stamp, id)))
                .collect();
            out.push(MatchedSet {
                items,
                missing: Vec::new(),
            });
            // erase(last_signal_time_) and clearOldTuples(): everything <= the stamp goes.
            let mut newer = self.tuples.split_off(&stamp);
            newer.remove(&stamp);
            self.tuples = newer;
        }
        while self.tuples.len() > self.queue_size {
            self.tuples.pop_first();
        }
    }

    fn reset(&mut self) {
        self.tuples.clear();
    }
}
