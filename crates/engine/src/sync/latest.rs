//! `latest`: on each message of the trigger stream, fuse the newest message of every other
//! stream that is fresh enough.
//!
//! A stream's message is used when `|trigger stamp − its stamp| ≤ max_age` for that stream
//! (an infinite max age makes the stream sticky, as map text is: valid until replaced).
//! Streams with nothing fresh are listed in [`MatchedSet::missing`]; the set is emitted
//! with the streams that are available. Messages are not consumed: a slow stream's last
//! message serves several triggers.

use sensorium_core::Stamp;

use super::rostime::ns;
use super::{MatchedSet, Synchronizer, MAX_STREAMS};
use crate::error::EngineError;

const POLICY: &str = "latest";

/// See the module documentation.
#[derive(Debug, Clone)]
pub struct LatestSync {
    trigger: usize,
    /// Per stream; `None` = no limit.
    max_age: Vec<Option<i64>>,
    newest: Vec<Option<(Stamp, u64)>>,
}

impl LatestSync {
    /// `max_age_ns[s]` for each of the 2..=9 streams (`None`: no limit); `trigger` names the
    /// stream whose messages emit sets (its own max age is not used).
    pub fn new(trigger: usize, max_age_ns: Vec<Option<i64>>) -> Result<Self, EngineError> {
        let streams = max_age_ns.len();
        if !(2..=MAX_STREAMS).contains(&streams) {
            return Err(EngineError::InvalidPolicy {
                policy: POLICY,
                field: "streams",
                value: streams.to_string(),
                problem: "must be between 2 and 9",
            });
        }
        if trigger >= streams {
            return Err(EngineError::InvalidPolicy {
                policy: POLICY,
                field: "trigger",
                value: trigger.to_string(),
                problem: "is not one of the streams",
            });
        }
        if let Some(bad) = max_age_ns.iter().flatten().find(|&&a| a < 0) {
            return Err(EngineError::InvalidPolicy {
                policy: POLICY,
                field: "max_age",
                value: format!("{bad} ns"),
                problem: "must not be negative",
            });
        }
        Ok(LatestSync {
            trigger,
            max_age: max_age_ns,
            newest: vec![None; streams],
        })
    }
}

impl Synchronizer for LatestSync {
    fn num_streams(&self) -> usize {
        self.newest.len()
    }

    fn add_into(&mut self, stream: usize, stamp: Stamp, id: u64, out: &mut Vec<MatchedSet>) {
        let n = self.newest.len();
        if stream >= n {
            return;
        }
        if stream != self.trigger {
            let slot = &mut self.newest[stream];
            if slot.is_none_or(|(held, _)| stamp >= held) {
                *slot = Some((stamp, id));
            }
            return;
        }
        let t = ns(stamp);
        let mut set = MatchedSet {
            items: Vec::with_capacity(n),
            missing: Vec::new(),
        };
        for (s, held) in self.newest.iter().enumerate() {
            if s == self.trigger {
                set.items.push((s, stamp, id));
                continue;
            }
            let fresh = match (held, self.max_age[s]) {
                (Some(_), None) => true,
                (Some((held_stamp, _)), Some(max_age)) => (t - ns(*held_stamp)).abs() <= max_age,
                (None, _) => false,
            };
            match held {
                Some((held_stamp, held_id)) if fresh => set.items.push((s, *held_stamp, *held_id)),
                _ => set.missing.push(s),
            }
        }
        out.push(set);
    }

    fn reset(&mut self) {
        self.newest.iter_mut().for_each(|h| *h = None);
    }
}
