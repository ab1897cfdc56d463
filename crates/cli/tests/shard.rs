//! `sensorium replay --recordings DIR_OR_LIST --shard I/N` (a batch engine's index: Kubernetes
//! Indexed Jobs, AWS Batch arrays, Argo) and replay's exit code per failure class.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    sensorium_testkit::testdata::repo_root()
}

/// (exit code, stdout, stderr) of `sensorium ARGS`.
fn run(args: &[&str], cache: &Path) -> (i32, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_sensorium"))
        .args(args)
        .current_dir(repo())
        .env("SENSORIUM_CACHE_DIR", cache)
        .output()
        .expect("run sensorium");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// `n` short simulated recordings `rec-<seed>.bag` in `dir`.
fn sims(dir: &Path, seeds: &[u64], cache: &Path) {
    std::fs::create_dir_all(dir).expect("mkdir");
    for seed in seeds {
        let bag = dir.join(format!("rec-{seed}.bag"));
        let (code, _, err) = run(
            &[
                "sim",
                "--out",
                s(&bag),
                "--frames",
                "6",
                "--seed",
                &seed.to_string(),
            ],
            cache,
        );
        assert_eq!(code, 0, "sim: {err}");
    }
}

fn dry_run(spec: &Path, shard: &str, cache: &Path) -> Vec<(String, String)> {
    let (code, out, err) = run(
        &["replay", "--recordings", s(spec), "--shard", shard, "--dry-run"],
        cache,
    );
    assert_eq!(code, 0, "{err}");
    out.lines()
        .map(|l| {
            let (n, p) = l.split_once('\t').expect("NAME<TAB>PATH");
            (n.to_string(), p.to_string())
        })
        .collect()
}

fn strip(mut v: Value) -> Value {
    for k in ["wall_s", "latency_ms", "end_to_end_ms"] {
        v[k] = Value::Null;
    }
    v
}

fn json(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .expect("JSON")
}

#[test]
fn shards_split_the_sorted_recordings_and_replay_each_into_out_name() {
    let t = tempfile::tempdir().expect("tmp");
    let cache = t.path().join("cache");
    let recs = t.path().join("recs");
    sims(&recs, &[5, 1, 4, 2, 3], &cache);
    let all = dry_run(&recs, "0/1", &cache);
    let names: Vec<&str> = all.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["rec-1", "rec-2", "rec-3", "rec-4", "rec-5"]);
    assert_eq!(Path::new(&all[0].1), recs.join("rec-1.bag"));
    // index i of N takes the sorted positions i, i+N, ...; the indexes together take each once
    let shards: Vec<Vec<String>> = (0..3)
        .map(|i| {
            dry_run(&recs, &format!("{i}/3"), &cache)
                .into_iter()
                .map(|(n, _)| n)
                .collect()
        })
        .collect();
    assert_eq!(shards[0], ["rec-1", "rec-4"]);
    assert_eq!(shards[1], ["rec-2", "rec-5"]);
    assert_eq!(shards[2], ["rec-3"]);

    // a list file names the same recordings, relative to its folder
    let list = t.path().join("fleet.txt");
    std::fs::write(
        &list,
        "# fleet\nrecs/rec-3.bag\nrecs/rec-1.bag\n\n  # again below\nrecs/rec-2.bag\nrecs/rec-2.bag\n",
    )
    .expect("write");
    let listed: Vec<String> = dry_run(&list, "0/1", &cache)
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(listed, ["rec-1", "rec-2", "rec-3"]);

    // index 1 of 2 replays rec-2 and rec-4, each into OUT/NAME/, as a single replay would
    let out = t.path().join("out");
    let args = [
        "replay",
        "--recordings",
        s(&recs),
        "--shard",
        "1/2",
        "--fast",
        "--quiet",
        "--render",
        "2",
        "--threads",
        "1",
        "--out",
        s(&out),
    ];
    let (code, stdout, err) = run(&args, &cache);
    assert_eq!(code, 0, "{stdout}\n{err}");
    let mut made: Vec<String> = std::fs::read_dir(&out)
        .expect("ls")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    made.sort();
    assert_eq!(made, ["rec-2", "rec-4"]);
    for name in &made {
        let d = out.join(name);
        assert!(d.join("scenes.jsonl").is_file() && !d.join("summary.json.tmp").exists());
        let pngs = std::fs::read_dir(&d)
            .expect("ls")
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "png"))
            })
            .count();
        assert!(pngs >= 1, "{name}: {pngs} renderings");
    }
    let single = t.path().join("single");
    let (code, _, err) = run(
        &[
            "replay",
            s(&recs.join("rec-4.bag")),
            "--fast",
            "--quiet",
            "--render",
            "2",
            "--threads",
            "1",
            "--out",
            s(&single),
            "--summary-json",
            s(&single.join("summary.json")),
        ],
        &cache,
    );
    assert_eq!(code, 0, "{err}");
    let sharded = json(&out.join("rec-4/summary.json"));
    assert!(
        sharded["framesets_fused"].as_u64().is_some_and(|n| n >= 4),
        "{sharded}"
    );
    assert_eq!(strip(sharded), strip(json(&single.join("summary.json"))));

    // the same index again (a retried pod): what is done is not redone
    let before = std::fs::metadata(out.join("rec-2/summary.json"))
        .and_then(|m| m.modified())
        .expect("mtime");
    let (code, stdout, err) = run(&args, &cache);
    assert_eq!(code, 0, "{err}");
    assert_eq!(stdout.matches("already replayed").count(), 2, "{stdout}");
    let after = std::fs::metadata(out.join("rec-2/summary.json"))
        .and_then(|m| m.modified())
        .expect("mtime");
    assert_eq!(before, after);
}

#[test]
fn exit_codes_name_the_failure_class() {
    let t = tempfile::tempdir().expect("tmp");
    let cache = t.path().join("cache");
    let sample = repo().join("tests/fixtures/sample.bag");
    let short = ["--fast", "--quiet", "--max-frames", "2", "--render", "none"];
    let replay = |extra: &[&str]| {
        let mut a = vec!["replay"];
        a.extend_from_slice(extra);
        a.extend_from_slice(&short);
        run(&a, &cache)
    };

    let (code, help, _) = run(&["replay", "--help"], &cache);
    assert_eq!(code, 0);
    for line in [
        "Exit codes",
        "3  recording missing, unreadable or damaged",
        "4  models could not be loaded",
        "--shard <I/N>",
    ] {
        assert!(help.contains(line), "replay --help lacks {line:?}:\n{help}");
    }

    let garbage = t.path().join("garbage.bag");
    let mut bytes = b"#ROSBAG V2.0\n".to_vec();
    bytes.extend((0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    std::fs::write(&garbage, &bytes).expect("write");
    let not_a_bag = t.path().join("notes.bag");
    std::fs::write(&not_a_bag, "hello\n").expect("write");
    let empty_models = t.path().join("no-models");
    std::fs::create_dir_all(&empty_models).expect("mkdir");
    let bad_config = t.path().join("bad.yaml");
    std::fs::write(&bad_config, "engine:\n  ring_capacity: 0\n").expect("write");
    let a_file = t.path().join("a-file");
    std::fs::write(&a_file, "x").expect("write");
    let missing = t.path().join("missing.bag");
    let under_a_file = a_file.join("sub");

    let cases: Vec<(&str, Vec<&str>, i32)> = vec![
        ("missing recording", vec![s(&missing)], 3),
        ("damaged recording", vec![s(&garbage)], 3),
        ("not a recording", vec![s(&not_a_bag)], 3),
        (
            "empty models folder",
            vec![s(&sample), "--models", s(&empty_models)],
            4,
        ),
        (
            "missing calibration",
            vec![s(&sample), "--calib", "/nonexistent/calibration"],
            5,
        ),
        (
            "invalid configuration",
            vec![s(&sample), "--config", s(&bad_config)],
            2,
        ),
        ("invalid flag value", vec![s(&sample), "--policy", "sometimes"], 2),
        (
            "unwritable output",
            vec![s(&sample), "--out", s(&under_a_file)],
            6,
        ),
        ("--shard without --recordings", vec!["--shard", "0/2"], 2),
    ];
    for (what, args, want) in &cases {
        let (code, _, err) = replay(args);
        assert_eq!(code, *want, "{what}: exit {code}, expected {want}\n{err}");
        assert!(err.contains("error"), "{what}: {err}");
    }
    let recs = t.path().join("recs");
    sims(&recs, &[1], &cache);
    for (shard, why) in [
        ("2/2", "index past the count"),
        ("1/0", "zero count"),
        ("a/3", "not a number"),
    ] {
        let (code, _, err) = replay(&[
            "--recordings",
            s(&recs),
            "--shard",
            shard,
            "--out",
            s(&t.path().join("o")),
        ]);
        assert_eq!(code, 2, "--shard {shard} ({why}): {err}");
    }
    let (code, _, err) = replay(&["--recordings", s(&recs)]);
    assert_eq!(code, 2, "--recordings without --out: {err}");
    assert!(err.contains("--out"), "{err}");
    let (code, _, err) = replay(&[
        "--recordings",
        s(&t.path().join("nowhere")),
        "--out",
        s(&t.path().join("o")),
    ]);
    assert_eq!(code, 2, "missing recordings folder: {err}");

    // a shard with a damaged recording: the others replay, the damaged one leaves error.json, exit 3
    std::fs::copy(&garbage, recs.join("rec-0-damaged.bag")).expect("copy");
    let out = t.path().join("out");
    let (code, stdout, err) = replay(&["--recordings", s(&recs), "--out", s(&out)]);
    assert_eq!(code, 3, "{stdout}\n{err}");
    assert!(out.join("rec-1/summary.json").is_file(), "{stdout}\n{err}");
    let e = json(&out.join("rec-0-damaged/error.json"));
    assert_eq!(e["exit_code"], 3, "{e}");
    assert_eq!(e["class"], "recording", "{e}");
    assert!(!out.join("rec-0-damaged/summary.json").exists());
    // with a models error as well, that one decides: a retry will not fix a damaged recording
    let (code, _, err) = replay(&[
        "--recordings",
        s(&recs),
        "--out",
        s(&t.path().join("out2")),
        "--models",
        s(&empty_models),
    ]);
    assert_eq!(code, 4, "{err}");
}
