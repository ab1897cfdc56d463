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

/// An lz4 MCAP in which a message record inside the second chunk claims 2 TiB: the mcap crate's
/// `MessageStream` reserved that much (it sets no record length limit). The reader limits every record
/// to `MAX_CHUNK_BYTES`: the messages before it are read, then one error names the record, and nothing
/// is allocated for the claim.
#[test]
fn mcap_record_claiming_terabytes_is_not_allocated() {
    let path = input("mcap-record-claims-2tib.mcap");
    let rec = sensorium_bag::Recording::open(&path).expect("the file opens");
    let items: Vec<_> = rec.messages(&ReadOptions::all()).collect();
    let read = items.iter().filter(|m| m.is_ok()).count();
    let errors: Vec<String> = items
        .iter()
        .filter_map(|m| m.as_ref().err())
        .map(|e| e.to_string())
        .collect();
    assert_eq!(read, 2, "the first chunk's two messages");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains("exceeds limit") && errors[0].contains("2199023313475"),
        "{}",
        errors[0]
    );
}

/// An MCAP whose channel record's topic string claims 2 GiB: the mcap crate's record parser reserved
/// that much. The reader's own record parsers check every length against the record: the channel does
/// not parse, the file is read up to it with a warning, and nothing is allocated for the claim.
#[test]
fn mcap_channel_string_claiming_gigabytes_is_not_allocated() {
    let path = input("mcap-channel-string-claims-2gib.mcap");
    let rec = sensorium_bag::Recording::open(&path).expect("the file opens");
    let warnings: Vec<String> = rec.warnings().iter().map(|w| w.message.clone()).collect();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("channel record that does not parse")),
        "{warnings:?}"
    );
    let errors = rec.messages(&ReadOptions::all()).filter(|m| m.is_err()).count();
    assert_eq!(errors, 1, "one error, then the stream ends");
}
