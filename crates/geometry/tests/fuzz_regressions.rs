//! Inputs found by `scripts/fuzz.sh`, kept as regression tests.

use sensorium_geometry::cloudfile::parse_npy;
use std::path::Path;

/// A 36-byte .npy (format version 3) whose header length field claims 4 GiB: npyz allocated that before
/// reading (libFuzzer: malloc(4294967040)). It must be a plain error naming the header, allocating nothing.
#[test]
fn npy_header_length_past_the_file() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions/npy-header-claims-4gb.npy");
    let bytes = std::fs::read(&path).expect("regression input");
    assert!(bytes.len() < 64);
    let err = parse_npy(&bytes, &path)
        .expect_err("a header past the end of the file")
        .to_string();
    assert!(err.contains("header") && err.contains("bytes"), "{err}");
    assert!(
        err.contains("npy-header-claims-4gb.npy"),
        "the error names the file: {err}"
    );
}

/// A version-1 .npy of float32 with this shape and these data bytes (header padded as numpy pads it).
fn npy(rows: u64, data: &[u8]) -> Vec<u8> {
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, 4), }}");
    while !(10 + header.len() + 1).is_multiple_of(64) {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(data);
    bytes
}

/// The same bound for the data: a well-formed header whose shape claims 10⁹ points over 48 data bytes.
#[test]
fn npy_shape_larger_than_the_file() {
    let huge = npy(1_000_000_000, &[0u8; 48]);
    let err = parse_npy(&huge, Path::new("huge.npy"))
        .expect_err("10⁹ points in 48 bytes")
        .to_string();
    assert!(err.contains("shape") && err.contains("1000000000"), "{err}");
    // the same header with the 12 values it claims parses
    let ok = npy(3, &[0u8; 48]);
    assert_eq!(
        parse_npy(&ok, Path::new("ok.npy")).expect("3×4 float32").x.len(),
        3
    );
}

/// A 302-byte .npy whose header holds ~100 nested `{`: npyz's header parser backtracked on it for
/// minutes (libFuzzer timeout). It must be refused at once, naming the header.
#[test]
fn npy_header_nested_brackets() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions/npy-nested-header.npy");
    let bytes = std::fs::read(&path).expect("regression input");
    let err = parse_npy(&bytes, &path)
        .expect_err("not a sound header")
        .to_string();
    // refused by the nesting check, before npyz's parser sees it
    assert!(err.contains("header") && err.contains("nested"), "{err}");
}
