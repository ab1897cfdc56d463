//! Fault injection through the CLI: time going backwards (a looped bag), a burst of
//! duplicates, reordered messages, a stamp an hour in the future, and a recording that hits a write
//! error (what a full disk gives). Each is survived: the replay finishes, counts what it dropped by
//! reason, and keeps fusing.

use sensorium_bag::{BagReader, BagWriter, Compression, ReadOptions};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    sensorium_testkit::testdata::repo_root()
}

fn run(args: &[&str], dir: &Path) -> (bool, Value, String) {
    let summary = dir.join("summary.json");
    let out = Command::new(env!("CARGO_BIN_EXE_sensorium"))
        .args(args)
        .args(["--quiet", "--render", "none", "--summary-json"])
        .arg(&summary)
        .current_dir(repo())
        .env("SENSORIUM_CACHE_DIR", dir.join("cache"))
        .output()
        .expect("running sensorium");
    let v = std::fs::read_to_string(&summary)
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or(Value::Null);
    (
        out.status.success(),
        v,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Sets the `std_msgs/Header` stamp at the start of a serialized message.
fn with_stamp(data: &[u8], sec: u32, nsec: u32) -> Vec<u8> {
    let mut d = data.to_vec();
    d[4..8].copy_from_slice(&sec.to_le_bytes());
    d[8..12].copy_from_slice(&nsec.to_le_bytes());
    d
}

fn stamp_of(data: &[u8]) -> (u32, u32) {
    let w = |i: usize| u32::from_le_bytes([data[i], data[i + 1], data[i + 2], data[i + 3]]);
    (w(4), w(8))
}

#[test]
fn clock_jumps_bursts_reordering_and_future_stamps_are_survived() {
    let dir = tempfile::tempdir().expect("tmp");
    let bag = dir.path().join("hostile.bag");
    let reader = BagReader::open(repo().join("tests/fixtures/sample.bag")).expect("sample");
    let msgs: Vec<_> = reader
        .messages(&ReadOptions::all())
        .map(|m| m.expect("sample message"))
        .collect();
    let t0 = msgs[0].time;
    let span_ns = msgs.last().expect("messages").time.as_nanos() - t0.as_nanos() + 100_000_000;
    let mut w = BagWriter::create(&bag, Compression::Lz4).expect("create");
    let mut ids = std::collections::BTreeMap::new();
    for c in reader.connections() {
        let id = w
            .add_connection(&c.topic, &c.datatype, &c.md5sum, &c.message_definition)
            .expect("connection");
        ids.insert(c.id, id);
    }
    let has_header = |topic: &str| topic.starts_with("/camera") || topic.starts_with("/lidar");
    let (mut bursts, mut future, mut swapped) = (0, 0, 0);
    // loop 1 as recorded; loop 2 replays the same header stamps (time goes back ~5 s) while record
    // times go on, with a burst, a swap and a future stamp inside
    for pass in 0..2u64 {
        let mut k = 0;
        while k < msgs.len() {
            let m = &msgs[k];
            let time = sensorium_core::Stamp::from_nanos(m.time.as_nanos() + pass * span_ns);
            let conn = ids[&m.conn.id];
            if pass == 1 && m.conn.topic == "/lidar/points" && bursts == 0 && k > msgs.len() / 4 {
                for _ in 0..5 {
                    w.write(conn, time, &m.data).expect("burst");
                }
                bursts += 5;
            }
            if pass == 1 && future == 0 && k > msgs.len() / 2 && m.conn.topic.starts_with("/camera/image_raw")
            {
                let (s, n) = stamp_of(&m.data);
                w.write(conn, time, &with_stamp(&m.data, s + 3600, n))
                    .expect("future");
                future += 1;
                k += 1;
                continue;
            }
            if pass == 1 && swapped == 0 && k > msgs.len() * 3 / 4 && k + 1 < msgs.len() {
                let n = &msgs[k + 1];
                if has_header(&m.conn.topic) && has_header(&n.conn.topic) && m.conn.topic != n.conn.topic {
                    // the later message recorded first
                    w.write(ids[&n.conn.id], time, &n.data).expect("swap");
                    w.write(conn, time, &m.data).expect("swap");
                    swapped += 1;
                    k += 2;
                    continue;
                }
            }
            w.write(conn, time, &m.data).expect("write");
            k += 1;
        }
    }
    w.finish().expect("finish");
    assert!(
        bursts == 5 && future == 1 && swapped == 1,
        "{bursts} {future} {swapped}"
    );

    let (ok, s, err) = run(&["replay", bag.to_str().expect("utf-8"), "--fast"], dir.path());
    assert!(ok, "replay failed on the hostile bag: {err}");
    let fused = s["framesets_fused"].as_u64().unwrap_or(0);
    let resets = s["dropped"]["clock_jump_reset"].as_u64().unwrap_or(0);
    println!(
        "looped bag with a burst, a swap and a future stamp: {fused} frame sets fused, dropped {}, errors {}",
        s["dropped"], s["errors"]
    );
    // the loop back (~5 s) and the return from the future stamp (1 h back) each reset the synchronizer
    assert!(resets >= 2, "clock jumps detected: {}", s["dropped"]);
    // both passes fuse (the sample alone gives 49)
    assert!(
        fused >= 85,
        "frame sets fused across the jumps: {fused} ({})",
        s["dropped"]
    );
    assert_eq!(
        s["errors"].as_array().map(Vec::len).unwrap_or(0),
        0,
        "{}",
        s["errors"]
    );
    assert!(
        s["metrics"]["occupancy_iou"].as_f64().is_some_and(|v| v > 0.3),
        "{}",
        s["metrics"]
    );
}

#[test]
fn a_recording_that_hits_a_write_error_stops_and_the_pipeline_goes_on() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("partial.bag");
    let summary = dir.path().join("summary.json");
    // a file size limit makes writes past 1,500 KB fail (EFBIG), as a full disk makes them fail (ENOSPC);
    // SIGXFSZ is ignored so the write returns the error instead of killing the process. The whole
    // recording is ~5.7 MB in 13 lz4 chunks of ~440 KB (a scene message is ~220 KB), so the limit cuts
    // the fourth chunk and three whole chunks stand before it.
    let status = Command::new("bash")
        .args(["-c", "trap '' XFSZ; ulimit -f 1500; exec \"$0\" \"$@\""])
        .arg(env!("CARGO_BIN_EXE_sensorium"))
        .args(["replay", "--fast", "--quiet", "--render", "none", "--record"])
        .arg(&out)
        .arg("--summary-json")
        .arg(&summary)
        .current_dir(repo())
        .env("SENSORIUM_CACHE_DIR", dir.path().join("cache"))
        .output()
        .expect("running sensorium");
    assert!(
        status.status.success(),
        "replay failed: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    let s: Value = serde_json::from_str(&std::fs::read_to_string(&summary).expect("summary")).expect("json");
    let errors = s["errors"].to_string();
    println!(
        "write error while recording: errors {errors}, dropped {}",
        s["dropped"]
    );
    assert!(errors.contains("recording stopped"), "{errors}");
    assert_eq!(s["dropped"]["record_error"].as_u64(), Some(1), "{}", s["dropped"]);
    // the pipeline went on: every sweep fused as without --record
    assert_eq!(s["framesets_fused"].as_u64(), Some(49), "{s}");
    let size = std::fs::metadata(&out).expect("partial bag").len();
    assert!(size <= 1500 * 1024, "{size}");
    // what was written before the error reads back (no index: the reader rebuilds what it can)
    let r = BagReader::open(&out).expect("partial bag opens");
    let n = r.messages(&ReadOptions::all()).filter_map(Result::ok).count();
    println!("partial recording: {size} bytes, {n} messages readable");
    assert!(n >= 4, "messages readable from the partial recording: {n}");
}
