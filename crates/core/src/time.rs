//! ROS1 time stamps.

use serde::{Deserialize, Serialize};

/// A ROS1 `time`: seconds and nanoseconds since the epoch (or since start with sim time).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Stamp {
    pub sec: u32,
    pub nsec: u32,
}

impl Stamp {
    pub const ZERO: Stamp = Stamp { sec: 0, nsec: 0 };

    pub fn new(sec: u32, nsec: u32) -> Self {
        Stamp { sec, nsec }
    }

    /// Nanoseconds since the epoch.
    pub fn as_nanos(self) -> u64 {
        u64::from(self.sec) * 1_000_000_000 + u64::from(self.nsec)
    }

    /// Builds a stamp from nanoseconds; saturates at the largest ROS1 time.
    pub fn from_nanos(ns: u64) -> Self {
        let sec = ns / 1_000_000_000;
        if sec > u64::from(u32::MAX) {
            return Stamp {
                sec: u32::MAX,
                nsec: 999_999_999,
            };
        }
        Stamp {
            sec: sec as u32,
            nsec: (ns % 1_000_000_000) as u32,
        }
    }

    pub fn as_secs_f64(self) -> f64 {
        f64::from(self.sec) + f64::from(self.nsec) * 1e-9
    }

    /// Builds a stamp from float seconds (negative values clamp to zero).
    pub fn from_secs_f64(s: f64) -> Self {
        if s.is_nan() || s <= 0.0 {
            return Stamp::ZERO;
        }
        Self::from_nanos((s * 1e9).round() as u64)
    }

    /// Signed difference `self - other` in nanoseconds.
    pub fn diff_nanos(self, other: Stamp) -> i64 {
        self.as_nanos() as i64 - other.as_nanos() as i64
    }
}

impl std::fmt::Display for Stamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{:09}", self.sec, self.nsec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nanos_round_trip_and_order() {
        let a = Stamp::new(10, 999_999_999);
        let b = Stamp::from_nanos(a.as_nanos() + 1);
        assert_eq!(b, Stamp::new(11, 0));
        assert!(b > a);
        assert_eq!(b.diff_nanos(a), 1);
        assert_eq!(a.diff_nanos(b), -1);
        assert_eq!(Stamp::from_secs_f64(1.5), Stamp::new(1, 500_000_000));
        assert_eq!(Stamp::from_secs_f64(-3.0), Stamp::ZERO);
        assert_eq!(format!("{}", Stamp::new(3, 5)), "3.000000005");
    }
}
