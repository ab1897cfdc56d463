//! Seeds for the `bag` and `bag_chunk` fuzz targets (`crates/fuzz/corpus/`): tiny bags written by
//! [`BagWriter`] with each compression, and compressed chunk streams. `SENSORIUM_WRITE_FUZZ_SEEDS=1` rewrites
//! them; otherwise the test checks the committed seeds still read back as written.

use sensorium_bag::compression::{compress, decompress, Compression};
use sensorium_bag::{BagReader, BagWriter, ReadOptions};
use sensorium_core::Stamp;
use std::path::Path;

const COMPRESSIONS: [(Compression, &str); 3] = [
    (Compression::None, "none"),
    (Compression::Bz2, "bz2"),
    (Compression::Lz4, "lz4"),
];

/// Three std_msgs/String messages on two topics, in two chunks, the second chunk earlier in time.
fn write_bag(path: &Path, compression: Compression) {
    let mut w = BagWriter::create(path, compression).unwrap();
    w.set_chunk_threshold(1);
    let a = w
        .add_connection(
            "/a",
            "std_msgs/String",
            "992ce8a1687cec8c8bd883ec73ca41d1",
            "string data\n",
        )
        .unwrap();
    let b = w
        .add_connection(
            "/b",
            "std_msgs/String",
            "992ce8a1687cec8c8bd883ec73ca41d1",
            "string data\n",
        )
        .unwrap();
    for (conn, secs, text) in [(a, 2, "two"), (b, 1, "one"), (a, 3, "three")] {
        let mut payload = (text.len() as u32).to_le_bytes().to_vec();
        payload.extend_from_slice(text.as_bytes());
        w.write(conn, Stamp::new(secs, 0), &payload).unwrap();
    }
    w.finish().unwrap();
}

fn chunk_seed(compression: Compression, sel: u8) -> Vec<u8> {
    let plain: Vec<u8> = b"sensorium chunk ".iter().cycle().take(200).copied().collect();
    let mut packed = Vec::new();
    compress(compression, &plain, &mut packed).unwrap();
    let mut seed = vec![sel];
    seed.extend_from_slice(&(plain.len() as u32).to_le_bytes());
    seed.extend_from_slice(&packed);
    seed
}

#[test]
fn bag_fuzz_seeds_are_valid() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    let write = std::env::var("SENSORIUM_WRITE_FUZZ_SEEDS").is_ok_and(|v| v == "1");
    for (i, (compression, name)) in COMPRESSIONS.into_iter().enumerate() {
        let bag = root.join("bag").join(format!("{name}.bag"));
        if write {
            std::fs::create_dir_all(bag.parent().unwrap()).unwrap();
            write_bag(&bag, compression);
        }
        let r = BagReader::open(&bag).unwrap_or_else(|e| panic!("{}: {e}", bag.display()));
        let times: Vec<u32> = r
            .messages(&ReadOptions::all())
            .map(|m| m.unwrap().time.sec)
            .collect();
        assert_eq!(times, [1, 2, 3], "{}", bag.display());
        assert!(std::fs::metadata(&bag).unwrap().len() < 8192);

        let chunk = root.join("bag_chunk").join(name);
        if write {
            std::fs::create_dir_all(chunk.parent().unwrap()).unwrap();
            // selector: compression index (low nibble mod 3), bit 0x20 set: also compress and read back
            std::fs::write(&chunk, chunk_seed(compression, i as u8 | 0x20)).unwrap();
        }
        let seed = std::fs::read(&chunk).unwrap();
        assert_eq!((seed[0] & 0x0f) % 3, i as u8);
        let size = u32::from_le_bytes(seed[1..5].try_into().unwrap()) as usize;
        let out = decompress(compression, seed[5..].to_vec(), Some(size), Vec::new(), true);
        assert!(out.problem.is_none(), "{}: {:?}", chunk.display(), out.problem);
        assert_eq!(out.data.len(), 200);
    }
}

/// The `ros2_recording` seeds: MCAP files from the `mcap` PyPI writer
/// (`crates/bag/tests/python/mcap_fuzz_seeds.py` writes them), each read whole, in time order.
#[test]
fn ros2_recording_fuzz_seeds_are_valid() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/ros2_recording");
    for name in ["zstd", "lz4", "plain"] {
        let path = root.join(format!("{name}.mcap"));
        let r = sensorium_bag::Recording::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let times: Vec<u64> = r
            .messages(&ReadOptions::all())
            .map(|m| m.unwrap().time.as_nanos())
            .collect();
        assert_eq!(times.len(), 10, "{}", path.display());
        assert!(times.windows(2).all(|w| w[0] <= w[1]), "{}", path.display());
        assert_eq!(r.topic_counts().len(), 5);
        assert!(r.warnings().is_empty(), "{:?}", r.warnings());
        assert!(std::fs::metadata(&path).unwrap().len() < 8192);
    }
}
