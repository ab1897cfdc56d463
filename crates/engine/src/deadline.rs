//! Deadlines of frame sets: work past its deadline is dropped at the next stage boundary.

use std::time::{Duration, Instant};

use sensorium_core::Stamp;

/// When a frame set must be done by, on the monotonic clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    at: Instant,
}

impl Deadline {
    /// `budget` from now.
    pub fn after(budget: Duration) -> Self {
        Deadline::from(Instant::now(), budget)
    }

    /// `budget` from `start`.
    pub fn from(start: Instant, budget: Duration) -> Self {
        Deadline { at: start + budget }
    }

    /// A deadline at an instant.
    pub fn at(at: Instant) -> Self {
        Deadline { at }
    }

    /// `budget` after the newest input stamp of a frame set. `now_stamp` is the ROS time
    /// (wall or sim) read at `now`: the stamp-to-monotonic mapping. A set whose newest stamp
    /// is already older than `budget` gets a deadline in the past.
    pub fn from_stamp(newest: Stamp, budget: Duration, now_stamp: Stamp, now: Instant) -> Self {
        let due_ns = newest.as_nanos() as i128 + budget.as_nanos() as i128;
        let left_ns = due_ns - now_stamp.as_nanos() as i128;
        let at = if left_ns >= 0 {
            now.checked_add(Duration::from_nanos(left_ns.min(u64::MAX as i128) as u64))
                .unwrap_or(now)
        } else {
            now.checked_sub(Duration::from_nanos((-left_ns).min(u64::MAX as i128) as u64))
                .unwrap_or(now)
        };
        Deadline { at }
    }

    pub fn instant(&self) -> Instant {
        self.at
    }

    /// True when `now` is past the deadline.
    pub fn is_past(&self, now: Instant) -> bool {
        now > self.at
    }

    /// True when the deadline has passed.
    pub fn expired(&self) -> bool {
        self.is_past(Instant::now())
    }

    /// Time left at `now` (`None` once past).
    pub fn remaining(&self, now: Instant) -> Option<Duration> {
        self.at.checked_duration_since(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn past_and_remaining() {
        let t0 = Instant::now();
        let d = Deadline::from(t0, Duration::from_millis(100));
        assert!(!d.is_past(t0 + Duration::from_millis(100)));
        assert!(d.is_past(t0 + Duration::from_millis(101)));
        assert_eq!(
            d.remaining(t0 + Duration::from_millis(40)),
            Some(Duration::from_millis(60))
        );
        assert_eq!(d.remaining(t0 + Duration::from_millis(140)), None);
    }

    #[test]
    fn from_stamp_maps_stamp_time_onto_the_monotonic_clock() {
        let now = Instant::now();
        let now_stamp = Stamp::new(100, 0);
        // Newest input 30 ms ago, 100 ms budget: 70 ms left.
        let d = Deadline::from_stamp(
            Stamp::new(99, 970_000_000),
            Duration::from_millis(100),
            now_stamp,
            now,
        );
        assert_eq!(d.remaining(now), Some(Duration::from_millis(70)));
        // Newest input 250 ms ago: already late.
        let late = Deadline::from_stamp(
            Stamp::new(99, 750_000_000),
            Duration::from_millis(100),
            now_stamp,
            now,
        );
        assert!(late.is_past(now));
    }
}
