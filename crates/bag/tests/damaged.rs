//! Damaged bags: truncated copies (power loss), a killed recorder (no index, unterminated chunk), a corrupt
//! chunk, garbage headers. Nothing panics, the sound part is read, damage is reported with byte offsets, and
//! where python's `rosbag reindex` recovers messages we recover at least those.

mod common;

use std::path::Path;

use common::*;
use sensorium_bag::record::{le_u32, record_at};
use sensorium_bag::{BagError, BagReader, BagWriter, Compression, ReadOptions};
use sensorium_core::Stamp;

fn read_all(path: &Path) -> Result<(Vec<Rec>, BagReader), BagError> {
    let r = BagReader::open(path)?;
    let recs = our_records(&r, &ReadOptions::all());
    Ok((recs, r))
}

/// `sub` is contained in `full` as a multiset.
fn is_sub_multiset(sub: &[Rec], full: &[Rec]) -> bool {
    let mut full = sorted(full.to_vec());
    for r in sub {
        match full.binary_search(r) {
            Ok(i) => {
                full.remove(i);
            }
            Err(_) => return false,
        }
    }
    true
}

#[test]
fn truncated_copies_read_their_sound_prefix() {
    let bags = [
        "rosbag.js_fixtures/fixtures/example.bag",
        "rosbag.js_fixtures/fixtures/example-lz4.bag",
        "rosbag.js_fixtures/fixtures/example-bz2.bag",
        "jsk_recognition_bags/jsk_pcl_ros/sample/data/watercan.bag",
        "derived_bags/kitti_object_000000-000002_bz2.bag",
        "derived_bags/opencalib_top_center_lidar_5scans_lz4.bag",
    ];
    let python = python_available();
    let dir = tempfile::tempdir().unwrap();
    for rel in bags {
        let Some(src) = shared(rel) else { return };
        let bytes = std::fs::read(&src).unwrap();
        let (full, reader) = read_all(&src).unwrap();
        let last = reader.chunks().iter().max_by_key(|c| c.pos).unwrap();
        let hlen = le_u32(&bytes, last.pos as usize).unwrap() as usize;
        // Just past the last chunk's data: every chunk complete, the index (and its records) gone.
        let chunks_end = last.pos as usize + 8 + hlen + last.compressed_size as usize;
        let len = bytes.len();
        let cuts = [
            5,
            13,
            100,
            4117,
            4200,
            len / 3,
            len / 2,
            chunks_end - 7,
            chunks_end,
            len - 1,
        ];
        let python_cuts = [len / 2, chunks_end];
        for cut in cuts {
            let cut = cut.min(len - 1);
            let path = dir.path().join("cut.bag");
            std::fs::write(&path, &bytes[..cut]).unwrap();
            let ctx = format!("{rel} cut at {cut}/{len}");
            match read_all(&path) {
                Err(e) => {
                    // Only a cut inside the bag header may make the file unreadable as a bag.
                    assert!(cut < 4117, "{ctx}: {e}");
                }
                Ok((recs, r)) => {
                    assert!(
                        is_sub_multiset(&recs, &full),
                        "{ctx}: read messages that are not in the bag"
                    );
                    assert!(!r.warnings().is_empty(), "{ctx}: damage must be reported");
                    assert!(
                        r.warnings().iter().all(|w| w.offset <= cut as u64),
                        "{ctx}: {:?}",
                        r.warnings()
                    );
                    if cut == chunks_end {
                        assert_eq!(
                            sorted(recs.clone()),
                            sorted(full.clone()),
                            "{ctx}: all chunks are complete"
                        );
                    }
                    if python && python_cuts.contains(&cut) {
                        // python's `rosbag reindex` on the same copy recovers no more than we do.
                        // (python's reindex itself fails on some cuts; those are skipped.)
                        let Ok(py) = try_py_summary(&path, true) else {
                            continue;
                        };
                        assert!(
                            is_sub_multiset(&py.records, &recs),
                            "{ctx}: python recovered {} messages we did not (we: {})",
                            py.records.len(),
                            recs.len()
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn bag_without_index_is_rebuilt_like_rosbag_reindex() {
    let Some(src) = shared("jsk_recognition_bags/jsk_pcl_ros/sample/data/watercan.bag") else {
        return;
    };
    let mut bytes = std::fs::read(&src).unwrap();
    let (full, reader) = read_all(&src).unwrap();
    let full_conns = reader.connections().to_vec();
    // A recorder killed after its last chunk: index_pos = 0 in the header, index section partly written.
    let pos = find(&bytes, b"index_pos=").unwrap() + 10;
    bytes[pos..pos + 8].copy_from_slice(&0u64.to_le_bytes());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("noindex.bag");
    std::fs::write(&path, &bytes).unwrap();
    let (recs, r) = read_all(&path).unwrap();
    assert!(!r.is_indexed());
    assert!(
        !r.is_mapped(),
        "an unindexed bag (maybe still being written) is read without a mapping"
    );
    assert!(
        r.warnings().iter().any(|w| w.message.contains("index_pos = 0")),
        "{:?}",
        r.warnings()
    );
    assert_eq!(sorted(recs.clone()), sorted(full.clone()));
    assert_eq!(r.connections(), &full_conns[..]);
    assert_eq!(r.message_count(), full.len() as u64);
    assert_eq!(r.start_time(), reader.start_time());
    assert_eq!(r.end_time(), reader.end_time());
    if python_available() {
        let py = py_summary(&path, true);
        assert_eq!(sorted(py.records), sorted(recs));
    }
}

#[test]
fn unterminated_chunk_of_a_killed_recorder_is_recovered() {
    let dir = tempfile::tempdir().unwrap();
    for comp in [Compression::None, Compression::Lz4, Compression::Bz2] {
        let path = dir.path().join(format!("killed_{comp}.bag"));
        let mut w = BagWriter::create(&path, comp).unwrap();
        w.set_chunk_threshold(64 * 1024);
        let c = w
            .add_connection(
                "/x",
                "std_msgs/String",
                "992ce8a1687cec8c8bd883ec73ca41d1",
                "string data\n",
            )
            .unwrap();
        let mut written = Vec::new();
        for i in 0..100u32 {
            let mut payload = 3000u32.to_le_bytes().to_vec();
            payload.extend((0..3000u32).map(|k| (k.wrapping_mul(2_654_435_761).wrapping_add(i) >> 13) as u8));
            w.write(c, Stamp::new(100 + i, 0), &payload).unwrap();
            written.push((
                "/x".to_string(),
                Stamp::new(100 + i, 0).as_nanos(),
                md5_hex(&payload),
            ));
        }
        w.finish().unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        let r = BagReader::open(&path).unwrap();
        let chunks: Vec<_> = r.chunks().to_vec();
        assert!(chunks.len() >= 4);
        let last = chunks.iter().max_by_key(|c| c.pos).unwrap();
        // What `rosbag record` leaves when killed mid-chunk: index_pos 0, the open chunk's header with
        // size 0 and data length 0, and its records (compressed stream) running to the end of the file.
        let ipos = find(&bytes, b"index_pos=").unwrap() + 10;
        bytes[ipos..ipos + 8].copy_from_slice(&0u64.to_le_bytes());
        let p = last.pos as usize;
        let hlen = le_u32(&bytes, p).unwrap() as usize;
        let size_at = p + 4 + find(&bytes[p + 4..p + 4 + hlen], b"size=").unwrap() + 5;
        bytes[size_at..size_at + 4].copy_from_slice(&0u32.to_le_bytes());
        let dlen_at = p + 4 + hlen;
        bytes[dlen_at..dlen_at + 4].copy_from_slice(&0u32.to_le_bytes());
        let data_end = dlen_at + 4 + last.compressed_size as usize;
        bytes.truncate(if comp == Compression::None {
            data_end - 1000
        } else {
            data_end
        });
        std::fs::write(&path, &bytes).unwrap();

        let (recs, r) = read_all(&path).unwrap();
        assert!(
            r.warnings()
                .iter()
                .any(|w| w.offset == last.pos && w.message.contains("unterminated")),
            "{comp}"
        );
        let before_last: usize = chunks
            .iter()
            .filter(|c| c.pos < last.pos)
            .map(|c| c.message_count() as usize)
            .sum();
        assert!(is_sub_multiset(&recs, &written), "{comp}");
        let recovered_in_last = recs.len() - before_last;
        if comp == Compression::None {
            // Every complete record of the open chunk (the last one is cut) is recovered.
            assert_eq!(recovered_in_last, last.message_count() as usize - 1, "{comp}");
        } else {
            assert_eq!(
                recovered_in_last,
                last.message_count() as usize,
                "{comp}: whole stream present"
            );
        }
        if python_available() {
            // python's reindex stops at the unterminated chunk: it recovers the closed chunks only.
            let py = py_summary(&path, true);
            assert_eq!(py.records.len(), before_last, "{comp}");
            assert!(is_sub_multiset(&py.records, &recs));
        }
    }
}

#[test]
fn corrupt_chunk_is_skipped_with_its_offset() {
    let dir = tempfile::tempdir().unwrap();
    for comp in [Compression::Lz4, Compression::Bz2, Compression::None] {
        let path = dir.path().join(format!("corrupt_{comp}.bag"));
        let mut w = BagWriter::create(&path, comp).unwrap();
        w.set_chunk_threshold(32 * 1024);
        let c = w
            .add_connection(
                "/x",
                "std_msgs/String",
                "992ce8a1687cec8c8bd883ec73ca41d1",
                "string data\n",
            )
            .unwrap();
        for i in 0..60u32 {
            let payload: Vec<u8> = (0..2000u32).map(|k| ((k * 31 + i * 7) % 251) as u8).collect();
            w.write(c, Stamp::new(10 + i, 0), &payload).unwrap();
        }
        w.finish().unwrap();
        let (full, r) = read_all(&path).unwrap();
        let victim = r.chunks()[1].clone();
        let mut bytes = std::fs::read(&path).unwrap();
        let hlen = le_u32(&bytes, victim.pos as usize).unwrap() as usize;
        let data = victim.pos as usize + 8 + hlen;
        let mid = data + victim.compressed_size as usize / 2;
        if comp == Compression::None {
            // Break the header length of the chunk's third record.
            let chunk = &bytes[data..data + victim.compressed_size as usize];
            let second = record_at(chunk, 0).unwrap().end;
            let third = record_at(chunk, second).unwrap().end;
            let rec_at = data + third;
            bytes[rec_at..rec_at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        } else {
            for b in &mut bytes[mid..mid + 64] {
                *b ^= 0xA5;
            }
        }
        std::fs::write(&path, &bytes).unwrap();
        let (recs, r) = read_all(&path).unwrap();
        let ws = r.warnings();
        assert!(ws.iter().any(|w| w.offset == victim.pos), "{comp}: {ws:?}");
        // the damaged chunk read ahead by 3 threads, or on the caller's thread: same messages, same warnings
        for prefetch in [1, 3] {
            let r2 = BagReader::open(&path).unwrap();
            let opts = ReadOptions {
                prefetch,
                ..ReadOptions::all()
            };
            assert!(our_records(&r2, &opts) == recs, "{comp}: prefetch {prefetch}");
            assert_eq!(r2.warnings(), ws, "{comp}: prefetch {prefetch}");
        }
        assert!(is_sub_multiset(&recs, &full), "{comp}");
        let others = full.len() - victim.message_count() as usize;
        assert!(
            recs.len() >= others && recs.len() < full.len(),
            "{comp}: {} of {}",
            recs.len(),
            full.len()
        );
    }
}

#[test]
fn garbage_and_truncated_headers_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("g.bag");
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", vec![]),
        ("text", b"hello world, this is not a bag at all".to_vec()),
        ("v1.2", b"#ROSBAG V1.2\n\x00\x00\x00\x00".to_vec()),
        ("magic only", b"#ROSBAG V2.0\n".to_vec()),
        (
            "header length 4 GB",
            [&b"#ROSBAG V2.0\n"[..], &[0xff, 0xff, 0xff, 0xff, 1, 2, 3]].concat(),
        ),
        (
            "header field garbage",
            [
                &b"#ROSBAG V2.0\n"[..],
                &[8, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f, 1, 2, 3, 4],
            ]
            .concat(),
        ),
        (
            "random",
            (0..10_000u32)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 7) as u8)
                .collect(),
        ),
    ];
    for (name, bytes) in cases {
        std::fs::write(&p, &bytes).unwrap();
        let e = BagReader::open(&p).expect_err(name);
        let msg = e.to_string();
        assert!(msg.contains("g.bag"), "{name}: error must name the file: {msg}");
        match name {
            "empty" => assert!(matches!(e, BagError::EmptyFile { .. })),
            "v1.2" => assert!(matches!(e, BagError::UnsupportedVersion { .. })),
            "text" | "random" => assert!(matches!(e, BagError::NotABag { .. })),
            _ => assert!(matches!(e, BagError::Format { .. }), "{name}: {e:?}"),
        }
    }
    // A chunk header claiming a 4 GB chunk in a small file: an error with an offset, not an allocation.
    let Some(src) = shared("rosbag.js_fixtures/fixtures/example.bag") else {
        return;
    };
    let mut bytes = std::fs::read(&src).unwrap();
    let hlen = le_u32(&bytes, 4117).unwrap() as usize;
    let dlen_at = 4117 + 4 + hlen;
    bytes[dlen_at..dlen_at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    std::fs::write(&p, &bytes).unwrap();
    let r = BagReader::open(&p).unwrap();
    assert!(
        r.warnings().iter().any(|w| w.offset == 4117),
        "{:?}",
        r.warnings()
    );
    // Everything left is the salvaged part of the (uncompressed) chunk: no message outside the original.
    let (full, _) = read_all(&src).unwrap();
    let recs = our_records(&r, &ReadOptions::all());
    assert!(is_sub_multiset(&recs, &full));
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A chunk header whose `size` (uncompressed) field claims 4 GB: the reader must not allocate it (it is
/// over [`sensorium_bag::DEFAULT_MAX_CHUNK_BYTES`]); the chunk is skipped with a warning at its offset and
/// the other chunks read whole. A smaller configured cap skips every chunk over it the same way.
#[test]
fn chunk_claiming_4gb_uncompressed_is_skipped_not_allocated() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("claims.bag");
    let mut w = BagWriter::create(&p, Compression::Lz4).unwrap();
    w.set_chunk_threshold(4096);
    let c = w
        .add_connection(
            "/a",
            "std_msgs/String",
            "992ce8a1687cec8c8bd883ec73ca41d1",
            "string data\n",
        )
        .unwrap();
    for i in 0..20u32 {
        let mut data = 3000u32.to_le_bytes().to_vec();
        data.extend(std::iter::repeat_n(b'a' + (i % 26) as u8, 3000));
        w.write(c, Stamp::new(100 + i, 0), &data).unwrap();
    }
    w.finish().unwrap();
    let reader = BagReader::open(&p).unwrap();
    let chunks = reader.chunks().to_vec();
    assert!(chunks.len() >= 3, "{} chunks", chunks.len());
    let total = our_records(&reader, &ReadOptions::all()).len();
    assert_eq!(total, 20);
    // patch the second chunk's `size=` header field
    let mut bytes = std::fs::read(&p).unwrap();
    let victim = chunks[1].pos as usize;
    let hlen = le_u32(&bytes, victim).unwrap() as usize;
    let at = victim + 4 + find(&bytes[victim + 4..victim + 4 + hlen], b"size=").unwrap() + 5;
    bytes[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    std::fs::write(&p, &bytes).unwrap();
    let r = BagReader::open(&p).unwrap();
    let recs = our_records(&r, &ReadOptions::all());
    let in_victim = chunks[1].message_count() as usize;
    assert!(in_victim > 0);
    assert_eq!(recs.len(), total - in_victim, "every other chunk read whole");
    let ws = r.warnings();
    assert!(
        ws.iter()
            .any(|w| w.offset == chunks[1].pos && w.message.contains("over the cap")),
        "{ws:?}"
    );
    // a configured cap below every chunk's size: all skipped, all reported, nothing read
    let small = ReadOptions {
        max_chunk_bytes: 1000,
        ..ReadOptions::all()
    };
    let r2 = BagReader::open(&p).unwrap();
    assert!(our_records(&r2, &small).is_empty());
    let capped = r2
        .warnings()
        .iter()
        .filter(|w| w.message.contains("over the cap"))
        .count();
    assert_eq!(capped, chunks.len());
}
