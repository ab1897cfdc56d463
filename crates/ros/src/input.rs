//! The node's source: raw subscriptions whose callbacks rate-limit, decode and queue each message for
//! the processing thread.

use crate::diagnostics::WallRate;
use crate::node::ros_now;
use anyhow::{anyhow, Result};
use rosrust::RawMessage;
use sensorium_core::Stamp;
use sensorium_engine::ingest::IngestSender;
use sensorium_pipeline::streams::{decode, Decoded, Role};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A decoded message on its way to the processing thread.
pub(crate) struct Ingest {
    pub role: Role,
    /// Wall-clock arrival.
    pub received: Instant,
    /// Arrival on the ROS clock (simulated time under `/use_sim_time`).
    pub stamp: Stamp,
    pub decoded: Result<Decoded, String>,
    pub topic: String,
}

#[derive(Default)]
pub(crate) struct Shared {
    pub rates: BTreeMap<&'static str, WallRate>,
    pub dropped: BTreeMap<String, u64>,
}

/// Token bucket: `rate` tokens per second, at most one second's worth banked. Rate 0: unlimited.
struct TokenBucket {
    rate: f64,
    tokens: f64,
    last: Option<Instant>,
}

impl TokenBucket {
    fn new(rate: f64) -> Self {
        TokenBucket {
            rate,
            tokens: rate.max(1.0),
            last: None,
        }
    }

    /// Takes a token at `now`; false when none is left.
    fn take(&mut self, now: Instant) -> bool {
        if self.rate <= 0.0 {
            return true;
        }
        if let Some(l) = self.last {
            let dt = now.saturating_duration_since(l).as_secs_f64();
            self.tokens = (self.tokens + dt * self.rate).min(self.rate.max(1.0));
        }
        self.last = Some(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

pub(crate) fn bump(shared: &Mutex<Shared>, key: &str) {
    if let Ok(mut sh) = shared.lock() {
        *sh.dropped.entry(key.to_string()).or_default() += 1;
    }
}

/// Subscribes `topic` as raw bytes. A full ingest queue drops its oldest message (the freshest data
/// wins), counted as `ingest_overflow_<stream of the dropped message>`; `/tf_static` (latched, sent once)
/// waits for room instead.
pub(crate) fn subscribe(
    topic: &str,
    role: Role,
    max_rate_hz: f64,
    tx: IngestSender<Ingest>,
    shared: Arc<Mutex<Shared>>,
) -> Result<rosrust::Subscriber> {
    // the publisher's datatype comes with its connection header (RawMessage subscribes with "*")
    let datatype = Arc::new(Mutex::new(String::from("*")));
    let dt_connect = Arc::clone(&datatype);
    let name = topic.to_string();
    let bucket = Mutex::new(TokenBucket::new(max_rate_hz));
    rosrust::subscribe_with_ids_and_headers(
        topic,
        4,
        move |raw: RawMessage, _caller: &str| {
            let received = Instant::now();
            // per-topic rate limit, before any decoding work (calibration topics are never limited)
            let limited = !matches!(role, Role::TfStatic | Role::CameraInfo)
                && bucket.lock().is_ok_and(|mut b| !b.take(received));
            if limited {
                bump(&shared, &format!("rate_limited_{}", role.name()));
                return;
            }
            let dtype = datatype.lock().map(|d| d.clone()).unwrap_or_else(|_| "*".into());
            let dtype = if dtype == "*" && role == Role::TfStatic {
                "tf2_msgs/TFMessage".to_string()
            } else {
                dtype
            };
            let decoded = decode(role, &name, &dtype, &raw.0).map_err(|e| e.to_string());
            if let Ok(mut sh) = shared.lock() {
                sh.rates.entry(role.name()).or_default().observe(received);
            }
            let item = Ingest {
                role,
                received,
                stamp: ros_now(),
                decoded,
                topic: name.clone(),
            };
            if role == Role::TfStatic {
                let _ = tx.send(item, Some(Duration::from_secs(1)));
            } else if let Ok(Some(old)) = tx.push(item) {
                bump(&shared, &format!("ingest_overflow_{}", old.role.name()));
            }
        },
        move |headers: HashMap<String, String>| {
            if let (Some(t), Ok(mut d)) = (headers.get("type"), dt_connect.lock()) {
                *d = t.clone();
            }
        },
    )
    .map_err(|e| anyhow!("subscribing to {topic}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_bucket_limits_the_rate_after_a_one_second_burst() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(10.0);
        // 100 messages in one second at 100 Hz: the banked second (10) plus 10 refilled, give or take one
        let passed = (0..100)
            .filter(|k| b.take(t0 + Duration::from_millis(10 * k)))
            .count();
        assert!((19..=21).contains(&passed), "{passed}");
        let mut free = TokenBucket::new(0.0);
        assert!((0..1000).all(|_| free.take(t0)));
    }
}
