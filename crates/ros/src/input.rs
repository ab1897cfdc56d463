//! The node's source: raw subscriptions whose callbacks rate-limit, decode and queue each message for
//! the processing thread.

use crate::diagnostics::WallRate;
use crate::ros1::ros_now;
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

/// What every transport does with one raw input message, in its receive callback: the per-topic rate
/// limit (before any decoding work; calibration topics are never limited), the decoding with
/// [`decode`], the stream's rate, and the hand-off to the processing thread. A full ingest queue
/// drops its oldest message (the freshest data wins), counted as
/// `ingest_overflow_<stream of the dropped message>`; `/tf_static` (latched, sent once) waits for room
/// instead.
pub(crate) struct Accept {
    role: Role,
    topic: String,
    bucket: Mutex<TokenBucket>,
    tx: IngestSender<Ingest>,
    shared: Arc<Mutex<Shared>>,
}

impl Accept {
    pub(crate) fn new(
        topic: &str,
        role: Role,
        max_rate_hz: f64,
        tx: IngestSender<Ingest>,
        shared: Arc<Mutex<Shared>>,
    ) -> Accept {
        Accept {
            role,
            topic: topic.to_string(),
            bucket: Mutex::new(TokenBucket::new(max_rate_hz)),
            tx,
            shared,
        }
    }

    pub(crate) fn role(&self) -> Role {
        self.role
    }

    pub(crate) fn topic(&self) -> &str {
        &self.topic
    }

    /// Counts a message of this stream dropped for `reason` (`<reason>_<stream>`).
    pub(crate) fn count(&self, reason: &str) {
        bump(&self.shared, &format!("{reason}_{}", self.role.name()));
    }

    /// One message of type `datatype` (`pkg/Type` for ROS 1 bodies, `pkg/msg/Type` for CDR). Its receive
    /// time on the node's clock is read from `clock` once it is decoded, right before it is queued, so the
    /// queue holds messages in the order of their receive times (map text is fused by them).
    pub(crate) fn offer(&self, datatype: &str, body: &[u8], clock: fn() -> Stamp) {
        let role = self.role;
        let received = Instant::now();
        let limited = !matches!(role, Role::TfStatic | Role::CameraInfo)
            && self.bucket.lock().is_ok_and(|mut b| !b.take(received));
        if limited {
            bump(&self.shared, &format!("rate_limited_{}", role.name()));
            return;
        }
        let decoded = decode(role, &self.topic, datatype, body).map_err(|e| e.to_string());
        if let Ok(mut sh) = self.shared.lock() {
            sh.rates.entry(role.name()).or_default().observe(received);
        }
        let item = Ingest {
            role,
            received,
            stamp: clock(),
            decoded,
            topic: self.topic.clone(),
        };
        if role == Role::TfStatic {
            let _ = self.tx.send(item, Some(Duration::from_secs(1)));
        } else if let Ok(Some(old)) = self.tx.push(item) {
            bump(&self.shared, &format!("ingest_overflow_{}", old.role.name()));
        }
    }
}

/// Subscribes `topic` on ROS 1 as raw bytes; every message goes through [`Accept::offer`].
pub(crate) fn subscribe(accept: Accept) -> Result<rosrust::Subscriber> {
    // the publisher's datatype comes with its connection header (RawMessage subscribes with "*")
    let datatype = Arc::new(Mutex::new(String::from("*")));
    let dt_connect = Arc::clone(&datatype);
    let topic = accept.topic.clone();
    let role = accept.role;
    rosrust::subscribe_with_ids_and_headers(
        &topic,
        4,
        move |raw: RawMessage, _caller: &str| {
            let dtype = datatype.lock().map(|d| d.clone()).unwrap_or_else(|_| "*".into());
            let dtype = if dtype == "*" && role == Role::TfStatic {
                "tf2_msgs/TFMessage".to_string()
            } else {
                dtype
            };
            accept.offer(&dtype, &raw.0, ros_now);
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
