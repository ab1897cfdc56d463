//! Where each value came from, and the range and choice checks that name the key, the value and its source.

use super::*;

impl Loaded {
    /// Where `key` (dotted) came from.
    pub fn origin(&self, key: &str) -> String {
        let mut cur = &self.merged;
        for part in key.split('.') {
            match &cur.kind {
                ValueKind::Table(t) => match t.get(part) {
                    Some(v) => cur = v,
                    None => return "built-in default".into(),
                },
                _ => return "built-in default".into(),
            }
        }
        origin_of(cur)
    }

    pub(super) fn range_error(&self, key: &str, value: impl std::fmt::Display, why: &str) -> anyhow::Error {
        anyhow!(
            "configuration key `{key}` = {value} from {}: {why}",
            self.origin(key)
        )
    }

    pub(super) fn validate(&self) -> Result<()> {
        let s = &self.settings;
        let one_of = |key: &str, v: &str, allowed: &[&str]| -> Result<()> {
            if allowed.contains(&v) {
                Ok(())
            } else {
                Err(self.range_error(
                    key,
                    format!("{v:?}"),
                    &format!("must be one of {}", allowed.join(", ")),
                ))
            }
        };
        one_of(
            "sync.policy",
            &s.sync.policy,
            &["approximate", "slop", "exact", "latest"],
        )?;
        one_of("sync.reference", &s.sync.reference, &["lidar", "camera"])?;
        one_of(
            "input.image_preference",
            &s.input.image_preference,
            &["raw", "compressed"],
        )?;
        one_of("models.variant", &s.models.variant, &["fp32", "int8", "auto"])?;
        one_of(
            "models.backend",
            &s.models.backend,
            &["tract", "onnxruntime", "auto"],
        )?;
        one_of("log.format", &s.log.format, &["human", "json"])?;
        one_of(
            "engine.stages",
            &s.engine.stages,
            &["auto", "pipelined", "inline"],
        )?;
        if !matches!(s.ros.version, 1 | 2) {
            return Err(self.range_error("ros.version", s.ros.version, "must be 1 or 2"));
        }
        if !(-1..=232).contains(&s.ros.domain_id) {
            return Err(self.range_error(
                "ros.domain_id",
                s.ros.domain_id,
                "must be in 0..=232 (-1: $ROS_DOMAIN_ID)",
            ));
        }
        one_of(
            "ros.sensor_reliability",
            &s.ros.sensor_reliability,
            &["best_effort", "reliable"],
        )?;
        one_of(
            "ros.output_reliability",
            &s.ros.output_reliability,
            &["best_effort", "reliable"],
        )?;
        one_of(
            "ros.tf_static_durability",
            &s.ros.tf_static_durability,
            &["transient_local", "volatile"],
        )?;
        if s.ros.sensor_depth == 0 || s.ros.sensor_depth > 1000 {
            return Err(self.range_error("ros.sensor_depth", s.ros.sensor_depth, "must be in 1..=1000"));
        }
        for (key, v) in [
            (
                "ros.socket_receive_buffer_bytes",
                s.ros.socket_receive_buffer_bytes,
            ),
            ("ros.socket_send_buffer_bytes", s.ros.socket_send_buffer_bytes),
        ] {
            if !(65_536..=(1 << 30)).contains(&v) {
                return Err(self.range_error(key, v, "must be in 65536..=1073741824 bytes"));
            }
        }
        if s.sync.queue_size == 0 || s.sync.queue_size > 1000 {
            return Err(self.range_error("sync.queue_size", s.sync.queue_size, "must be in 1..=1000"));
        }
        for (key, v) in [
            ("sync.max_interval", s.sync.max_interval),
            ("sync.slop", s.sync.slop),
            ("sync.max_age", s.sync.max_age),
            ("sync.map_text_ttl", s.sync.map_text_ttl),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(self.range_error(key, v, "must be a finite number of seconds ≥ 0"));
            }
        }
        if !(s.engine.deadline_ms.is_finite()
            && s.engine.deadline_ms > 0.0
            && s.engine.deadline_ms <= 60_000.0)
        {
            return Err(self.range_error(
                "engine.deadline_ms",
                s.engine.deadline_ms,
                "must be in (0, 60000] ms",
            ));
        }
        if s.engine.ring_capacity == 0 || s.engine.ring_capacity > 4096 {
            return Err(self.range_error(
                "engine.ring_capacity",
                s.engine.ring_capacity,
                "must be in 1..=4096",
            ));
        }
        if s.engine.threads > 256 {
            return Err(self.range_error(
                "engine.threads",
                s.engine.threads,
                "must be ≤ 256 (0 = all cores)",
            ));
        }
        if !(s.engine.stale_factor.is_finite() && s.engine.stale_factor >= 1.0) {
            return Err(self.range_error("engine.stale_factor", s.engine.stale_factor, "must be ≥ 1"));
        }
        if s.input.max_message_bytes < 1024 || s.input.max_message_bytes > 1_000_000_000 {
            return Err(self.range_error(
                "input.max_message_bytes",
                s.input.max_message_bytes,
                "must be in 1024..=1000000000 (roscpp's limit)",
            ));
        }
        if !(s.input.max_rate_hz.is_finite() && s.input.max_rate_hz >= 0.0) {
            return Err(self.range_error(
                "input.max_rate_hz",
                s.input.max_rate_hz,
                "must be ≥ 0 (0 = no limit)",
            ));
        }
        if s.scene.queries.len() > 64 {
            return Err(self.range_error("scene.queries", s.scene.queries.len(), "at most 64 queries"));
        }
        Ok(())
    }

    /// Every effective value with its origin, in key order.
    pub fn describe(&self) -> BTreeMap<String, (String, String)> {
        let mut out = BTreeMap::new();
        let Ok(v) = serde_json::to_value(&self.settings) else {
            return out;
        };
        let mut keys = Vec::new();
        flatten_json("", &v, &mut keys);
        for key in keys {
            let mut cur = &v;
            for part in key.split('.') {
                cur = &cur[part];
            }
            out.insert(key.clone(), (cur.to_string(), self.origin(&key)));
        }
        out
    }
}
