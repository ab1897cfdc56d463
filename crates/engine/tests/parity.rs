//! Parity of the synchronization policies with ROS's own implementations, fed the same
//! random arrival sequences in the same order:
//! - `approximate` and `exact` against message_filters' C++ policies (tests/cpp/approx_ref.cpp,
//!   compiled here against libmessage-filters-dev),
//! - `slop` against python3-message-filters' ApproximateTimeSynchronizer
//!   (tests/python/slop_ref.py run by /usr/bin/python3).
//!
//! The full sequence of matched sets (the message ids of every set, in emission order)
//! must be equal.
//!
//! The last test goes through the CLI as users do: each sequence is written to a bag (one topic per
//! stream, header stamps, record times in arrival order) and `sensorium sync BAG --jsonl` must give
//! the references' sets, stamp for stamp.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use common::arrivals::{generate, to_text, ArrivalSpec};
use sensorium_core::Stamp;
use sensorium_engine::sync::{run_sync, PolicyConfig, PolicyKind};
use sensorium_testkit::testdata::{require, ros_python};

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Builds tests/cpp/approx_ref.cpp once per test binary; `None` when the toolchain or
/// the ROS headers are missing (skipped unless SENSORIUM_REQUIRE_PEERS=1).
fn cpp_reference() -> Option<&'static Path> {
    static BIN: OnceLock<Option<PathBuf>> = OnceLock::new();
    BIN.get_or_init(|| {
        let header = Path::new("/usr/include/message_filters/sync_policies/approximate_time.h");
        if !require("libmessage-filters-dev (approximate_time.h)", header.exists()) {
            return None;
        }
        let flags = Command::new("pkg-config")
            .args(["--cflags", "--libs", "message_filters", "roscpp", "rostime"])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .split_whitespace()
                    .map(String::from)
                    .collect::<Vec<_>>()
            });
        let flags = flags.unwrap_or_else(|| {
            vec![
                "-lmessage_filters".into(),
                "-lroscpp".into(),
                "-lrostime".into(),
                "-lrosconsole".into(),
            ]
        });
        let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("approx_ref");
        let status = Command::new("g++")
            .args(["-std=c++17", "-O1", "-o"])
            .arg(&out)
            .arg(crate_dir().join("tests/cpp/approx_ref.cpp"))
            .args(&flags)
            .status();
        let built = matches!(status, Ok(s) if s.success());
        if !require(
            "g++ building tests/cpp/approx_ref.cpp against message_filters",
            built,
        ) {
            return None;
        }
        Some(out)
    })
    .as_deref()
}

fn python_reference() -> Option<(PathBuf, PathBuf)> {
    let python = ros_python();
    let ok = Command::new(&python)
        .args(["-c", "import message_filters, rospy"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !require("python3-message-filters (import message_filters, rospy)", ok) {
        return None;
    }
    Some((python, crate_dir().join("tests/python/slop_ref.py")))
}

/// Runs a reference program on the sequence; its stdout is one line of ids per set.
fn run_reference(program: &Path, args: &[String], seq: &[(usize, Stamp)]) -> Vec<Vec<u64>> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}", program.display()));
    let input = to_text(seq);
    let mut stdin = child.stdin.take().expect("piped stdin");
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output().expect("reference output");
    writer
        .join()
        .expect("writer thread")
        .expect("writing the sequence");
    assert!(
        output.status.success(),
        "{} {:?} failed: {}",
        program.display(),
        args,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| l.split_whitespace().map(|x| x.parse().expect("id")).collect())
        .collect()
}

fn ours(seq: &[(usize, Stamp)], cfg: &PolicyConfig) -> Vec<Vec<u64>> {
    run_sync(seq.iter().copied(), cfg)
        .expect("policy runs")
        .iter()
        .map(|s| {
            assert!(s.missing.is_empty());
            s.items.iter().map(|i| i.2).collect()
        })
        .collect()
}

fn assert_same(what: &str, seq: &[(usize, Stamp)], ours: &[Vec<u64>], theirs: &[Vec<u64>]) {
    if ours == theirs {
        return;
    }
    let k = ours
        .iter()
        .zip(theirs)
        .position(|(a, b)| a != b)
        .unwrap_or(ours.len().min(theirs.len()));
    let show = |sets: &[Vec<u64>]| -> String {
        sets.iter()
            .skip(k.saturating_sub(2))
            .take(5)
            .map(|s| {
                let stamps: Vec<String> = s
                    .iter()
                    .map(|&id| format!("{}:{}", id, seq[id as usize].1))
                    .collect();
                format!("[{}]", stamps.join(" "))
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    panic!(
        "{what}: {} sets (ours) vs {} (reference); first difference at set {k}\n ours: {}\n ref:  {}",
        ours.len(),
        theirs.len(),
        show(ours),
        show(theirs)
    );
}

#[test]
fn approximate_matches_message_filters_cpp() {
    let Some(reference) = cpp_reference() else { return };
    // (max interval s, age penalty, lower bound s per stream)
    let variants: [(Option<f64>, f64, f64); 5] = [
        (None, 0.1, 0.0),
        (Some(0.02), 0.1, 0.0),
        (Some(0.05), 0.0, 0.0),
        (Some(0.1), 0.5, 0.0),
        (None, 0.1, 0.02),
    ];
    let mut sets_compared = 0usize;
    for streams in [2usize, 3, 4] {
        for queue in [1usize, 5, 30] {
            for (v, &(max_interval, age_penalty, lb)) in variants.iter().enumerate() {
                for seed in 0..4u64 {
                    let seed = seed * 1000 + v as u64 * 10 + queue as u64 * 100 + streams as u64;
                    let seq = generate(ArrivalSpec {
                        streams,
                        duration_s: 20.0,
                        seed,
                        shared_clock: false,
                    });
                    let cfg = PolicyConfig {
                        policy: PolicyKind::Approximate,
                        streams,
                        queue,
                        max_interval,
                        age_penalty,
                        lower_bounds: vec![lb],
                        ..Default::default()
                    };
                    let max_ns = max_interval.map_or(-1, |s| (s * 1e9).round() as i64);
                    let lb_ns = (lb * 1e9).round() as i64;
                    let mut args = vec![
                        "approx".to_string(),
                        streams.to_string(),
                        queue.to_string(),
                        max_ns.to_string(),
                        format!("{age_penalty:?}"),
                    ];
                    args.extend((0..streams).map(|_| lb_ns.to_string()));
                    let theirs = run_reference(reference, &args, &seq);
                    let mine = ours(&seq, &cfg);
                    assert_same(
                        &format!("approximate streams={streams} queue={queue} max_interval={max_interval:?} age_penalty={age_penalty} lb={lb} seed={seed}"),
                        &seq,
                        &mine,
                        &theirs,
                    );
                    sets_compared += theirs.len();
                }
            }
        }
    }
    eprintln!("approximate: {sets_compared} matched sets equal to message_filters C++");
    assert!(
        sets_compared > 1000,
        "the sequences should produce many sets: {sets_compared}"
    );
}

#[test]
fn exact_matches_message_filters_cpp() {
    let Some(reference) = cpp_reference() else { return };
    let mut sets_compared = 0usize;
    for streams in [2usize, 3] {
        for queue in [1usize, 5, 30] {
            for seed in 0..4u64 {
                let seq = generate(ArrivalSpec {
                    streams,
                    duration_s: 20.0,
                    seed: 50 + seed,
                    shared_clock: true,
                });
                let cfg = PolicyConfig {
                    policy: PolicyKind::Exact,
                    streams,
                    queue,
                    ..Default::default()
                };
                let args = vec!["exact".to_string(), streams.to_string(), queue.to_string()];
                let theirs = run_reference(reference, &args, &seq);
                let mine = ours(&seq, &cfg);
                assert_same(
                    &format!("exact streams={streams} queue={queue} seed={seed}"),
                    &seq,
                    &mine,
                    &theirs,
                );
                sets_compared += theirs.len();
            }
        }
    }
    eprintln!("exact: {sets_compared} matched sets equal to message_filters C++");
    assert!(sets_compared > 500, "{sets_compared}");
}

#[test]
fn slop_matches_python_message_filters() {
    let Some((python, script)) = python_reference() else {
        return;
    };
    let mut sets_compared = 0usize;
    for streams in [2usize, 3] {
        for queue in [1usize, 5, 30] {
            for slop in [0.01f64, 0.03, 0.1] {
                for seed in 0..2u64 {
                    let seed = 7000 + seed * 31 + queue as u64 + (slop * 1000.0) as u64 * 3 + streams as u64;
                    let seq = generate(ArrivalSpec {
                        streams,
                        duration_s: 20.0,
                        seed,
                        shared_clock: false,
                    });
                    let cfg = PolicyConfig {
                        policy: PolicyKind::Slop,
                        streams,
                        queue,
                        slop,
                        ..Default::default()
                    };
                    let mut args = vec![script.display().to_string()];
                    args.extend([streams.to_string(), queue.to_string(), format!("{slop:?}")]);
                    let theirs = run_reference(&python, &args, &seq);
                    let mine = ours(&seq, &cfg);
                    assert_same(
                        &format!("slop streams={streams} queue={queue} slop={slop} seed={seed}"),
                        &seq,
                        &mine,
                        &theirs,
                    );
                    sets_compared += theirs.len();
                }
            }
        }
    }
    eprintln!("slop: {sets_compared} matched sets equal to python3-message-filters");
    assert!(sets_compared > 500, "{sets_compared}");
}

/// The `sensorium` binary next to this test binary (`cargo test --workspace` builds it).
fn sensorium_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let bin = exe.parent()?.parent()?.join("sensorium");
    require(
        "the sensorium binary (built by `cargo test --workspace`)",
        bin.is_file(),
    )
    .then_some(bin)
}

/// Writes the arrival sequence as a bag: stream `i` on topic `/s{i}` as `std_msgs/Header` messages
/// (header stamp = the sequence's stamp), record times 1 ms apart in arrival order.
fn write_bag(path: &Path, seq: &[(usize, Stamp)], streams: usize) {
    use sensorium_msgs::{Header, RosMessage};
    let mut w = sensorium_bag::BagWriter::create(path, sensorium_bag::Compression::Lz4).expect("bag");
    w.set_chunk_threshold(4096); // several chunks
    let conns: Vec<u32> = (0..streams)
        .map(|i| {
            w.add_connection(
                &format!("/s{i}"),
                Header::DATATYPE,
                Header::MD5SUM,
                Header::DEFINITION,
            )
            .expect("connection")
        })
        .collect();
    for (k, &(stream, stamp)) in seq.iter().enumerate() {
        let msg = Header {
            seq: k as u32,
            stamp,
            frame_id: format!("s{stream}"),
        };
        let t = Stamp::from_nanos(1_000_000_000_000 + k as u64 * 1_000_000);
        w.write(conns[stream], t, &msg.to_bytes()).expect("message");
    }
    w.finish().expect("finishing the bag");
}

/// `sensorium sync` on the bag; one map topic → stamp (s) per matched set.
fn cli_sets(bin: &Path, bag: &Path, streams: usize, args: &[String]) -> Vec<Vec<(String, f64)>> {
    let out_path = bag.with_extension("jsonl");
    let topics: Vec<String> = (0..streams).map(|i| format!("/s{i}")).collect();
    let out = Command::new(bin)
        .arg("sync")
        .arg(bag)
        .args(["--topics", &topics.join(",")])
        .args(args)
        .arg("--jsonl")
        .arg(&out_path)
        .output()
        .expect("running sensorium sync");
    assert!(
        out.status.success(),
        "sensorium sync {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(&out_path)
        .expect("jsonl")
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("json line");
            let mut set: Vec<(String, f64)> = v["stamps"]
                .as_object()
                .expect("stamps object")
                .iter()
                .map(|(k, s)| (k.clone(), s.as_f64().expect("float seconds")))
                .collect();
            set.sort_by(|a, b| a.0.cmp(&b.0));
            set
        })
        .collect()
}

/// Same sets, same topics, stamps equal to 1 µs (float seconds near 1.6e9 carry ~0.24 µs, and JSON
/// parsing may round the last bit).
fn assert_same_stamps(what: &str, ours: &[Vec<(String, f64)>], theirs: &[Vec<(String, f64)>]) {
    let same = |a: &Vec<(String, f64)>, b: &Vec<(String, f64)>| {
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|(x, y)| x.0 == y.0 && (x.1 - y.1).abs() <= 1e-6)
    };
    let k = ours.iter().zip(theirs).position(|(a, b)| !same(a, b));
    assert!(
        k.is_none() && ours.len() == theirs.len(),
        "{what}: {} sets (CLI) vs {} (reference); first difference at set {k:?}: {:?} vs {:?}",
        ours.len(),
        theirs.len(),
        k.and_then(|k| ours.get(k)),
        k.and_then(|k| theirs.get(k)),
    );
}

#[test]
fn cli_sync_on_a_bag_matches_the_references() {
    let (Some(bin), Some(cpp), Some((python, script))) =
        (sensorium_binary(), cpp_reference(), python_reference())
    else {
        return;
    };
    let dir = tempfile::tempdir().expect("tmp");
    let as_stamps = |seq: &[(usize, Stamp)], sets: Vec<Vec<u64>>| -> Vec<Vec<(String, f64)>> {
        sets.into_iter()
            .map(|ids| {
                let mut set: Vec<(String, f64)> = ids
                    .iter()
                    .map(|&id| {
                        let (stream, stamp) = seq[id as usize];
                        (format!("/s{stream}"), stamp.as_secs_f64())
                    })
                    .collect();
                set.sort_by(|a, b| a.0.cmp(&b.0));
                set
            })
            .collect()
    };
    let mut compared = 0usize;
    let mut runs = 0usize;
    for streams in [2usize, 3] {
        for queue in [1usize, 5, 30] {
            let seed = 9100 + streams as u64 * 10 + queue as u64;
            let seq = generate(ArrivalSpec {
                streams,
                duration_s: 15.0,
                seed,
                shared_clock: false,
            });
            let bag = dir.path().join(format!("s{streams}_q{queue}.bag"));
            write_bag(&bag, &seq, streams);
            let q = queue.to_string();
            // approximate (message_filters C++), with and without a max interval; default age penalty
            for max_interval in [None, Some(0.05)] {
                let max_ns = max_interval.map_or(-1, |s: f64| (s * 1e9).round() as i64);
                let mut args = vec![
                    "approx".to_string(),
                    streams.to_string(),
                    q.clone(),
                    max_ns.to_string(),
                    "0.1".to_string(),
                ];
                args.extend((0..streams).map(|_| "0".to_string()));
                let theirs = as_stamps(&seq, run_reference(cpp, &args, &seq));
                let mut cli = vec![
                    "--policy".to_string(),
                    "approximate".into(),
                    "--queue".into(),
                    q.clone(),
                ];
                if let Some(m) = max_interval {
                    cli.extend(["--max-interval".to_string(), format!("{m}")]);
                }
                let ours = cli_sets(&bin, &bag, streams, &cli);
                assert_same_stamps(
                    &format!("approximate {cli:?} streams={streams} seed={seed}"),
                    &ours,
                    &theirs,
                );
                compared += theirs.len();
                runs += 1;
            }
            // slop (python3-message-filters)
            for slop in [0.01f64, 0.1] {
                let args = vec![
                    script.display().to_string(),
                    streams.to_string(),
                    q.clone(),
                    format!("{slop:?}"),
                ];
                let theirs = as_stamps(&seq, run_reference(&python, &args, &seq));
                let cli = vec![
                    "--policy".to_string(),
                    "slop".into(),
                    "--queue".into(),
                    q.clone(),
                    "--slop".into(),
                    format!("{slop}"),
                ];
                let ours = cli_sets(&bin, &bag, streams, &cli);
                assert_same_stamps(
                    &format!("slop {cli:?} streams={streams} seed={seed}"),
                    &ours,
                    &theirs,
                );
                compared += theirs.len();
                runs += 1;
            }
        }
    }
    // exact on a shared clock (equal stamps across streams)
    for queue in [1usize, 5, 30] {
        let seq = generate(ArrivalSpec {
            streams: 2,
            duration_s: 15.0,
            seed: 9300 + queue as u64,
            shared_clock: true,
        });
        let bag = dir.path().join(format!("exact_q{queue}.bag"));
        write_bag(&bag, &seq, 2);
        let args = vec!["exact".to_string(), "2".into(), queue.to_string()];
        let theirs = as_stamps(&seq, run_reference(cpp, &args, &seq));
        let cli = vec![
            "--policy".to_string(),
            "exact".into(),
            "--queue".into(),
            queue.to_string(),
        ];
        let ours = cli_sets(&bin, &bag, 2, &cli);
        assert_same_stamps(&format!("exact queue={queue}"), &ours, &theirs);
        compared += theirs.len();
        runs += 1;
    }
    eprintln!(
        "sensorium sync (CLI, through bags): {runs} runs, {compared} matched sets equal to the references"
    );
    assert!(compared > 500, "{compared}");
}
