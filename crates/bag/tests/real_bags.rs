//! Every real bag in ../shared/data read by sensorium and by Debian's python rosbag: counts, first/last
//! record times, connections and every payload (md5) must agree; `rosbag info` output must match ours.

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use common::*;
use sensorium_bag::info::BagInfo;
use sensorium_bag::{BagError, BagReader, OpenOptions, ReadOptions};
use sensorium_core::Stamp;

#[test]
fn every_real_bag_matches_python_rosbag() {
    let Some(bags) = real_bags() else { return };
    if !python_available() {
        return;
    }
    let mut checked = 0;
    for bag in &bags {
        let name = bag.display().to_string();
        if std::fs::metadata(bag).unwrap().len() == 0 {
            assert!(
                matches!(BagReader::open(bag), Err(BagError::EmptyFile { .. })),
                "{name}"
            );
            continue;
        }
        let reader = BagReader::open(bag).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(reader.is_indexed(), "{name}: index should be used");
        assert!(reader.warnings().is_empty(), "{name}: {:?}", reader.warnings());
        let py = py_summary(bag, false);

        assert_eq!(reader.message_count(), py.messages, "{name}: message count");
        assert_eq!(
            reader.start_time().map(Stamp::as_nanos),
            py.start_ns,
            "{name}: first record time"
        );
        assert_eq!(
            reader.end_time().map(Stamp::as_nanos),
            py.end_ns,
            "{name}: last record time"
        );

        let ours = our_records(&reader, &ReadOptions::all());
        assert_eq!(ours.len() as u64, py.messages, "{name}: messages iterated");
        // Read-ahead threads change nothing: the same sequence on the caller's thread alone and with 3.
        for prefetch in [1, 3] {
            let opts = ReadOptions {
                prefetch,
                ..ReadOptions::all()
            };
            assert!(our_records(&reader, &opts) == ours, "{name}: prefetch {prefetch}");
        }
        // The memory-mapped read (the default for indexed bags) and positioned reads give the same
        // sequence, on every prefetch path; a second pass over the same reader reuses its buffers.
        assert!(reader.is_mapped(), "{name}: indexed bags are mapped");
        let unmapped = BagReader::open_with(bag, OpenOptions { mmap: false }).unwrap();
        assert!(!unmapped.is_mapped());
        for prefetch in [1, 2] {
            let opts = ReadOptions {
                prefetch,
                ..ReadOptions::all()
            };
            assert!(
                our_records(&unmapped, &opts) == ours,
                "{name}: unmapped, prefetch {prefetch}"
            );
        }
        assert!(
            our_records(&reader, &ReadOptions::all()) == ours,
            "{name}: second pass"
        );
        // Per-topic counts from the index and from iteration equal python's.
        let mut py_counts: BTreeMap<String, u64> = BTreeMap::new();
        for r in &py.records {
            *py_counts.entry(r.0.clone()).or_default() += 1;
        }
        let idx_counts: BTreeMap<String, u64> = reader
            .topic_counts()
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .collect();
        assert_eq!(idx_counts, py_counts, "{name}: per-topic counts");
        // Same multiset of (topic, time, payload md5): every payload byte-identical.
        assert_eq!(
            sorted(ours.clone()),
            sorted(py.records.clone()),
            "{name}: payloads"
        );
        // For time-sorted bags python's order is time order too: then the sequences agree per topic.
        for c in &py.connections {
            let ours_c = reader
                .connections()
                .iter()
                .find(|o| o.id == c.0)
                .expect("python's connection");
            assert_eq!(
                (&ours_c.topic, &ours_c.datatype, &ours_c.md5sum),
                (&c.1, &c.2, &c.3),
                "{name}"
            );
        }
        checked += 1;
    }
    assert!(checked >= 12, "checked {checked} bags");
}

#[test]
fn info_matches_rosbag_info() {
    let Some(bags) = real_bags() else { return };
    if !python_available() {
        return;
    }
    for bag in &bags {
        let name = bag.display().to_string();
        if std::fs::metadata(bag).unwrap().len() == 0 || name.contains("unsorted") {
            // rosbag info takes start/end from the first/last chunk in file order and prints a negative
            // duration for unsorted chunks; we print the true extremes (checked below).
            continue;
        }
        let reader = BagReader::open(bag).unwrap();
        let ours = BagInfo::from_reader(&reader).to_string();
        let home = tempfile::tempdir().unwrap();
        let mut cmd = Command::new("rosbag");
        cmd.arg("info").arg(bag);
        ros_env(&mut cmd, home.path());
        let out = cmd.output().expect("rosbag info");
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let theirs = String::from_utf8_lossy(&out.stdout);
        assert_eq!(ours.trim_end(), theirs.trim_end(), "{name}: info differs");
    }
}

#[test]
fn unsorted_chunks_come_out_in_time_order() {
    let Some(bag) = shared("rosbag.js_fixtures/fixtures/example-unsorted-chunks.bag") else {
        return;
    };
    let reader = BagReader::open(&bag).unwrap();
    let times: Vec<u64> = reader
        .messages(&ReadOptions::all())
        .map(|m| m.unwrap().time.as_nanos())
        .collect();
    assert_eq!(times, vec![1_000_000_000, 2_000_000_000, 3_000_000_000]);
    let payloads: Vec<Vec<u8>> = reader
        .messages(&ReadOptions::all())
        .map(|m| m.unwrap().data.to_vec())
        .collect();
    // std_msgs/String "1", "2", "3": u32 length + bytes.
    assert_eq!(
        payloads,
        vec![
            b"\x01\0\0\x001".to_vec(),
            b"\x01\0\0\x002".to_vec(),
            b"\x01\0\0\x003".to_vec()
        ]
    );
    let info = BagInfo::from_reader(&reader);
    assert_eq!(info.start, Some(Stamp::new(1, 0)));
    assert_eq!(info.end, Some(Stamp::new(3, 0)));
    assert!(info.to_string().contains("duration:    2.0s"), "{info}");
}

#[test]
fn no_messages_bag_iterates_empty() {
    let Some(bag) = shared("rosbag.js_fixtures/fixtures/no-messages.bag") else {
        return;
    };
    let reader = BagReader::open(&bag).unwrap();
    assert_eq!(reader.message_count(), 0);
    assert_eq!(reader.start_time(), None);
    assert_eq!(reader.messages(&ReadOptions::all()).count(), 0);
    assert!(reader.warnings().is_empty());
}

#[test]
fn topic_and_time_filters_skip_unrelated_chunks() {
    let Some(bag) = shared("jsk_recognition_bags/jsk_pcl_ros/sample/data/watercan.bag") else {
        return;
    };
    let reader = BagReader::open(&bag).unwrap();
    let all = our_records(&reader, &ReadOptions::all());
    assert_eq!(all.len(), 3533);

    // The single cloud lives in one chunk: only that chunk is read.
    let topic = "/euclidean_cluster_indices_decomposer/output00";
    let holding: Vec<_> = reader
        .chunks()
        .iter()
        .filter(|c| {
            c.connection_counts.iter().any(|(id, _)| {
                reader
                    .connections()
                    .iter()
                    .any(|k| k.id == *id && k.topic == topic)
            })
        })
        .collect();
    let mut it = reader.messages(&ReadOptions::topics([topic]));
    let clouds: Vec<_> = it.by_ref().map(|m| m.unwrap()).collect();
    assert_eq!(clouds.len(), 1);
    assert_eq!(it.chunks_read(), holding.len());
    assert!(it.chunks_read() < reader.chunks().len());

    // A time window: exactly the messages of the full read inside [start, end], and fewer chunks read.
    let t0 = reader.start_time().unwrap().as_nanos();
    let (start, end) = (
        Stamp::from_nanos(t0 + 2_000_000_000),
        Stamp::from_nanos(t0 + 3_000_000_000),
    );
    let opts = ReadOptions {
        topics: None,
        start: Some(start),
        end: Some(end),
        ..ReadOptions::default()
    };
    let mut it = reader.messages(&opts);
    let window: Vec<Rec> = it
        .by_ref()
        .map(|m| m.unwrap())
        .map(|m| (m.conn.topic.clone(), m.time.as_nanos(), md5_hex(&m.data)))
        .collect();
    let expected: Vec<Rec> = all
        .iter()
        .filter(|r| r.1 >= start.as_nanos() && r.1 <= end.as_nanos())
        .cloned()
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(sorted(window), sorted(expected));
    assert!(
        it.chunks_read() < reader.chunks().len(),
        "time filter read {} chunks",
        it.chunks_read()
    );

    // A topic that is not in the bag yields nothing and reads nothing.
    let mut it = reader.messages(&ReadOptions::topics(["/nope"]));
    assert_eq!(it.by_ref().count(), 0);
    assert_eq!(it.chunks_read(), 0);
}

#[test]
fn compressed_and_uncompressed_fixtures_hold_identical_messages() {
    let (Some(a), Some(b), Some(c)) = (
        shared("rosbag.js_fixtures/fixtures/example.bag"),
        shared("rosbag.js_fixtures/fixtures/example-lz4.bag"),
        shared("rosbag.js_fixtures/fixtures/example-bz2.bag"),
    ) else {
        return;
    };
    let read = |p| sorted(our_records(&BagReader::open(p).unwrap(), &ReadOptions::all()));
    let plain = read(&a);
    assert_eq!(plain.len(), 8647);
    assert_eq!(read(&b), plain);
    assert_eq!(read(&c), plain);
}
