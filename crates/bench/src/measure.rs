//! Timing: run a closure until an iteration count or a time budget is reached; median and p99.

use std::time::{Duration, Instant};

/// Median and p99 of a series of wall times.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stats {
    pub median_ms: f64,
    pub p99_ms: f64,
    pub iters: usize,
}

impl Stats {
    /// From samples in milliseconds (any order). `None` when empty.
    pub fn from_ms(samples: &[f64]) -> Option<Stats> {
        if samples.is_empty() {
            return None;
        }
        let mut s = samples.to_vec();
        s.sort_by(f64::total_cmp);
        let n = s.len();
        let median = if n % 2 == 1 {
            s[n / 2]
        } else {
            0.5 * (s[n / 2 - 1] + s[n / 2])
        };
        // nearest-rank p99 (as numpy's sorted[ceil(0.99 n) - 1] in the peers)
        let rank = ((0.99 * n as f64).ceil() as usize).clamp(1, n);
        Some(Stats {
            median_ms: median,
            p99_ms: s[rank - 1],
            iters: n,
        })
    }
}

/// How long to measure one stage.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub warmup: usize,
    pub min_iters: usize,
    pub max_iters: usize,
    pub max_time: Duration,
}

impl Budget {
    pub fn new(quick: bool) -> Budget {
        if quick {
            Budget {
                warmup: 1,
                min_iters: 5,
                max_iters: 30,
                max_time: Duration::from_secs(2),
            }
        } else {
            Budget {
                warmup: 3,
                min_iters: 20,
                max_iters: 300,
                max_time: Duration::from_secs(10),
            }
        }
    }

    /// Iterations to ask of a peer that costs about `ms` per call.
    pub fn iters_for(&self, ms: f64) -> usize {
        let by_time = (self.max_time.as_secs_f64() * 1e3 / ms.max(1e-3)) as usize;
        by_time.clamp(self.min_iters, self.max_iters)
    }
}

/// Times `f` (warm-up calls first); stops at `max_iters` or when `max_time` is spent after
/// `min_iters`.
pub fn time<F: FnMut()>(budget: &Budget, mut f: F) -> Stats {
    for _ in 0..budget.warmup {
        f();
    }
    let start = Instant::now();
    let mut samples = Vec::with_capacity(budget.max_iters);
    while samples.len() < budget.max_iters {
        let t0 = Instant::now();
        f();
        samples.push(t0.elapsed().as_secs_f64() * 1e3);
        if samples.len() >= budget.min_iters && start.elapsed() >= budget.max_time {
            break;
        }
    }
    Stats::from_ms(&samples).unwrap_or(Stats {
        median_ms: f64::NAN,
        p99_ms: f64::NAN,
        iters: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_nearest_rank_p99() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        let s = Stats::from_ms(&v).unwrap();
        assert_eq!(s.median_ms, 50.5);
        assert_eq!(s.p99_ms, 99.0);
        let s = Stats::from_ms(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!((s.median_ms, s.p99_ms, s.iters), (2.0, 3.0, 3));
        assert!(Stats::from_ms(&[]).is_none());
    }

    #[test]
    fn budget_bounds_iterations() {
        let b = Budget {
            warmup: 2,
            min_iters: 3,
            max_iters: 7,
            max_time: Duration::from_secs(60),
        };
        let mut calls = 0;
        let s = time(&b, || calls += 1);
        assert_eq!(s.iters, 7);
        assert_eq!(calls, 9);
        assert_eq!(b.iters_for(1e9), 3);
        assert_eq!(b.iters_for(1e-9), 7);
    }
}
