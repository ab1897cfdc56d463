//! Port of python3-message-filters' `ApproximateTimeSynchronizer(fs, queue_size, slop)`
//! (ROS Noetic 1.15, `allow_headerless=False`, `reset=False`).
//!
//! Each stream keeps a map stamp → message in insertion order (a second message with the
//! same stamp replaces the first in place, as a Python dict does); a full queue loses its
//! smallest stamp. On each arrival the other streams' stamps within `slop` of the new one
//! are sorted by distance (stable, so ties keep insertion order) and their cartesian
//! product is searched in `itertools.product` order for the first combination whose
//! spread is strictly below `slop`; that set is emitted and removed.

use sensorium_core::Stamp;

use super::rostime::ns;
use super::{MatchedSet, Synchronizer, MAX_STREAMS};
use crate::error::EngineError;

const POLICY: &str = "slop";

/// The Python ApproximateTimeSynchronizer. See the module documentation.
#[derive(Debug, Clone)]
pub struct SlopSync {
    queue_size: usize,
    slop: i64,
    queues: Vec<Vec<(Stamp, u64)>>,
    /// Per searched stream: stamps within the slop, sorted by distance (scratch space).
    lists: Vec<Vec<(i64, i64)>>,
    odometer: Vec<usize>,
}

impl SlopSync {
    /// `streams` in 2..=9, `queue_size` ≥ 1, `slop_ns` ≥ 0 (see
    /// [`super::rostime::py_duration_from_sec`] for rospy's conversion of float seconds).
    pub fn new(streams: usize, queue_size: usize, slop_ns: i64) -> Result<Self, EngineError> {
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
        if slop_ns < 0 {
            return Err(EngineError::InvalidPolicy {
                policy: POLICY,
                field: "slop",
                value: format!("{slop_ns} ns"),
                problem: "must not be negative",
            });
        }
        Ok(SlopSync {
            queue_size,
            slop: slop_ns,
            queues: vec![Vec::with_capacity(queue_size + 1); streams],
            lists: vec![Vec::with_capacity(queue_size); streams],
            odometer: vec![0; streams],
        })
    }
}

impl Synchronizer for SlopSync {
    fn num_streams(&self) -> usize {
        self.queues.len()
    }

    fn add_into(&mut self, stream: usize, stamp: Stamp, id: u64, out: &mut Vec<MatchedSet>) {
        let Some(queue) = self.queues.get_mut(stream) else {
            return;
        };
        // my_queue[stamp] = msg
        match queue.iter_mut().find(|e| e.0 == stamp) {
            Some(entry) => entry.1 = id,
            None => queue.push((stamp, id)),
        }
        // while len(my_queue) > queue_size: del my_queue[min(my_queue)]
        while queue.len() > self.queue_size {
            let oldest = queue.iter().enumerate().min_by_key(|(_, e)| e.0).map(|(k, _)| k);
            match oldest {
                Some(k) => {
                    queue.remove(k);
                }
                None => break,
            }
        }
        // The new message itself may have been the smallest stamp: then no combination
        // can pass the `t in q` test.
        if !queue.iter().any(|e| e.0 == stamp) {
            return;
        }
        let t = ns(stamp);
        let n = self.queues.len();
        for j in 0..n {
            let list = &mut self.lists[j];
            list.clear();
            if j == stream {
                list.push((t, 0));
                continue;
            }
            for &(s, _) in &self.queues[j] {
                let delta = (ns(s) - t).abs();
                if delta <= self.slop {
                    list.push((ns(s), delta));
                }
            }
            if list.is_empty() {
                return;
            }
            list.sort_by_key(|&(_, delta)| delta); // stable, as Python's sorted()
        }
        // itertools.product: the last list moves fastest.
        self.odometer.iter_mut().for_each(|k| *k = 0);
        loop {
            let mut lo = i64::MAX;
            let mut hi = i64::MIN;
            for (j, list) in self.lists.iter().enumerate() {
                let v = list[self.odometer[j]].0;
                lo = lo.min(v);
                hi = hi.max(v);
            }
            if hi - lo < self.slop {
                let mut items = Vec::with_capacity(n);
                for j in 0..n {
                    let v = self.lists[j][self.odometer[j]].0;
                    let q = &mut self.queues[j];
                    if let Some(k) = q.iter().position(|e| ns(e.0) == v) {
                        let (s, msg_id) = q.remove(k);
                        items.push((j, s, msg_id));
                    }
                }
                out.push(MatchedSet {
                    items,
                    missing: Vec::new(),
                });
                return;
            }
            // Advance the odometer.
            let mut j = n;
            loop {
                if j == 0 {
                    return;
                }
                j -= 1;
                self.odometer[j] += 1;
                if self.odometer[j] < self.lists[j].len() {
                    break;
                }
                self.odometer[j] = 0;
            }
        }
    }

    fn reset(&mut self) {
        for q in &mut self.queues {
            q.clear();
        }
    }
}
