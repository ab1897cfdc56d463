//! The replay summary (`--summary-json`): a public format, extend only.

use sensorium_core::ModalityMask;
use sensorium_engine::LatencyHistogram;
use sensorium_fusion::metrics::Metrics;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// Percentiles of a latency series (ms).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Pct {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
    pub count: u64,
}

impl From<sensorium_engine::LatencySummary> for Pct {
    fn from(s: sensorium_engine::LatencySummary) -> Self {
        Pct {
            p50: s.p50_ms,
            p90: s.p90_ms,
            p99: s.p99_ms,
            max: s.max_ms,
            count: s.count,
        }
    }
}

/// Everything `sensorium replay` reports.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub bag: String,
    pub framesets_fused: u64,
    /// reason → count
    pub dropped: BTreeMap<String, u64>,
    /// stage → percentiles
    pub latency_ms: BTreeMap<String, Pct>,
    pub end_to_end_ms: Pct,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics: Option<Metrics>,
    /// role → messages received
    pub received: BTreeMap<String, u64>,
    /// modality combination ("camera+lidar+map_text") → frame sets fused with it
    pub modalities: BTreeMap<String, u64>,
    /// topic → decode errors
    pub decode_errors: BTreeMap<String, u64>,
    pub bag_warnings: Vec<String>,
    pub errors: Vec<String>,
    pub notes: Vec<String>,
    /// What ran each model ("image_encoder: onnxruntime fp32, 1 thread(s) (tuned 0.69 ms)").
    pub models: Vec<String>,
    pub wall_s: f64,
    /// Stopped early by SIGINT/SIGTERM: what was read so far is fused, written and closed.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub interrupted: bool,
    #[serde(skip)]
    series: BTreeMap<String, LatencyHistogram>,
    #[serde(skip)]
    e2e: LatencyHistogram,
}

const MAX_MESSAGES: usize = 100;

impl Summary {
    pub fn new(bag: &Path) -> Self {
        Summary {
            bag: bag.display().to_string(),
            framesets_fused: 0,
            dropped: BTreeMap::new(),
            latency_ms: BTreeMap::new(),
            end_to_end_ms: Pct::default(),
            metrics: None,
            received: BTreeMap::new(),
            modalities: BTreeMap::new(),
            decode_errors: BTreeMap::new(),
            bag_warnings: Vec::new(),
            errors: Vec::new(),
            models: Vec::new(),
            notes: Vec::new(),
            wall_s: 0.0,
            interrupted: false,
            series: BTreeMap::new(),
            e2e: LatencyHistogram::new(),
        }
    }
    pub fn received(&mut self, role: &str) {
        *self.received.entry(role.to_string()).or_default() += 1;
    }
    pub fn has_received(&self, role: &str) -> bool {
        self.received.get(role).is_some_and(|n| *n > 0)
    }
    pub fn drop_reason(&mut self, reason: &str) {
        self.drop_n(reason, 1);
    }
    pub fn drop_n(&mut self, reason: &str, n: u64) {
        *self.dropped.entry(reason.to_string()).or_default() += n;
    }
    pub fn latency(&mut self, stage: &str, ms: f64) {
        self.series.entry(stage.to_string()).or_default().record_ms(ms);
    }
    pub fn end_to_end(&mut self, ms: f64) {
        self.e2e.record_ms(ms);
    }
    pub fn fused(&mut self, mask: ModalityMask) {
        self.framesets_fused += 1;
        *self.modalities.entry(mask.names().join("+")).or_default() += 1;
    }
    pub fn decode_error(&mut self, topic: &str, detail: String) {
        *self.decode_errors.entry(topic.to_string()).or_default() += 1;
        self.drop_reason("decode_error");
        if self.errors.len() < MAX_MESSAGES {
            self.errors.push(detail);
        }
    }
    pub fn bag_warning(&mut self, w: String) {
        if self.bag_warnings.len() < MAX_MESSAGES {
            self.bag_warnings.push(w);
        }
    }
    pub fn error(&mut self, e: String) {
        if self.errors.len() < MAX_MESSAGES {
            self.errors.push(e);
        }
    }
    pub fn note(&mut self, n: String) {
        self.notes.push(n);
    }
    /// Fixes the percentiles (call before serializing).
    pub fn finish(&mut self) {
        self.latency_ms = self
            .series
            .iter()
            .map(|(k, s)| (k.clone(), Pct::from(s.summary())))
            .collect();
        self.end_to_end_ms = Pct::from(self.e2e.summary());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_json_has_the_contract_fields() {
        let mut s = Summary::new(Path::new("x.bag"));
        s.latency("fusion", 3.0);
        s.end_to_end(10.0);
        s.drop_reason("late");
        s.fused(ModalityMask(3));
        s.finish();
        let v: serde_json::Value = serde_json::to_value(&s).expect("json");
        assert_eq!(v["framesets_fused"], 1);
        assert_eq!(v["dropped"]["late"], 1);
        let p50 = v["latency_ms"]["fusion"]["p50"].as_f64().unwrap_or(0.0);
        assert!((p50 - 3.0).abs() < 0.1, "{p50}");
        let max = v["end_to_end_ms"]["max"].as_f64().unwrap_or(0.0);
        assert!((max - 10.0).abs() < 0.2, "{max}");
        assert_eq!(v["modalities"]["camera+lidar"], 1);
        assert!(v.get("metrics").is_none());
    }
}
