//! Counters and latency histograms for streams and stages (diagnostics, replay summary).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Drop reason of items that missed their deadline.
pub const DROP_LATE: &str = "late";

/// What happened to the items of one stream or stage.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// Items that arrived.
    pub received: u64,
    /// Items dropped, by reason (`late`, `queue_full`, `ring_full`, `filtered`, ...).
    pub dropped: BTreeMap<String, u64>,
    /// Items that went into a fused scene.
    pub fused: u64,
    /// Items dropped because they missed their deadline (also counted in `dropped["late"]`).
    pub late: u64,
}

impl Counters {
    pub fn record_received(&mut self) {
        self.received += 1;
    }

    pub fn record_fused(&mut self) {
        self.fused += 1;
    }

    /// One item dropped for `reason` (allocates only the first time a reason is seen).
    pub fn record_drop(&mut self, reason: &str) {
        self.record_drops(reason, 1);
    }

    pub fn record_drops(&mut self, reason: &str, count: u64) {
        if count == 0 {
            return;
        }
        match self.dropped.get_mut(reason) {
            Some(c) => *c += count,
            None => {
                self.dropped.insert(reason.to_string(), count);
            }
        }
    }

    /// One item dropped for missing its deadline.
    pub fn record_late(&mut self) {
        self.late += 1;
        self.record_drop(DROP_LATE);
    }

    /// All drops, every reason.
    pub fn total_dropped(&self) -> u64 {
        self.dropped.values().sum()
    }

    pub fn dropped_for(&self, reason: &str) -> u64 {
        self.dropped.get(reason).copied().unwrap_or(0)
    }

    /// Adds `other`'s counts to these.
    pub fn merge(&mut self, other: &Counters) {
        self.received += other.received;
        self.fused += other.fused;
        self.late += other.late;
        for (reason, &count) in &other.dropped {
            self.record_drops(reason, count);
        }
    }
}

/// Sub-buckets per power of two: relative resolution 1/64 (≈ 1.6 %).
const SUB_BITS: u32 = 6;
const SUB: usize = 1 << SUB_BITS;
/// Largest exponent kept apart: values up to 2^46 ns (≈ 19.5 h); larger ones share the top bucket.
const MAX_EXP: u32 = 45;
const BUCKETS: usize = SUB + (MAX_EXP - SUB_BITS + 1) as usize * SUB;

/// A latency histogram with fixed memory (≈ 21 KB): log-linear buckets over nanoseconds
/// (exact below 64 ns, within 1.6 % above), exact count, sum, min and max.
#[derive(Clone)]
pub struct LatencyHistogram {
    buckets: Box<[u64]>,
    count: u64,
    sum_ns: u128,
    min_ns: u64,
    max_ns: u64,
}

/// Percentiles of a histogram, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    pub count: u64,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for LatencyHistogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("LatencyHistogram").field(&self.summary()).finish()
    }
}

fn bucket_of(ns: u64) -> usize {
    if ns < SUB as u64 {
        return ns as usize;
    }
    let exp = (63 - ns.leading_zeros()).min(MAX_EXP);
    if exp == MAX_EXP && ns >> MAX_EXP > 1 {
        return BUCKETS - 1;
    }
    let sub = ((ns >> (exp - SUB_BITS)) as usize) & (SUB - 1);
    SUB + (exp - SUB_BITS) as usize * SUB + sub
}

/// Largest value falling in bucket `index`.
fn bucket_upper(index: usize) -> u64 {
    if index < SUB {
        return index as u64;
    }
    let exp = (index - SUB) / SUB + SUB_BITS as usize;
    let sub = ((index - SUB) % SUB) as u64;
    let width = 1u64 << (exp - SUB_BITS as usize);
    ((SUB as u64 + sub) << (exp - SUB_BITS as usize)) + width - 1
}

impl LatencyHistogram {
    pub fn new() -> Self {
        LatencyHistogram {
            buckets: vec![0; BUCKETS].into_boxed_slice(),
            count: 0,
            sum_ns: 0,
            min_ns: u64::MAX,
            max_ns: 0,
        }
    }

    pub fn record(&mut self, latency: Duration) {
        self.record_ns(u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX));
    }

    /// Records milliseconds (negative and NaN count as 0).
    pub fn record_ms(&mut self, ms: f64) {
        let ns = if ms.is_nan() || ms <= 0.0 {
            0
        } else {
            (ms * 1e6).min(u64::MAX as f64) as u64
        };
        self.record_ns(ns);
    }

    pub fn record_ns(&mut self, ns: u64) {
        if let Some(b) = self.buckets.get_mut(bucket_of(ns)) {
            *b += 1;
        }
        self.count += 1;
        self.sum_ns += u128::from(ns);
        self.min_ns = self.min_ns.min(ns);
        self.max_ns = self.max_ns.max(ns);
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// The `q` quantile (0..=1, nearest rank) in nanoseconds: the upper edge of its bucket,
    /// clamped to the exact min and max. 0 when empty.
    pub fn quantile_ns(&self, q: f64) -> u64 {
        if self.count == 0 {
            return 0;
        }
        let q = if q.is_nan() { 1.0 } else { q.clamp(0.0, 1.0) };
        let rank = ((q * self.count as f64).ceil() as u64).clamp(1, self.count);
        let mut seen = 0u64;
        for (index, &c) in self.buckets.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return bucket_upper(index).clamp(self.min_ns, self.max_ns);
            }
        }
        self.max_ns
    }

    pub fn max_ns(&self) -> u64 {
        self.max_ns
    }

    pub fn mean_ns(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum_ns as f64 / self.count as f64
        }
    }

    /// Adds `other`'s samples.
    pub fn merge(&mut self, other: &LatencyHistogram) {
        for (a, b) in self.buckets.iter_mut().zip(other.buckets.iter()) {
            *a += b;
        }
        self.count += other.count;
        self.sum_ns += other.sum_ns;
        self.min_ns = self.min_ns.min(other.min_ns);
        self.max_ns = self.max_ns.max(other.max_ns);
    }

    pub fn summary(&self) -> LatencySummary {
        let ms = |ns: u64| ns as f64 / 1e6;
        LatencySummary {
            count: self.count,
            mean_ms: self.mean_ns() / 1e6,
            p50_ms: ms(self.quantile_ns(0.50)),
            p90_ms: ms(self.quantile_ns(0.90)),
            p99_ms: ms(self.quantile_ns(0.99)),
            max_ms: ms(self.max_ns),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_count_and_merge() {
        let mut c = Counters::default();
        c.record_received();
        c.record_received();
        c.record_drop("queue_full");
        c.record_late();
        c.record_fused();
        let mut total = Counters::default();
        total.merge(&c);
        total.merge(&c);
        assert_eq!(total.received, 4);
        assert_eq!(total.late, 2);
        assert_eq!(total.dropped_for("late"), 2);
        assert_eq!(total.dropped_for("queue_full"), 2);
        assert_eq!(total.total_dropped(), 4);
        assert_eq!(total.fused, 2);
    }

    #[test]
    fn buckets_are_contiguous_and_monotonic() {
        let mut previous_upper = None;
        for index in 0..BUCKETS - 1 {
            let upper = bucket_upper(index);
            if let Some(p) = previous_upper {
                assert!(upper > p, "bucket {index}");
                assert_eq!(bucket_of(p + 1), index, "first value of bucket {index}");
            }
            assert_eq!(bucket_of(upper), index);
            previous_upper = Some(upper);
        }
        assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn quantiles_match_exact_ranks_within_resolution() {
        // A skewed sample: compare with the exact nearest-rank quantiles of the sorted data.
        let mut values: Vec<u64> = (1..=20_000u64)
            .map(|k| (k * k * 37) % 50_000_000 + 1_000)
            .collect();
        let mut h = LatencyHistogram::new();
        for &v in &values {
            h.record_ns(v);
        }
        values.sort_unstable();
        for q in [0.5, 0.9, 0.99, 1.0] {
            let rank = ((q * values.len() as f64).ceil() as usize).max(1);
            let exact = values[rank - 1] as f64;
            let got = h.quantile_ns(q) as f64;
            assert!(
                got >= exact && got <= exact * (1.0 + 1.0 / 64.0) + 1.0,
                "q={q}: {got} vs {exact}"
            );
        }
        assert_eq!(h.max_ns(), *values.last().unwrap());
        let s = h.summary();
        assert_eq!(s.count, 20_000);
        assert!(s.p50_ms <= s.p90_ms && s.p90_ms <= s.p99_ms && s.p99_ms <= s.max_ms);
    }

    #[test]
    fn record_ms_and_empty() {
        let mut h = LatencyHistogram::new();
        assert_eq!(h.summary(), LatencySummary::default());
        h.record_ms(12.5);
        h.record_ms(-1.0);
        h.record(Duration::from_millis(3));
        assert_eq!(h.count(), 3);
        assert_eq!(h.quantile_ns(1.0), 12_500_000);
        assert_eq!(h.quantile_ns(0.0), 0);
    }
}
