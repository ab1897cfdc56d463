#![no_main]
//! Chunk decompression (none, bz2, lz4 frames) on arbitrary streams with an arbitrary claimed size: the
//! output never exceeds the claim (nor 1 GiB when unknown), damage comes back as a problem with the bytes
//! decoded before it, nothing panics or allocates what the stream does not produce.
use libfuzzer_sys::fuzz_target;
use sensorium_bag::compression::{compress, decompress, Compression};

fuzz_target!(|data: &[u8]| {
    let [sel, a, b, c, d, rest @ ..] = data else { return };
    let compression = match (sel & 0x0f) % 3 {
        0 => Compression::None,
        1 => Compression::Bz2,
        _ => Compression::Lz4,
    };
    let claimed = u32::from_le_bytes([*a, *b, *c, *d]) as usize;
    let expected = if sel & 0x80 != 0 { None } else { Some(claimed) };
    let verify = sel & 0x40 == 0;
    let out = decompress(compression, rest.to_vec(), expected, Vec::new(), verify);
    if let Some(e) = expected {
        assert!(out.data.len() <= e.max(rest.len()) || compression == Compression::None);
    }
    // what we compress, we read back whole
    if sel & 0x20 != 0 {
        let mut packed = Vec::new();
        if compress(compression, rest, &mut packed).is_ok() {
            let back = decompress(compression, packed, Some(rest.len()), Vec::new(), true);
            assert!(back.problem.is_none(), "{:?}", back.problem);
            assert_eq!(back.data, rest);
        }
    }
});
