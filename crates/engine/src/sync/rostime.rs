//! ROS time arithmetic reproduced bit for bit, so that comparisons made by the ported
//! policies round exactly as the references do.
//!
//! Times and durations are carried as signed nanoseconds (`i64`); ROS1 stamps fit
//! (`u32` seconds), and so do their differences.

use sensorium_core::Stamp;

const NS_PER_SEC: i64 = 1_000_000_000;

/// `ros::DURATION_MAX` (`Duration(INT32_MAX, 999999999)`), the C++ policy's default
/// maximum interval.
pub const DURATION_MAX_NS: i64 = i32::MAX as i64 * NS_PER_SEC + 999_999_999;

/// A stamp as nanoseconds.
pub(crate) fn ns(stamp: Stamp) -> i64 {
    // A ROS1 stamp is at most u32::MAX seconds: always below i64::MAX nanoseconds.
    stamp.as_nanos() as i64
}

/// `ros::Duration::toSec()`: `double(sec) + 1e-9 * double(nsec)` with the duration
/// normalised so that `0 <= nsec < 1e9`.
pub fn cpp_duration_to_sec(duration_ns: i64) -> f64 {
    let sec = duration_ns.div_euclid(NS_PER_SEC);
    let nsec = duration_ns.rem_euclid(NS_PER_SEC);
    sec as f64 + 1e-9 * nsec as f64
}

/// `ros::Duration(double)` (`DurationBase::fromSec`): `sec = floor(d)`,
/// `nsec = round((d - sec) * 1e9)` (half away from zero), with the rollover.
///
/// Where C++ throws (a result beyond the 32-bit seconds range) this saturates instead.
pub fn cpp_duration_from_sec(d: f64) -> i64 {
    if d.is_nan() {
        return 0;
    }
    let floor = d.floor();
    if floor >= i64::MAX as f64 / NS_PER_SEC as f64 {
        return i64::MAX;
    }
    if floor <= i64::MIN as f64 / NS_PER_SEC as f64 {
        return i64::MIN;
    }
    let sec = floor as i64;
    let mut nsec = ((d - sec as f64) * 1e9).round() as i64;
    let rollover = nsec / NS_PER_SEC;
    nsec %= NS_PER_SEC;
    (sec + rollover) * NS_PER_SEC + nsec
}

/// `ros::Duration * double` as roscpp computes it: `Duration(toSec() * scale)`.
pub fn cpp_duration_scale(duration_ns: i64, scale: f64) -> i64 {
    cpp_duration_from_sec(cpp_duration_to_sec(duration_ns) * scale)
}

/// `rospy.Duration.from_sec(float)` (genpy): `secs = int(f)`, `nsecs = int((f - secs) * 1e9)`,
/// both truncating toward zero.
pub fn py_duration_from_sec(f: f64) -> i64 {
    if f.is_nan() {
        return 0;
    }
    let secs = f.trunc();
    if secs.abs() >= i64::MAX as f64 / NS_PER_SEC as f64 {
        return if f > 0.0 { i64::MAX } else { i64::MIN };
    }
    let nsecs = ((f - secs) * 1e9).trunc();
    secs as i64 * NS_PER_SEC + nsecs as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpp_to_sec_normalises_negative_durations() {
        assert_eq!(cpp_duration_to_sec(-1), -1.0 + 1e-9 * 999_999_999.0);
        assert_eq!(cpp_duration_to_sec(1_500_000_000), 1.5);
    }

    #[test]
    fn cpp_from_sec_rounds_half_away_and_rolls_over() {
        assert_eq!(cpp_duration_from_sec(0.1), 100_000_000);
        assert_eq!(cpp_duration_from_sec(-0.25), -250_000_000);
        assert_eq!(cpp_duration_from_sec(1.999_999_999_9), 2_000_000_000);
        assert_eq!(cpp_duration_from_sec(f64::INFINITY), i64::MAX);
        // 10 ms * 1.1 goes through doubles: 0.011000000000000001 -> 11 ms.
        assert_eq!(cpp_duration_scale(10_000_000, 1.1), 11_000_000);
    }

    #[test]
    fn py_from_sec_truncates() {
        // (2.01 - 2) * 1e9 = 9999999.999999788 in doubles: genpy truncates it.
        assert_eq!(py_duration_from_sec(2.01), 2_009_999_999);
        assert_eq!(py_duration_from_sec(0.05), 50_000_000);
        assert_eq!(py_duration_from_sec(1.25), 1_250_000_000);
    }
}
