#![no_main]
//! Point cloud files: PCD (ascii, binary, binary_compressed/LZF; any fields, counts, types), KITTI
//! `.bin` and `.npy` clouds, and the LZF decompressor on its own. No panic; no allocation the file
//! cannot back (a header claiming 10⁹ points in a small file is an error).
use libfuzzer_sys::fuzz_target;
use sensorium_geometry::cloudfile::{lzf_decompress, parse_kitti_bin, parse_npy, parse_pcd};
use std::path::Path;

fn check(p: &sensorium_core::PointsSoA, input: usize) {
    let n = p.x.len();
    assert!(p.y.len() == n && p.z.len() == n && p.intensity.len() == n);
    // every point costs at least one byte of input (ascii PCD: a digit and a separator)
    assert!(n <= input.max(1) * 8, "{n} points from {input} bytes");
}

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz");
    if let Ok(p) = parse_pcd(data, path) {
        check(&p, data.len());
    }
    if let Ok(p) = parse_kitti_bin(data, path) {
        check(&p, data.len());
    }
    if let Ok(p) = parse_npy(data, path) {
        check(&p, data.len());
    }
    if let [a, b, rest @ ..] = data {
        let out_len = usize::from(u16::from_le_bytes([*a, *b])) * 4;
        if let Ok(out) = lzf_decompress(rest, out_len) {
            assert_eq!(out.len(), out_len);
        }
    }
});
