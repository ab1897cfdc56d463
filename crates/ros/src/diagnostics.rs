//! `/diagnostics`: the level of each input stream (on the wall clock) and of the pipeline, with the
//! node's counters and drops.

use crate::input::Shared;
use crate::node::Processing;
use sensorium_msgs::{DiagnosticStatus, KeyValue};
use sensorium_pipeline::runtime::Runtime;
use std::sync::Mutex;
use std::time::Instant;

/// Diagnostic levels (`diagnostic_msgs/DiagnosticStatus`).
pub const OK: u8 = 0;
pub const WARN: u8 = 1;
pub const ERROR: u8 = 2;
pub const STALE: u8 = 3;

/// Receive statistics of one input stream, on the wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct WallRate {
    pub(crate) count: u64,
    pub(crate) last: Option<Instant>,
    pub(crate) period: Option<f64>,
}

impl WallRate {
    pub(crate) fn observe(&mut self, now: Instant) {
        if let Some(l) = self.last {
            let dt = now.duration_since(l).as_secs_f64();
            if dt > 1e-4 && dt < 10.0 {
                self.period = Some(self.period.map_or(dt, |p| 0.9 * p + 0.1 * dt));
            }
        }
        self.count += 1;
        self.last = Some(now);
    }
}

/// Level of a stream at `now`: OK while it arrives within period × factor, WARN beyond, ERROR beyond
/// twice that (or when it never arrived while its peer did).
pub(crate) fn stream_level(r: &WallRate, now: Instant, factor: f64) -> (u8, String) {
    match (r.last, r.period) {
        (None, _) => (WARN, "no message received".into()),
        (Some(l), Some(p)) => {
            let age = now.duration_since(l).as_secs_f64();
            if age > 2.0 * p * factor {
                (
                    ERROR,
                    format!("stale: no message for {age:.2} s (period {p:.3} s)"),
                )
            } else if age > p * factor {
                (WARN, format!("late: no message for {age:.2} s (period {p:.3} s)"))
            } else {
                (OK, format!("{:.1} Hz", 1.0 / p))
            }
        }
        (Some(_), None) => (OK, "one message received".into()),
    }
}

pub(crate) fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted.get(i).copied().unwrap_or(0.0)
}

impl Processing<'_> {
    /// The levels [`Self::diagnostics`] would report, in the same order.
    pub(crate) fn levels(&self, shared: &Mutex<Shared>) -> Vec<u8> {
        self.diagnostics_inner(None, shared, 0.0)
            .iter()
            .map(|d| d.level)
            .collect()
    }

    pub(crate) fn diagnostics(
        &self,
        hw: &str,
        shared: &Mutex<Shared>,
        load_ms: f64,
    ) -> Vec<DiagnosticStatus> {
        self.diagnostics_inner(Some(hw), shared, load_ms)
    }

    /// `hw`: the hardware id (empty when only the levels are wanted).
    fn diagnostics_inner(
        &self,
        hw: Option<&str>,
        shared: &Mutex<Shared>,
        load_ms: f64,
    ) -> Vec<DiagnosticStatus> {
        let now = Instant::now();
        let kv = |k: &str, v: String| KeyValue {
            key: k.into(),
            value: v,
        };
        let mut out = Vec::new();
        let (rates, dropped) = match shared.lock() {
            Ok(sh) => (sh.rates.clone(), sh.dropped.clone()),
            Err(_) => Default::default(),
        };
        let camera_role = if self.s.topics.prefer_compressed {
            "camera_compressed"
        } else {
            "camera"
        };
        let camera_any = rates
            .get(camera_role)
            .or_else(|| rates.get("camera"))
            .or_else(|| rates.get("camera_compressed"))
            .copied()
            .unwrap_or_default();
        for (label, r, topic) in [
            ("camera", camera_any, self.s.topics.camera.as_str()),
            (
                "lidar",
                rates.get("lidar").copied().unwrap_or_default(),
                self.s.topics.lidar.as_str(),
            ),
            (
                "map_text",
                rates.get("map_text").copied().unwrap_or_default(),
                self.s.topics.map_text.as_str(),
            ),
        ] {
            let (mut level, msg) = stream_level(&r, now, self.s.stale_factor);
            if label == "map_text" && level > OK {
                level = OK; // map text is latched / occasional: never degrades the node
            }
            out.push(DiagnosticStatus {
                level,
                name: format!("sensorium: input {label}"),
                message: msg,
                hardware_id: hw.unwrap_or_default().into(),
                values: vec![
                    kv("topic", topic.into()),
                    kv("received", r.count.to_string()),
                    kv(
                        "rate_hz",
                        r.period.map_or("0".into(), |p| format!("{:.2}", 1.0 / p)),
                    ),
                    kv(
                        "age_s",
                        r.last.map_or("never".into(), |l| {
                            format!("{:.3}", now.duration_since(l).as_secs_f64())
                        }),
                    ),
                ],
            });
        }
        // degraded mode: the fused modalities
        let cam_level = out.first().map_or(OK, |d| d.level);
        let lidar_level = out.get(1).map_or(OK, |d| d.level);
        let (level, message) = if self.runtime.is_none() {
            (WARN, format!("waiting for calibration: {}", self.calib_error))
        } else if cam_level > OK && lidar_level > OK {
            (ERROR, "no camera and no LiDAR".to_string())
        } else if cam_level > OK {
            (
                cam_level,
                "degraded: LiDAR-only scenes (camera missing)".to_string(),
            )
        } else if lidar_level > OK {
            (
                lidar_level,
                "degraded: camera-only scenes (LiDAR missing)".to_string(),
            )
        } else {
            (OK, "camera + LiDAR fused".to_string())
        };
        let mut lat = self
            .latencies
            .iter()
            .rev()
            .take(1000)
            .copied()
            .collect::<Vec<_>>();
        lat.sort_by(f64::total_cmp);
        let mut values = vec![
            kv("scenes", self.report.scenes.to_string()),
            kv("latency_p50_ms", format!("{:.2}", percentile(&lat, 0.5))),
            kv("latency_p99_ms", format!("{:.2}", percentile(&lat, 0.99))),
        ];
        for (k, v) in &self.report.modalities {
            values.push(kv(&format!("modalities_{k}"), v.to_string()));
        }
        let mut all_drops = dropped;
        for (k, v) in self.runtime.iter().flat_map(Runtime::drops) {
            *all_drops.entry(k).or_default() += v;
        }
        *all_drops.entry("oversized".into()).or_default() += self.oversized;
        for (k, v) in all_drops.iter().filter(|(_, v)| **v > 0) {
            values.push(kv(&format!("dropped_{k}"), v.to_string()));
        }
        out.push(DiagnosticStatus {
            level,
            name: "sensorium: pipeline".into(),
            message,
            hardware_id: hw.unwrap_or_default().into(),
            values,
        });
        out.push(DiagnosticStatus {
            level: OK,
            name: "sensorium: models".into(),
            message: format!("loaded in {load_ms:.0} ms"),
            hardware_id: hw.unwrap_or_default().into(),
            values: vec![kv("dir", self.s.models_dir.display().to_string())],
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn stream_levels_follow_the_stale_factor() {
        let t0 = Instant::now();
        let mut r = WallRate::default();
        assert_eq!(stream_level(&r, t0, 3.0).0, WARN);
        for k in 0..5 {
            r.observe(t0 + Duration::from_millis(100 * k));
        }
        let last = t0 + Duration::from_millis(400);
        assert_eq!(stream_level(&r, last + Duration::from_millis(200), 3.0).0, OK);
        assert_eq!(stream_level(&r, last + Duration::from_millis(400), 3.0).0, WARN);
        assert_eq!(stream_level(&r, last + Duration::from_millis(700), 3.0).0, ERROR);
        assert_eq!(r.count, 5);
    }

    #[test]
    fn percentiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), 51.0);
        assert_eq!(percentile(&v, 0.99), 99.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
    }
}
