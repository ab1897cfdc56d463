//! Helpers shared by the replay test binaries: run `sensorium replay` on the bundled sample, read its
//! summary and scenes.
#![allow(dead_code)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

pub fn repo() -> PathBuf {
    sensorium_testkit::testdata::repo_root()
}

pub fn replay(extra: &[&str], out: &Path) -> Value {
    replay_env(extra, out, &[])
}

/// `sensorium replay --fast` (unless `extra` has `--rate`) with extra environment variables.
pub fn replay_env(extra: &[&str], out: &Path, env: &[(&str, &str)]) -> Value {
    let summary = out.join("summary.json");
    let mut args: Vec<String> = vec!["replay".into(), "--quiet".into()];
    if !extra.contains(&"--rate") {
        args.push("--fast".into());
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    args.extend([
        "--summary-json".into(),
        summary.display().to_string(),
        "--out".into(),
        out.display().to_string(),
    ]);
    let o = Command::new(env!("CARGO_BIN_EXE_sensorium"))
        .args(&args)
        .current_dir(repo())
        .env("SENSORIUM_CACHE_DIR", out.join("cache"))
        .envs(env.iter().copied())
        .output()
        .expect("run sensorium replay");
    assert!(
        o.status.success(),
        "replay failed: {}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_str(&std::fs::read_to_string(&summary).expect("summary written"))
        .expect("summary is JSON")
}

pub fn scenes(out: &Path) -> Vec<Value> {
    std::fs::read_to_string(out.join("scenes.jsonl"))
        .expect("scenes.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).expect("scene line is JSON"))
        .collect()
}

/// FNV-1a over the integers of a JSON array (a class or map-text grid).
fn grid_hash(v: &Value) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for x in v.as_array().map(Vec::as_slice).unwrap_or_default() {
        for b in x.as_i64().unwrap_or(-1).to_le_bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

/// What a scene must keep across changes to the runtime: everything but its wall-clock timings, with the
/// integer grids as hashes and the occupancy grid as its occupied cells (> 0.5), sum and sum of squares.
pub fn fingerprint(scene: &Value) -> Value {
    let bev = &scene["bev"];
    let occ: Vec<f64> = bev["occupancy"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default();
    serde_json::json!({
        "seq": scene["seq"],
        "stamp": scene["stamp"],
        "camera_stamp": scene["camera_stamp"],
        "lidar_stamp": scene["lidar_stamp"],
        "map_text_stamp": scene["map_text_stamp"],
        "frame_id": scene["frame_id"],
        "mask": scene["mask"],
        "lidar_points": scene["lidar_points"],
        "painted_points": scene["painted_points"],
        "grid": [bev["resolution"], bev["width"], bev["height"], bev["origin_x"], bev["origin_y"], bev["channels"]],
        "class": grid_hash(&bev["class"]),
        "map_text": grid_hash(&bev["map_text"]),
        "occupied": occ.iter().filter(|v| **v > 0.5).count(),
        "occupancy_sum": occ.iter().sum::<f64>(),
        "occupancy_sum_sq": occ.iter().map(|v| v * v).sum::<f64>(),
        "embedding": scene["embedding"],
        "queries": scene["queries"],
        "objects": scene["objects"],
    })
}

/// Compares `a` (this run) with `b` (the reference): integers, strings, keys and lengths equal, floats
/// within 1e-5 + 1e-5 × magnitude (an x86-64 and an AArch64 build of the same models agree to 2e-7).
/// Returns the differences, each with its path.
pub fn differences(path: &str, a: &Value, b: &Value, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x.is_f64() || y.is_f64() => {
            let (x, y) = (x.as_f64().unwrap_or(f64::NAN), y.as_f64().unwrap_or(f64::NAN));
            // false for a NaN on either side
            let close = (x - y).abs() <= 1e-5 + 1e-5 * x.abs().max(y.abs());
            if !close {
                out.push(format!("{path}: {x} vs {y}"));
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                differences(&format!("{path}[{i}]"), p, q, out);
            }
        }
        (Value::Object(x), Value::Object(y)) if x.keys().eq(y.keys()) => {
            for (k, p) in x {
                differences(&format!("{path}/{k}"), p, &y[k], out);
            }
        }
        _ if a == b => {}
        _ => out.push(format!("{path}: {a} vs {b}")),
    }
}

/// The bundled sample's scenes against `tests/fixtures/sample_scenes.reference.json` (x86-64, the
/// default fp32 models on tract): any change to decoding, synchronization, inference or fusion that
/// moves a scene fails here. `SENSORIUM_UPDATE_REFERENCE=1` rewrites the reference instead.
pub fn check_sample_reference(scenes: &[Value]) {
    let path = repo().join("tests/fixtures/sample_scenes.reference.json");
    let got: Vec<Value> = scenes.iter().map(fingerprint).collect();
    if std::env::var_os("SENSORIUM_UPDATE_REFERENCE").is_some() {
        // one scene per line: a change shows as the scenes it moved
        let lines: Vec<String> = got.iter().map(Value::to_string).collect();
        std::fs::write(&path, format!("[\n{}\n]\n", lines.join(",\n"))).expect("writing the reference");
        return;
    }
    let want: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(&path).expect("reference file"))
        .expect("reference is JSON");
    assert_eq!(got.len(), want.len(), "scenes in the sample's replay");
    let mut diffs = Vec::new();
    for (g, w) in got.iter().zip(&want) {
        differences(&format!("scene {}", w["seq"]), g, w, &mut diffs);
    }
    assert!(
        diffs.is_empty(),
        "{} differences from {}, first: {:#?}",
        diffs.len(),
        path.display(),
        &diffs[..diffs.len().min(10)]
    );
}
