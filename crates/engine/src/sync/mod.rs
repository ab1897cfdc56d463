//! Synchronization policies: which messages of N streams form one frame set.
//!
//! | policy        | type                | reference                                              |
//! |---------------|---------------------|--------------------------------------------------------|
//! | `approximate` | [`ApproximateTime`] | message_filters C++ `sync_policies::ApproximateTime`   |
//! | `slop`        | [`SlopSync`]        | python3-message-filters `ApproximateTimeSynchronizer`  |
//! | `exact`       | [`ExactSync`]       | message_filters C++ `sync_policies::ExactTime`         |
//! | `latest`      | [`LatestSync`]      | newest of each stream on a trigger, with max ages      |
//!
//! The parity tests (`tests/parity.rs`) feed random arrival sequences to these and to the
//! references and compare every matched set.

mod approximate;
mod exact;
mod latest;
pub mod rostime;
mod slop;

use std::fmt;
use std::str::FromStr;

use sensorium_core::Stamp;
use serde::{Deserialize, Serialize};

pub use approximate::ApproximateTime;
pub use exact::ExactSync;
pub use latest::LatestSync;
pub use slop::SlopSync;

use crate::error::EngineError;

/// The most streams a policy takes (message_filters' limit).
pub const MAX_STREAMS: usize = 9;

/// One synchronized frame set.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MatchedSet {
    /// `(stream, header stamp, caller's id)`, in stream order, one per stream present.
    pub items: Vec<(usize, Stamp, u64)>,
    /// Streams left out (only the `latest` policy leaves streams out), in stream order.
    pub missing: Vec<usize>,
}

impl MatchedSet {
    /// The stamp of `stream`'s message in this set.
    pub fn stamp_of(&self, stream: usize) -> Option<Stamp> {
        self.items.iter().find(|i| i.0 == stream).map(|i| i.1)
    }

    /// The caller's id of `stream`'s message in this set.
    pub fn id_of(&self, stream: usize) -> Option<u64> {
        self.items.iter().find(|i| i.0 == stream).map(|i| i.2)
    }

    /// The newest stamp in the set (where deadlines are measured from).
    pub fn newest_stamp(&self) -> Option<Stamp> {
        self.items.iter().map(|i| i.1).max()
    }

    /// The oldest stamp in the set.
    pub fn oldest_stamp(&self) -> Option<Stamp> {
        self.items.iter().map(|i| i.1).min()
    }
}

/// A synchronization policy fed one message at a time, in arrival order.
pub trait Synchronizer: Send {
    /// Number of streams the policy was built for.
    fn num_streams(&self) -> usize;

    /// Adds a message and appends the sets it completes to `out` (no allocation when no set
    /// completes). A message on a stream `>= num_streams()` is ignored.
    fn add_into(&mut self, stream: usize, stamp: Stamp, id: u64, out: &mut Vec<MatchedSet>);

    /// Adds a message and returns the sets it completes, oldest first.
    fn add(&mut self, stream: usize, stamp: Stamp, id: u64) -> Vec<MatchedSet> {
        let mut out = Vec::new();
        self.add_into(stream, stamp, id, &mut out);
        out
    }

    /// Forgets every held message (after a clock jump: a bag restarting, sim time reset).
    fn reset(&mut self);
}

/// Which policy [`PolicyConfig::build`] makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PolicyKind {
    #[default]
    Approximate,
    Slop,
    Exact,
    Latest,
}

impl PolicyKind {
    pub const ALL: [PolicyKind; 4] = [
        PolicyKind::Approximate,
        PolicyKind::Slop,
        PolicyKind::Exact,
        PolicyKind::Latest,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PolicyKind::Approximate => "approximate",
            PolicyKind::Slop => "slop",
            PolicyKind::Exact => "exact",
            PolicyKind::Latest => "latest",
        }
    }
}

impl fmt::Display for PolicyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PolicyKind {
    type Err = EngineError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PolicyKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| EngineError::InvalidPolicy {
                policy: "?",
                field: "policy",
                value: s.to_string(),
                problem: "expected one of approximate, slop, exact, latest",
            })
    }
}

/// Everything needed to build a policy (`sensorium sync`, the node's configuration).
/// Durations are float seconds, converted as the reference does (roscpp's
/// `Duration(double)` for `approximate`, rospy's `Duration.from_sec` for `slop`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PolicyConfig {
    pub policy: PolicyKind,
    /// Number of streams (2..=9), in the order given to [`Synchronizer::add`].
    pub streams: usize,
    /// Queue size per stream (`approximate`, `slop`) or of pending stamps (`exact`).
    pub queue: usize,
    /// `approximate`: largest span of a set, seconds (`None`: unlimited, as ROS's default).
    pub max_interval: Option<f64>,
    /// `approximate`: age penalty (ROS default 0.1).
    pub age_penalty: f64,
    /// `approximate`: inter-message lower bound per stream, seconds; empty = 0, one value = all.
    pub lower_bounds: Vec<f64>,
    /// `slop`: the Python synchronizer's slop, seconds.
    pub slop: f64,
    /// `latest`: the stream whose messages emit sets.
    pub trigger: usize,
    /// `latest`: max age per stream, seconds (infinite = sticky); empty = 0.1 s for all,
    /// one value = all.
    pub max_age: Vec<f64>,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            policy: PolicyKind::Approximate,
            streams: 2,
            queue: 10,
            max_interval: None,
            age_penalty: 0.1,
            lower_bounds: Vec::new(),
            slop: 0.05,
            trigger: 0,
            max_age: Vec::new(),
        }
    }
}

fn per_stream(
    values: &[f64],
    streams: usize,
    default: f64,
    field: &'static str,
) -> Result<Vec<f64>, EngineError> {
    match values.len() {
        0 => Ok(vec![default; streams]),
        1 => Ok(vec![values[0]; streams]),
        k if k == streams => Ok(values.to_vec()),
        k => Err(EngineError::InvalidPolicy {
            policy: "?",
            field,
            value: format!("{k} values"),
            problem: "give none, one for all streams, or one per stream",
        }),
    }
}

fn seconds(value: f64, policy: &'static str, field: &'static str) -> Result<f64, EngineError> {
    if value.is_nan() || value < 0.0 {
        return Err(EngineError::InvalidPolicy {
            policy,
            field,
            value: value.to_string(),
            problem: "must be a non-negative number of seconds",
        });
    }
    Ok(value)
}

impl PolicyConfig {
    /// Builds the configured policy.
    pub fn build(&self) -> Result<Box<dyn Synchronizer>, EngineError> {
        let n = self.streams;
        Ok(match self.policy {
            PolicyKind::Approximate => {
                let mut p = ApproximateTime::new(n, self.queue)?;
                if let Some(mi) = self.max_interval {
                    let mi = seconds(mi, "approximate", "max_interval")?;
                    p.set_max_interval_ns(rostime::cpp_duration_from_sec(mi))?;
                }
                p.set_age_penalty(self.age_penalty)?;
                for (s, lb) in per_stream(&self.lower_bounds, n, 0.0, "lower_bounds")?
                    .into_iter()
                    .enumerate()
                {
                    let lb = seconds(lb, "approximate", "lower_bounds")?;
                    p.set_inter_message_lower_bound_ns(s, rostime::cpp_duration_from_sec(lb))?;
                }
                Box::new(p)
            }
            PolicyKind::Slop => {
                let slop = seconds(self.slop, "slop", "slop")?;
                Box::new(SlopSync::new(n, self.queue, rostime::py_duration_from_sec(slop))?)
            }
            PolicyKind::Exact => Box::new(ExactSync::new(n, self.queue)?),
            PolicyKind::Latest => {
                let ages = per_stream(&self.max_age, n, 0.1, "max_age")?
                    .into_iter()
                    .map(|a| {
                        let a = seconds(a, "latest", "max_age")?;
                        Ok(if a.is_infinite() {
                            None
                        } else {
                            Some(rostime::cpp_duration_from_sec(a))
                        })
                    })
                    .collect::<Result<Vec<_>, EngineError>>()?;
                Box::new(LatestSync::new(self.trigger, ages)?)
            }
        })
    }
}

/// Runs a whole arrival sequence `(stream, header stamp)` through the configured policy and
/// returns the matched sets in emission order. A message's id is its 0-based position in
/// the sequence. Fails on an invalid configuration or a stream index beyond `streams`.
pub fn run_sync(
    stream_stamps: impl Iterator<Item = (usize, Stamp)>,
    policy: &PolicyConfig,
) -> Result<Vec<MatchedSet>, EngineError> {
    let mut sync = policy.build()?;
    let streams = sync.num_streams();
    let mut out = Vec::new();
    for (id, (stream, stamp)) in stream_stamps.enumerate() {
        if stream >= streams {
            return Err(EngineError::UnknownStream {
                policy: policy.policy.as_str(),
                stream,
                streams,
            });
        }
        sync.add_into(stream, stamp, id as u64, &mut out);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(ms: u64) -> Stamp {
        Stamp::from_nanos(1_000_000_000 + ms * 1_000_000)
    }

    fn ids(sets: &[MatchedSet]) -> Vec<Vec<u64>> {
        sets.iter()
            .map(|s| s.items.iter().map(|i| i.2).collect())
            .collect()
    }

    #[test]
    fn approximate_pairs_nearest_messages() {
        let cfg = PolicyConfig {
            queue: 5,
            ..Default::default()
        };
        let seq = [
            (0, st(0)),
            (1, st(5)),
            (0, st(100)),
            (1, st(90)),
            (0, st(200)),
            (1, st(210)),
        ];
        let sets = run_sync(seq.into_iter(), &cfg).unwrap();
        assert_eq!(ids(&sets), vec![vec![0, 1], vec![2, 3]]);
        assert_eq!(sets[0].stamp_of(1), Some(st(5)));
        assert_eq!(sets[1].newest_stamp(), Some(st(100)));
    }

    #[test]
    fn approximate_respects_max_interval() {
        let cfg = PolicyConfig {
            queue: 5,
            max_interval: Some(0.02),
            ..Default::default()
        };
        // 0 and 50 are 50 ms apart: never a set; 100/110 are.
        let seq = [
            (0, st(0)),
            (1, st(50)),
            (0, st(100)),
            (1, st(110)),
            (0, st(200)),
            (1, st(300)),
        ];
        let sets = run_sync(seq.into_iter(), &cfg).unwrap();
        assert_eq!(ids(&sets), vec![vec![2, 3]]);
    }

    #[test]
    fn slop_matches_within_slop_only() {
        let cfg = PolicyConfig {
            policy: PolicyKind::Slop,
            queue: 5,
            slop: 0.02,
            ..Default::default()
        };
        let seq = [(0, st(0)), (1, st(30)), (0, st(100)), (1, st(110))];
        let sets = run_sync(seq.into_iter(), &cfg).unwrap();
        assert_eq!(ids(&sets), vec![vec![2, 3]]);
    }

    #[test]
    fn exact_needs_equal_stamps_and_drops_older_tuples() {
        let cfg = PolicyConfig {
            policy: PolicyKind::Exact,
            queue: 5,
            ..Default::default()
        };
        let seq = [
            (0, st(0)),
            (0, st(10)),
            (1, st(10)),
            (1, st(0)),
            (1, st(20)),
            (0, st(20)),
        ];
        let sets = run_sync(seq.into_iter(), &cfg).unwrap();
        // Stamp 0 is older than the emitted 10 and was discarded with it; 1@0 starts anew.
        assert_eq!(ids(&sets), vec![vec![1, 2], vec![5, 4]]);
    }

    #[test]
    fn latest_reports_stale_streams_missing_and_sticky_streams_present() {
        let cfg = PolicyConfig {
            policy: PolicyKind::Latest,
            streams: 3,
            trigger: 0,
            max_age: vec![0.1, 0.05, f64::INFINITY],
            ..Default::default()
        };
        let seq = [
            (2, st(0)),
            (1, st(990)),
            (0, st(1000)),
            (0, st(1100)),
            (1, st(1090)),
        ];
        let sets = run_sync(seq.into_iter(), &cfg).unwrap();
        assert_eq!(sets.len(), 2);
        assert_eq!(ids(&sets[..1]), vec![vec![2, 1, 0]]);
        assert!(sets[0].missing.is_empty());
        assert_eq!(sets[1].stamp_of(1), None);
        assert_eq!(sets[1].missing, vec![1]);
        assert_eq!(sets[1].stamp_of(2), Some(st(0)));
    }

    #[test]
    fn reset_forgets_held_messages() {
        let cfg = PolicyConfig {
            queue: 5,
            ..Default::default()
        };
        let mut sync = cfg.build().unwrap();
        assert!(sync.add(0, st(0), 0).is_empty());
        sync.reset();
        assert!(sync.add(1, st(1), 1).is_empty());
        let sets = sync.add(0, st(2), 2);
        assert!(
            sets.is_empty(),
            "one message per stream only forms the pivot candidate: {sets:?}"
        );
        let sets = sync.add(1, st(100), 3);
        assert_eq!(ids(&sets), vec![vec![2, 1]]);
    }

    #[test]
    fn invalid_configurations_are_errors() {
        for cfg in [
            PolicyConfig {
                streams: 1,
                ..Default::default()
            },
            PolicyConfig {
                streams: 10,
                ..Default::default()
            },
            PolicyConfig {
                queue: 0,
                ..Default::default()
            },
            PolicyConfig {
                max_interval: Some(-1.0),
                ..Default::default()
            },
            PolicyConfig {
                age_penalty: f64::NAN,
                ..Default::default()
            },
            PolicyConfig {
                lower_bounds: vec![0.1, 0.1, 0.1],
                ..Default::default()
            },
            PolicyConfig {
                policy: PolicyKind::Slop,
                slop: -0.1,
                ..Default::default()
            },
            PolicyConfig {
                policy: PolicyKind::Latest,
                trigger: 2,
                ..Default::default()
            },
        ] {
            assert!(cfg.build().is_err(), "{cfg:?}");
        }
        let err = run_sync([(3, st(0))].into_iter(), &PolicyConfig::default()).unwrap_err();
        assert!(err.to_string().contains("stream 3"), "{err}");
        assert_eq!("slop".parse::<PolicyKind>().unwrap(), PolicyKind::Slop);
        assert!("nearest".parse::<PolicyKind>().is_err());
    }
}
