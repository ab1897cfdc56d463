//! Simulator ground truth (`/sensorium/ground_truth`, std_msgs/String JSON; see crates/sim/README.md).
//!
//! `{"stamp": secs, "boxes": [{"class","id","center","size","yaw"}], "occupancy": GRID, "caption": "..."}`
//! where GRID (row-major on the MODEL_SPEC grid) is a base64 string of one byte per cell, a flat or
//! nested list of numbers, or an object `{"data": <either>}`.

// outside bytes (recordings, live topics) pass through here: no panicking shortcuts
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

use base64::Engine;
use sensorium_fusion::metrics::{GroundTruth, GtBox};
use serde_json::Value;

fn grid_bytes(v: &Value) -> Result<Vec<u8>, String> {
    match v {
        Value::String(s) => base64::engine::general_purpose::STANDARD
            .decode(s.trim())
            .map_err(|e| format!("occupancy: bad base64: {e}")),
        Value::Array(a) => {
            let mut out = Vec::with_capacity(a.len());
            for x in a {
                match x {
                    Value::Array(_) => out.extend(grid_bytes(x)?),
                    Value::Number(n) => out.push(n.as_f64().map_or(0, |f| f.clamp(0.0, 255.0) as u8)),
                    Value::Bool(b) => out.push(u8::from(*b)),
                    other => return Err(format!("occupancy: unexpected element {other}")),
                }
            }
            Ok(out)
        }
        Value::Object(m) => m
            .get("data")
            .ok_or_else(|| "occupancy: object without `data`".to_string())
            .and_then(grid_bytes),
        other => Err(format!("occupancy: unexpected {other}")),
    }
}

/// Parses one ground-truth message.
pub fn parse(text: &str) -> Result<GroundTruth, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("ground truth is not JSON: {e}"))?;
    let boxes: Vec<GtBox> = match v.get("boxes") {
        Some(b) => serde_json::from_value(b.clone()).map_err(|e| format!("ground truth `boxes`: {e}"))?,
        None => Vec::new(),
    };
    let occupancy = match v.get("occupancy") {
        Some(o) => grid_bytes(o)?,
        None => Vec::new(),
    };
    Ok(GroundTruth {
        stamp: v.get("stamp").and_then(Value::as_f64).unwrap_or(0.0),
        boxes,
        occupancy,
        caption: v
            .get("caption")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_base64_and_lists() {
        let b64 = base64::engine::general_purpose::STANDARD.encode([0u8, 1, 1, 0]);
        let g = parse(&format!(
            r#"{{"stamp": 1.5, "caption": "a car", "occupancy": "{b64}",
                "boxes": [{{"class": "car", "id": 3, "center": [10, 0, 0.8], "size": [4, 2, 1.6], "yaw": 0.1}}]}}"#
        ))
        .expect("parse");
        assert_eq!(g.occupancy, vec![0, 1, 1, 0]);
        assert_eq!(g.boxes.len(), 1);
        let classes = ["background", "car"].map(String::from);
        assert_eq!(g.boxes[0].class_index(&classes), Some(1));
        assert_eq!(g.boxes[0].class_index(&classes[..1]), None);
        assert_eq!(g.caption, "a car");
        let g = parse(r#"{"occupancy": [[0, 1], [1, 1]]}"#).expect("nested");
        assert_eq!(g.occupancy, vec![0, 1, 1, 1]);
        let g = parse(r#"{"occupancy": {"data": [1, 0]}}"#).expect("object");
        assert_eq!(g.occupancy, vec![1, 0]);
        assert!(parse("not json").is_err());
        assert!(parse(r#"{"occupancy": "!!"}"#).is_err());
        assert!(parse(r#"{"boxes": [{"class": 3}]}"#).is_err());
    }
}

/// Ground truth waiting for its scene, keyed by stamp (the sim stamps it like the LiDAR sweep).
/// Bounded: the oldest entries go first.
#[derive(Debug)]
pub struct GroundTruthIndex {
    items: std::collections::VecDeque<GroundTruth>,
    cap: usize,
}

impl GroundTruthIndex {
    pub fn new(cap: usize) -> Self {
        GroundTruthIndex {
            items: std::collections::VecDeque::new(),
            cap: cap.max(1),
        }
    }
    pub fn insert(&mut self, g: GroundTruth) {
        if self.items.len() >= self.cap {
            self.items.pop_front();
        }
        self.items.push_back(g);
    }
    /// The ground truth stamped within 1 ms of `stamp`, removed from the index.
    pub fn take(&mut self, stamp: sensorium_core::Stamp) -> Option<GroundTruth> {
        let t = stamp.as_secs_f64();
        let i = self.items.iter().position(|g| (g.stamp - t).abs() < 1e-3)?;
        self.items.remove(i)
    }
}
