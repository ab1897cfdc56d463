//! Inputs found by `scripts/fuzz.sh`, kept as regression tests.

use sensorium_bag::{BagReader, ReadOptions};
use std::path::Path;

fn input(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz_regressions")
        .join(name)
}

/// A three-chunk lz4 bag whose second chunk info claims a start time later than the message the chunk
/// holds. The reader merges chunks by their infos' start times, so it cannot promise time order here:
/// it must still return every message, once, and warn at the chunk's offset that the order may break.
#[test]
fn chunk_info_start_later_than_its_messages() {
    let path = input("chunk-info-start-too-late.bag");
    let reader = BagReader::open(&path).expect("the bag opens");
    let msgs: Vec<_> = reader
        .messages(&ReadOptions {
            prefetch: 1,
            ..ReadOptions::all()
        })
        .collect::<Result<_, _>>()
        .expect("every chunk reads");
    assert_eq!(msgs.len(), 3, "no message lost");
    let ordered = msgs.windows(2).all(|w| w[0].time <= w[1].time);
    assert!(
        !ordered,
        "this input does come out of order; if it no longer does, tighten the test"
    );
    let warnings = reader.warnings();
    let w = warnings
        .iter()
        .find(|w| w.message.contains("out of time order"))
        .unwrap_or_else(|| panic!("no order warning in {warnings:?}"));
    assert!(w.message.contains("chunk info says"), "{}", w.message);
    assert!(w.offset > 0);
    // The same with prefetch threads and without checksums.
    let again: Vec<_> = reader
        .messages(&ReadOptions {
            prefetch: 2,
            skip_checksums: true,
            ..ReadOptions::all()
        })
        .collect::<Result<_, _>>()
        .expect("every chunk reads");
    assert_eq!(again.len(), 3);
}
