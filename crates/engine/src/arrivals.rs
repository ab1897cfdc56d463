//! Random arrival sequences of stamped messages for the parity tests and the bench.
//!
//! Each stream has its own rate, phase, stamp jitter, drop probability and transport delay;
//! messages are delivered in arrival order (stamp + delay), so streams interleave and a
//! stream whose delay varies more than its period arrives out of order.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sensorium_core::Stamp;

/// Epoch of generated stamps (seconds), inside the ROS1 stamp range.
pub const EPOCH_S: f64 = 1_600_000_000.0;

/// How to draw a sequence.
#[derive(Debug, Clone, Copy)]
pub struct ArrivalSpec {
    pub streams: usize,
    pub duration_s: f64,
    pub seed: u64,
    /// All streams sample one shared clock (for `exact`): equal stamps across streams.
    pub shared_clock: bool,
}

/// `(stream, header stamp)` in arrival order.
pub fn generate(spec: ArrivalSpec) -> Vec<(usize, Stamp)> {
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let mut arrivals: Vec<(f64, usize, Stamp)> = Vec::new();
    let shared_rate = rng.gen_range(8.0..25.0);
    for stream in 0..spec.streams {
        let rate: f64 = if spec.shared_clock {
            shared_rate
        } else {
            rng.gen_range(4.0..35.0)
        };
        let period = 1.0 / rate;
        let phase = if spec.shared_clock {
            0.0
        } else {
            rng.gen_range(0.0..period)
        };
        let jitter = if spec.shared_clock {
            0.0
        } else {
            rng.gen_range(0.0..0.3) * period
        };
        let drop_p = rng.gen_range(0.0..0.15);
        let base_delay = rng.gen_range(0.0..0.08);
        let delay_spread = rng.gen_range(0.0..1.5) * period;
        let tie_p = rng.gen_range(0.0..0.05);
        let dup_p = rng.gen_range(0.0..0.02);
        let mut k = 0u64;
        loop {
            let nominal = phase + k as f64 * period;
            k += 1;
            if nominal > spec.duration_s {
                break;
            }
            if rng.gen_bool(drop_p) {
                continue;
            }
            let mut t = nominal + rng.gen_range(-0.5..=0.5) * jitter;
            if rng.gen_bool(tie_p) {
                t = (t * 100.0).round() / 100.0; // on a 10 ms grid: ties across streams
            }
            let stamp = Stamp::from_secs_f64(EPOCH_S + t.max(0.0));
            let arrival = t + base_delay + rng.gen_range(0.0..=1.0) * delay_spread;
            arrivals.push((arrival, stream, stamp));
            if rng.gen_bool(dup_p) {
                // The same stamp again, a little later (a republished message).
                arrivals.push((arrival + 0.001, stream, stamp));
            }
        }
    }
    arrivals.sort_by(|a, b| a.0.total_cmp(&b.0));
    arrivals.into_iter().map(|(_, s, t)| (s, t)).collect()
}

/// The sequence as the reference programs read it: "STREAM SEC NSEC" lines.
pub fn to_text(seq: &[(usize, Stamp)]) -> String {
    let mut s = String::with_capacity(seq.len() * 24);
    for (stream, stamp) in seq {
        s.push_str(&format!("{} {} {}\n", stream, stamp.sec, stamp.nsec));
    }
    s
}
