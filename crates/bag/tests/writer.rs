//! Bags written by sensorium: read back by sensorium, by python's rosbag.Bag (identical payloads) and
//! accepted by the `rosbag info` CLI (output identical to ours).

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use sensorium_bag::info::BagInfo;
use sensorium_bag::{BagReader, BagWriter, Compression, ConnectionSpec, ReadOptions};
use sensorium_core::Stamp;

const STRING_MD5: &str = "992ce8a1687cec8c8bd883ec73ca41d1";

fn string_msg(s: &[u8]) -> Vec<u8> {
    let mut v = (s.len() as u32).to_le_bytes().to_vec();
    v.extend_from_slice(s);
    v
}

/// Writes three topics (small and 40-100 KB std_msgs/String messages, record times slightly out of order)
/// and returns what was written, as (topic, time ns, md5).
fn write_sample(path: &Path, compression: Compression) -> Vec<Rec> {
    let mut w = BagWriter::create(path, compression).unwrap();
    w.set_chunk_threshold(256 * 1024);
    let a = w
        .add_connection("/chatter", "std_msgs/String", STRING_MD5, "string data\n")
        .unwrap();
    let b = w
        .add_connection_spec(ConnectionSpec {
            topic: "/big".into(),
            datatype: "std_msgs/String".into(),
            md5sum: STRING_MD5.into(),
            message_definition: "string data\n".into(),
            callerid: Some("/sensorium".into()),
            latching: true,
        })
        .unwrap();
    let c = w
        .add_connection(
            "/unknown",
            "acme_msgs/Thing",
            "0123456789abcdef0123456789abcdef",
            "uint8 x\n",
        )
        .unwrap();
    assert_eq!(
        w.add_connection("/chatter", "std_msgs/String", STRING_MD5, "string data\n")
            .unwrap(),
        a
    );
    let mut written = Vec::new();
    for i in 0..60u32 {
        let t = Stamp::new(1_600_000_000 + i / 10, (i % 10) * 100_000_000);
        let small = string_msg(format!("hello {i}").as_bytes());
        w.write(a, t, &small).unwrap();
        written.push(("/chatter".to_string(), t.as_nanos(), md5_hex(&small)));
        if i % 3 == 0 {
            // Pseudo-random letters (an LCG) so that compression has real work to do.
            let mut x = 0x9e37_79b9u32.wrapping_mul(i + 1);
            let text: Vec<u8> = (0..40_000 + i * 1000)
                .map(|_| {
                    x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    b'a' + ((x >> 24) % 26) as u8
                })
                .collect();
            let big = string_msg(&text);
            // Recorded 50 ms late, stamped back in time: out-of-order record times across chunks.
            let tb = Stamp::from_nanos(t.as_nanos().saturating_sub(50_000_000));
            w.write(b, tb, &big).unwrap();
            written.push(("/big".to_string(), tb.as_nanos(), md5_hex(&big)));
        }
        if i % 20 == 0 {
            let x = [i as u8];
            w.write(c, t, &x).unwrap();
            written.push(("/unknown".to_string(), t.as_nanos(), md5_hex(&x)));
        }
    }
    assert!(
        w.write(99, Stamp::new(1, 0), b"x").is_err(),
        "unknown connection id must be refused"
    );
    w.finish().unwrap();
    written
}

#[test]
fn written_bags_read_back_identically() {
    let dir = tempfile::tempdir().unwrap();
    for comp in [Compression::None, Compression::Lz4, Compression::Bz2] {
        let path = dir.path().join(format!("sample_{comp}.bag"));
        let written = write_sample(&path, comp);
        let r = BagReader::open(&path).unwrap();
        assert!(
            r.is_indexed() && r.warnings().is_empty(),
            "{comp}: {:?}",
            r.warnings()
        );
        assert!(r.chunks().len() >= 3, "{comp}: {} chunks", r.chunks().len());
        assert!(r.chunks().iter().all(|c| c.compression == comp));
        assert_eq!(r.message_count(), written.len() as u64);
        let ours = our_records(&r, &ReadOptions::all());
        assert_eq!(sorted(ours), sorted(written.clone()), "{comp}");
        let big = r.connections().iter().find(|c| c.topic == "/big").unwrap();
        assert_eq!(big.callerid.as_deref(), Some("/sensorium"));
        assert!(big.latching);
        assert_eq!(big.message_definition, "string data\n");
        let unknown = r.connections().iter().find(|c| c.topic == "/unknown").unwrap();
        assert_eq!(unknown.datatype, "acme_msgs/Thing");
    }
}

#[test]
fn written_bags_pass_rosbag_info_and_python_reads_identical_payloads() {
    if !python_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for comp in [Compression::None, Compression::Lz4, Compression::Bz2] {
        let path = dir.path().join(format!("sample_{comp}.bag"));
        let written = write_sample(&path, comp);

        let py = py_summary(&path, false);
        assert_eq!(py.messages, written.len() as u64, "{comp}");
        assert_eq!(py.lz4_fallbacks, 0, "roslz4 itself must decode our lz4 chunks");
        assert_eq!(
            sorted(py.records),
            sorted(written.clone()),
            "{comp}: python payloads"
        );

        let home = tempfile::tempdir().unwrap();
        let mut cmd = Command::new("rosbag");
        cmd.arg("info").arg(&path);
        ros_env(&mut cmd, home.path());
        let out = cmd.output().expect("running rosbag info");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{comp}: rosbag info failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains(&format!(" {comp} [")), "{comp}: {stdout}");
        let ours = BagInfo::from_reader(&BagReader::open(&path).unwrap()).to_string();
        assert_eq!(ours.trim_end(), stdout.trim_end(), "{comp}");

        // `rosbag check` says the bag needs no migration (it parses every connection and chunk).
        let mut cmd = Command::new("rosbag");
        cmd.arg("check").arg(&path);
        ros_env(&mut cmd, home.path());
        let out = cmd.output().expect("running rosbag check");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!text.contains("Traceback"), "{comp}: rosbag check: {text}");
    }
}

#[test]
fn empty_written_bag_is_valid() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.bag");
    let mut w = BagWriter::create(&path, Compression::Lz4).unwrap();
    w.add_connection("/a", "std_msgs/String", STRING_MD5, "string data\n")
        .unwrap();
    w.finish().unwrap();
    let r = BagReader::open(&path).unwrap();
    assert_eq!(r.message_count(), 0);
    assert_eq!(r.connections().len(), 1);
    assert!(r.warnings().is_empty());
    assert_eq!(r.messages(&ReadOptions::all()).count(), 0);
    if python_available() {
        assert_eq!(py_summary(&path, false).messages, 0);
    }
}
