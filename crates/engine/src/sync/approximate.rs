//! Port of message_filters' C++ `sync_policies::ApproximateTime`
//! (`message_filters/sync_policies/approximate_time.h`, ROS Noetic 1.15), generic over
//! 2..=9 streams at run time.
//!
//! The structure follows the header function by function (`process`, `makeCandidate`,
//! `publishCandidate`, `recover*`, the virtual search with inter-message lower bounds) so
//! that the two can be read side by side. Durations are multiplied by `1 + age_penalty`
//! through `double` exactly as roscpp does ([`super::rostime::cpp_duration_scale`]).
//! What is left out: the sim-time jump detection (`setReset`), replaced by [`Synchronizer::reset`],
//! and the warnings of `checkInterMessageBound`, counted instead ([`ApproximateTime::bound_violations`]).

use std::collections::VecDeque;

use sensorium_core::Stamp;

use super::rostime::{cpp_duration_scale, ns, DURATION_MAX_NS};
use super::{MatchedSet, Synchronizer, MAX_STREAMS};
use crate::error::EngineError;

type Msg = (Stamp, u64);

const POLICY: &str = "approximate";

/// The C++ ApproximateTime policy. See the module documentation.
#[derive(Debug, Clone)]
pub struct ApproximateTime {
    n: usize,
    queue_size: usize,
    deques: Vec<VecDeque<Msg>>,
    past: Vec<Vec<Msg>>,
    candidate: Vec<Msg>,
    num_non_empty: usize,
    /// `pivot_` (`None` = `NO_PIVOT`).
    pivot: Option<usize>,
    pivot_time: i64,
    candidate_start: i64,
    candidate_end: i64,
    max_interval: i64,
    age_penalty: f64,
    has_dropped: Vec<bool>,
    lower_bounds: Vec<i64>,
    bound_violations: Vec<u64>,
    queue_drops: Vec<u64>,
    virtual_moves: Vec<usize>,
}

impl ApproximateTime {
    /// A policy over `streams` (2..=9) streams keeping at most `queue_size` (≥ 1) messages
    /// per stream. Defaults as in C++: unlimited maximum interval (`ros::DURATION_MAX`),
    /// age penalty 0.1, lower bounds 0.
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
                problem: "must be at least 1 (2 or more recommended)",
            });
        }
        Ok(ApproximateTime {
            n: streams,
            queue_size,
            deques: vec![VecDeque::with_capacity(queue_size + 1); streams],
            past: vec![Vec::with_capacity(queue_size + 1); streams],
            candidate: Vec::with_capacity(streams),
            num_non_empty: 0,
            pivot: None,
            pivot_time: 0,
            candidate_start: 0,
            candidate_end: 0,
            max_interval: DURATION_MAX_NS,
            age_penalty: 0.1,
            has_dropped: vec![false; streams],
            lower_bounds: vec![0; streams],
            bound_violations: vec![0; streams],
            queue_drops: vec![0; streams],
            virtual_moves: vec![0; streams],
        })
    }

    /// `setMaxIntervalDuration`: a candidate set spanning more than this is never formed.
    pub fn set_max_interval_ns(&mut self, max_interval_ns: i64) -> Result<(), EngineError> {
        if max_interval_ns < 0 {
            return Err(EngineError::InvalidPolicy {
                policy: POLICY,
                field: "max_interval",
                value: format!("{max_interval_ns} ns"),
                problem: "must not be negative",
            });
        }
        self.max_interval = max_interval_ns;
        Ok(())
    }

    /// `setAgePenalty`: how much an older candidate must be tighter to be preferred.
    pub fn set_age_penalty(&mut self, age_penalty: f64) -> Result<(), EngineError> {
        if !(age_penalty.is_finite() && age_penalty >= 0.0) {
            return Err(EngineError::InvalidPolicy {
                policy: POLICY,
                field: "age_penalty",
                value: age_penalty.to_string(),
                problem: "must be finite and >= 0",
            });
        }
        self.age_penalty = age_penalty;
        Ok(())
    }

    /// `setInterMessageLowerBound(i, bound)`: the smallest gap between two messages of stream `i`.
    pub fn set_inter_message_lower_bound_ns(
        &mut self,
        stream: usize,
        bound_ns: i64,
    ) -> Result<(), EngineError> {
        if bound_ns < 0 {
            return Err(EngineError::InvalidPolicy {
                policy: POLICY,
                field: "lower_bounds",
                value: format!("{bound_ns} ns"),
                problem: "must not be negative",
            });
        }
        let n = self.n;
        let slot = self
            .lower_bounds
            .get_mut(stream)
            .ok_or(EngineError::UnknownStream {
                policy: POLICY,
                stream,
                streams: n,
            })?;
        *slot = bound_ns;
        Ok(())
    }

    /// Messages that arrived out of order or closer than their stream's lower bound
    /// (the C++ policy warns once about these), per stream.
    pub fn bound_violations(&self) -> &[u64] {
        &self.bound_violations
    }

    /// Messages dropped because a stream's queue overflowed, per stream.
    pub fn queue_drops(&self) -> &[u64] {
        &self.queue_drops
    }

    fn check_inter_message_bound(&mut self, i: usize) {
        let deque = &self.deques[i];
        let Some(&(msg_time, _)) = deque.back() else {
            return;
        };
        let previous = if deque.len() == 1 {
            match self.past[i].last() {
                Some(&(t, _)) => t,
                None => return,
            }
        } else {
            match deque.get(deque.len() - 2) {
                Some(&(t, _)) => t,
                None => return,
            }
        };
        if msg_time < previous || ns(msg_time) - ns(previous) < self.lower_bounds[i] {
            self.bound_violations[i] += 1;
        }
    }

    fn scaled(&self, duration_ns: i64) -> i64 {
        cpp_duration_scale(duration_ns, 1.0 + self.age_penalty)
    }

    fn delete_front(&mut self, i: usize) {
        let q = &mut self.deques[i];
        q.pop_front();
        if q.is_empty() {
            self.num_non_empty -= 1;
        }
    }

    fn move_front_to_past(&mut self, i: usize) {
        let q = &mut self.deques[i];
        if let Some(front) = q.pop_front() {
            self.past[i].push(front);
        }
        if q.is_empty() {
            self.num_non_empty -= 1;
        }
    }

    fn make_candidate(&mut self) {
        self.candidate.clear();
        for q in &self.deques {
            if let Some(&front) = q.front() {
                self.candidate.push(front);
            }
        }
        for v in &mut self.past {
            v.clear();
        }
    }

    /// `recover<i>(num_messages)`: the last `count` past messages go back to the deque front.
    fn recover_n(&mut self, i: usize, count: usize) {
        let (v, q) = (&mut self.past[i], &mut self.deques[i]);
        for _ in 0..count {
            match v.pop() {
                Some(m) => q.push_front(m),
                None => break,
            }
        }
        if !q.is_empty() {
            self.num_non_empty += 1;
        }
    }

    /// `recover<i>()`: all past messages go back.
    fn recover_all(&mut self, i: usize) {
        let count = self.past[i].len();
        self.recover_n(i, count);
    }

    fn recover_and_delete(&mut self, i: usize) {
        let (v, q) = (&mut self.past[i], &mut self.deques[i]);
        while let Some(m) = v.pop() {
            q.push_front(m);
        }
        q.pop_front();
        if !q.is_empty() {
            self.num_non_empty += 1;
        }
    }

    fn publish_candidate(&mut self, out: &mut Vec<MatchedSet>) {
        let items = self
            .candidate
            .iter()
            .enumerate()
            .map(|(s, &(stamp, id))| (s, stamp, id))
            .collect();
        out.push(MatchedSet {
            items,
            missing: Vec::new(),
        });
        self.candidate.clear();
        self.pivot = None;
        self.num_non_empty = 0;
        for i in 0..self.n {
            self.recover_and_delete(i);
        }
    }

    /// `getCandidateBoundary`: the earliest (`end == false`, first index wins ties) or the
    /// latest (`end == true`, last index wins ties) head of the deques.
    fn candidate_boundary(&self, end: bool) -> (usize, i64) {
        let mut index = 0;
        let mut time = self.deques[0].front().map_or(0, |m| ns(m.0));
        for (i, q) in self.deques.iter().enumerate().skip(1) {
            let t = q.front().map_or(0, |m| ns(m.0));
            if (t < time) ^ end {
                time = t;
                index = i;
            }
        }
        (index, time)
    }

    /// `getVirtualTime<i>`.
    fn virtual_time(&self, i: usize) -> i64 {
        match self.deques[i].front() {
            Some(&(t, _)) => ns(t),
            None => {
                let last = self.past[i].last().map_or(self.pivot_time, |m| ns(m.0));
                let lower = last.saturating_add(self.lower_bounds[i]);
                lower.max(self.pivot_time)
            }
        }
    }

    fn virtual_boundary(&self, end: bool) -> (usize, i64) {
        let mut index = 0;
        let mut time = self.virtual_time(0);
        for i in 0..self.n {
            let t = self.virtual_time(i);
            if (t < time) ^ end {
                time = t;
                index = i;
            }
        }
        (index, time)
    }

    fn process(&mut self, out: &mut Vec<MatchedSet>) {
        while self.num_non_empty == self.n {
            let (end_index, end_time) = self.candidate_boundary(true);
            let (start_index, start_time) = self.candidate_boundary(false);
            for i in 0..self.n {
                if i != end_index {
                    self.has_dropped[i] = false;
                }
            }
            let pivot = match self.pivot {
                None => {
                    if end_time - start_time > self.max_interval || self.has_dropped[end_index] {
                        self.delete_front(start_index);
                        continue;
                    }
                    self.make_candidate();
                    self.candidate_start = start_time;
                    self.candidate_end = end_time;
                    self.pivot = Some(end_index);
                    self.pivot_time = end_time;
                    self.move_front_to_past(start_index);
                    end_index
                }
                Some(pivot) => {
                    if self.scaled(end_time - self.candidate_end) >= start_time - self.candidate_start {
                        self.move_front_to_past(start_index);
                    } else {
                        self.make_candidate();
                        self.candidate_start = start_time;
                        self.candidate_end = end_time;
                        self.move_front_to_past(start_index);
                    }
                    pivot
                }
            };
            // Publish when all candidates for this pivot are exhausted (start_index == pivot), or
            // when the candidate is provably optimal already: any future candidate contains
            // [pivot_time, end_time], which is too big (the C++ code tests these separately).
            if start_index == pivot
                || self.scaled(end_time - self.candidate_end) >= self.pivot_time - self.candidate_start
            {
                self.publish_candidate(out);
            } else if self.num_non_empty < self.n {
                self.virtual_search(pivot, out);
            }
        }
    }

    /// Uses the inter-message lower bounds to try to prove the current candidate optimal
    /// before all streams have a message past the pivot.
    fn virtual_search(&mut self, pivot: usize, out: &mut Vec<MatchedSet>) {
        self.virtual_moves.iter_mut().for_each(|m| *m = 0);
        loop {
            let (_, end_time) = self.virtual_boundary(true);
            let (start_index, start_time) = self.virtual_boundary(false);
            let scaled_end = self.scaled(end_time - self.candidate_end);
            if scaled_end >= self.pivot_time - self.candidate_start {
                self.publish_candidate(out);
                return;
            }
            // The C++ code proves `start_index != pivot` and a non-empty deque here; an
            // empty one ends the search as "cannot prove optimality" instead of failing.
            if scaled_end < start_time - self.candidate_start
                || start_index == pivot
                || self.deques[start_index].is_empty()
            {
                self.num_non_empty = 0;
                for i in 0..self.n {
                    let moves = self.virtual_moves[i];
                    self.recover_n(i, moves);
                }
                return;
            }
            self.move_front_to_past(start_index);
            self.virtual_moves[start_index] += 1;
        }
    }
}

impl Synchronizer for ApproximateTime {
    fn num_streams(&self) -> usize {
        self.n
    }

    fn add_into(&mut self, stream: usize, stamp: Stamp, id: u64, out: &mut Vec<MatchedSet>) {
        if stream >= self.n {
            return;
        }
        let i = stream;
        self.deques[i].push_back((stamp, id));
        if self.deques[i].len() == 1 {
            self.num_non_empty += 1;
            if self.num_non_empty == self.n {
                self.process(out);
            }
        } else {
            self.check_inter_message_bound(i);
        }
        // During process() queue i may hold queue_size + 1 messages.
        if self.deques[i].len() + self.past[i].len() > self.queue_size {
            self.num_non_empty = 0;
            for j in 0..self.n {
                self.recover_all(j);
            }
            self.deques[i].pop_front();
            self.queue_drops[i] += 1;
            self.has_dropped[i] = true;
            if self.pivot.is_some() {
                self.candidate.clear();
                self.pivot = None;
                self.process(out);
            }
        }
    }

    fn reset(&mut self) {
        for q in &mut self.deques {
            q.clear();
        }
        for v in &mut self.past {
            v.clear();
        }
        self.candidate.clear();
        self.num_non_empty = 0;
        self.pivot = None;
        self.has_dropped.iter_mut().for_each(|d| *d = false);
    }
}
