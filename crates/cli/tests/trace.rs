//! `--trace OUT`: the timeline of a replay (stage threads) and of an inline one, as Chrome trace JSON.

mod common;

use common::replay_env;
use serde_json::Value;
use std::collections::BTreeMap;

fn timeline(path: &std::path::Path) -> (BTreeMap<u64, String>, Vec<Value>) {
    let doc: Value = serde_json::from_slice(&std::fs::read(path).expect("trace written")).expect("JSON");
    let events = doc["traceEvents"].as_array().expect("traceEvents").clone();
    let threads = events
        .iter()
        .filter(|e| e["ph"] == "M")
        .map(|e| {
            (
                e["tid"].as_u64().expect("tid"),
                e["args"]["name"].as_str().expect("name").to_string(),
            )
        })
        .collect();
    let spans = events.into_iter().filter(|e| e["ph"] == "X").collect();
    (threads, spans)
}

#[test]
fn a_replay_trace_has_every_stage_of_every_set_on_its_thread() {
    for (pipelined, stages) in [(true, "pipelined"), (false, "inline")] {
        let tmp = tempfile::tempdir().expect("tmp");
        let trace = tmp.path().join("trace.json");
        let args = ["--render", "none", "--trace", trace.to_str().expect("utf-8")];
        let s = replay_env(&args, tmp.path(), &[("SENSORIUM__ENGINE__STAGES", stages)]);
        let fused = s["framesets_fused"].as_u64().expect("fused");
        let (threads, spans) = timeline(&trace);
        let mut per_stage: BTreeMap<&str, u64> = BTreeMap::new();
        for e in &spans {
            *per_stage.entry(e["name"].as_str().expect("name")).or_default() += 1;
            assert!(
                e["dur"].as_f64().is_some_and(|d| d >= 0.0) && e["ts"].as_f64().is_some_and(|t| t >= 0.0),
                "{e}"
            );
            assert!(threads.contains_key(&e["tid"].as_u64().expect("tid")), "{e}");
        }
        for stage in [
            "image_encoder",
            "point_encoder",
            "pillarize",
            "fusion",
            "heads",
            "sinks",
        ] {
            assert_eq!(
                per_stage.get(stage).copied(),
                Some(fused),
                "{stage}: {per_stage:?}"
            );
            // the summary's latency counts the same stage runs
            if stage != "sinks" {
                assert_eq!(s["latency_ms"][stage]["count"].as_u64(), Some(fused), "{stage}");
            }
        }
        assert_eq!(
            per_stage.get("lidar").copied(),
            s["received"]["lidar"].as_u64(),
            "a decode per sweep"
        );
        // one thread runs one thing at a time: its events do not overlap
        let mut by_thread: BTreeMap<u64, Vec<(f64, f64)>> = BTreeMap::new();
        for e in &spans {
            let (ts, dur) = (e["ts"].as_f64().expect("ts"), e["dur"].as_f64().expect("dur"));
            by_thread
                .entry(e["tid"].as_u64().expect("tid"))
                .or_default()
                .push((ts, ts + dur));
        }
        for (tid, mut v) in by_thread {
            v.sort_by(|a, b| a.0.total_cmp(&b.0));
            for w in v.windows(2) {
                assert!(
                    w[1].0 >= w[0].1 - 1.0,
                    "thread {}: {:?} overlaps {:?}",
                    threads[&tid],
                    w[0],
                    w[1]
                );
            }
        }
        let names: Vec<&String> = threads.values().collect();
        if pipelined {
            for t in ["stage-camera", "stage-lidar", "stage-fusion", "sensorium-reader"] {
                assert!(names.iter().any(|n| *n == t), "{t} in {names:?}");
            }
        } else {
            assert!(
                !names.iter().any(|n| n.starts_with("stage-")),
                "inline: {names:?}"
            );
        }
    }
}
