//! `sensorium bench` through the CLI: the JSON schema, ratios computed from the peer run in the same
//! invocation, the table on stdout, and `--update-docs` splicing only the generated section.

use std::process::Command;

fn bench(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sensorium"))
        .arg("bench")
        .args(args)
        .output()
        .expect("run sensorium bench");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn quick_engine_and_decode_rows_carry_their_peer_ratio() {
    let dir = tempfile::tempdir().expect("tmp");
    let json = dir.path().join("bench.json");
    let (code, out, err) = bench(&[
        "--quick",
        "--no-install",
        "--soak-seconds",
        "0",
        "--only",
        "pointcloud2,engine",
        "--json",
        json.to_str().expect("utf-8"),
    ]);
    assert_eq!(code, 0, "bench failed:\n{out}\n{err}");
    assert!(out.contains("ratio = ours / peer time"), "{out}");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("json written")).expect("valid JSON");
    assert!(v["machine"]["cores"].as_u64().unwrap_or(0) >= 1);
    assert_eq!(v["machine"]["mode"], "quick");
    let rows = v["results"].as_array().expect("results[]");
    let names: Vec<&str> = rows.iter().filter_map(|r| r["name"].as_str()).collect();
    for want in [
        "pointcloud2_decode_120k_xyzi",
        "engine_overhead_per_frame_set",
        "sync_slop_per_matched_set",
    ] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    let require = sensorium_testkit::testdata::peers_required();
    for r in rows {
        let name = r["name"].as_str().unwrap_or_default();
        for k in [
            "median_ms",
            "p99_ms",
            "throughput",
            "peer",
            "peer_median_ms",
            "ratio",
            "note",
        ] {
            assert!(r.get(k).is_some(), "{name}: key {k} missing");
        }
        let med = r["median_ms"].as_f64().expect("median_ms");
        assert!(
            med > 0.0 && med <= r["p99_ms"].as_f64().unwrap_or(0.0) + 1e-12,
            "{name}: {r}"
        );
        match (r["ratio"].as_f64(), r["peer_median_ms"].as_f64()) {
            (Some(ratio), Some(peer)) => {
                assert!(peer > 0.0, "{name}");
                assert!(
                    (ratio - med / peer).abs() <= 1e-9 * ratio.abs().max(1.0),
                    "{name}: {r}"
                );
            }
            _ => {
                assert!(
                    r["note"].as_str().unwrap_or_default().contains("no peer"),
                    "{name}: {r}"
                );
                assert!(
                    !require,
                    "{name}: peer missing with SENSORIUM_REQUIRE_PEERS=1: {r}"
                );
            }
        }
    }
    // a saved report prints the same rows without measuring anything
    let (code, again, err) = bench(&["--from-json", json.to_str().expect("utf-8")]);
    assert_eq!(code, 0, "{err}");
    for n in &names {
        assert!(
            again.contains(n),
            "{n} missing from the table printed from JSON:\n{again}"
        );
    }
}
