//! Chunk compression: `none`, `bz2` (one bzip2 stream) and `lz4` (an LZ4 *frame*, as ROS's `roslz4` writes it:
//! independent 1 MB blocks, content checksum).

use std::io::{Read, Write};

/// How the chunks of a bag are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub enum Compression {
    #[default]
    None,
    Bz2,
    Lz4,
}

impl Compression {
    /// The name used in chunk headers and by `rosbag info`.
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Bz2 => "bz2",
            Compression::Lz4 => "lz4",
        }
    }

    pub fn from_name(name: &[u8]) -> Option<Self> {
        match name {
            b"none" => Some(Compression::None),
            b"bz2" => Some(Compression::Bz2),
            b"lz4" => Some(Compression::Lz4),
            _ => None,
        }
    }
}

impl std::fmt::Display for Compression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Compression {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Compression::from_name(s.as_bytes())
            .ok_or_else(|| format!("unknown compression {s:?} (none, bz2, lz4)"))
    }
}

/// Largest output a chunk with an unknown uncompressed size (an unterminated chunk) may decompress to.
const MAX_UNKNOWN_CHUNK: usize = 1 << 30;

/// Result of decompressing one chunk: the bytes that could be produced and, when the stream was damaged
/// or its length disagrees with the chunk header, what went wrong.
pub struct Decompressed {
    pub data: Vec<u8>,
    pub problem: Option<String>,
    /// The compressed input, handed back for reuse (empty for `none`, whose input became `data`).
    pub input: Vec<u8>,
}

/// Decompresses a chunk. `expected` is the uncompressed size from the chunk header (`None` when unknown).
/// Never allocates more than the stream really produces (capped at `expected`), and on a damaged stream
/// returns the bytes decoded before the damage together with the problem.
/// `out` is a recycled buffer to decompress into (its contents are replaced).
pub fn decompress(
    compression: Compression,
    input: Vec<u8>,
    expected: Option<usize>,
    out: Vec<u8>,
    verify: bool,
) -> Decompressed {
    if compression == Compression::None {
        let problem = uncompressed_size_problem(input.len(), expected);
        return Decompressed {
            data: input,
            problem,
            input: Vec::new(),
        };
    }
    let (data, problem) = decompress_from(compression, &input, expected, out, verify);
    Decompressed { data, problem, input }
}

/// What is wrong with an uncompressed chunk of `len` bytes whose header claims `expected`, if anything.
pub(crate) fn uncompressed_size_problem(len: usize, expected: Option<usize>) -> Option<String> {
    match expected {
        Some(e) if e != len => Some(format!("uncompressed chunk holds {len} bytes, header says {e}")),
        _ => None,
    }
}

/// [`decompress`] from borrowed bytes (a memory-mapped file): the same checks and salvage, the output in
/// `out` (for `none` the bytes are copied there). Returns the bytes and the problem, if any.
pub fn decompress_from(
    compression: Compression,
    input: &[u8],
    expected: Option<usize>,
    out: Vec<u8>,
    verify: bool,
) -> (Vec<u8>, Option<String>) {
    match compression {
        Compression::None => {
            let mut out = out;
            out.clear();
            out.extend_from_slice(input);
            (out, uncompressed_size_problem(input.len(), expected))
        }
        Compression::Lz4 => {
            // LZ4 cannot expand more than ~255x; preallocate exactly when the claim is plausible.
            let plausible = input.len().saturating_mul(256).saturating_add(1 << 16);
            let mut out = out;
            // a plausible claim goes the direct way first (a larger one is damage: bounded general path)
            if expected.is_some_and(|e| e <= plausible && lz4_frame_into(input, e, &mut out, verify)) {
                return (out, None);
            }
            let dec = lz4_flex::frame::FrameDecoder::new(input);
            read_limited(dec, expected, plausible, "lz4", out)
        }
        Compression::Bz2 => {
            let plausible = input.len().saturating_mul(64).saturating_add(1 << 16);
            let dec = bzip2::read::BzDecoder::new(input);
            read_limited(dec, expected, plausible, "bz2", out)
        }
    }
}

/// One LZ4 block into `dst` with liblz4's hardened decoder (`LZ4_decompress_safe*`: every read and write
/// bounds-checked, safe on hostile input), `dict` the bytes that linked blocks may refer back to (empty for
/// independent blocks). Returns the bytes written, or None for a damaged block. liblz4 (the C library ROS's
/// roslz4 uses) decodes these streams about twice as fast as lz4_flex here (KITTI clouds, which are many
/// short sequences: 5.9 vs 2.6 GB/s on one core).
#[allow(unsafe_code)] // FFI into liblz4: see the SAFETY comments
fn lz4_block_into(block: &[u8], dst: &mut [u8], dict: &[u8]) -> Option<usize> {
    extern "C" {
        // in liblz4 since 1.5 (lz4-sys builds and links it, but does not declare this one)
        fn LZ4_decompress_safe_usingDict(
            src: *const std::ffi::c_char,
            dst: *mut std::ffi::c_char,
            src_size: std::ffi::c_int,
            dst_capacity: std::ffi::c_int,
            dict_start: *const std::ffi::c_char,
            dict_size: std::ffi::c_int,
        ) -> std::ffi::c_int;
    }
    let src_len = std::ffi::c_int::try_from(block.len()).ok()?;
    let dst_len = std::ffi::c_int::try_from(dst.len()).ok()?;
    let n = if dict.is_empty() {
        // SAFETY: the pointers and lengths come from live slices; the decoder writes at most `dst_len`
        // bytes into `dst` and reads at most `src_len` bytes of `block`, whatever the block holds.
        unsafe {
            lz4_sys::LZ4_decompress_safe(block.as_ptr().cast(), dst.as_mut_ptr().cast(), src_len, dst_len)
        }
    } else {
        let dict_len = std::ffi::c_int::try_from(dict.len()).ok()?;
        // SAFETY: as above; `dict` is only read (it may end where `dst` starts: liblz4's prefix mode).
        unsafe {
            LZ4_decompress_safe_usingDict(
                block.as_ptr().cast(),
                dst.as_mut_ptr().cast(),
                src_len,
                dst_len,
                dict.as_ptr().cast(),
                dict_len,
            )
        }
    };
    usize::try_from(n).ok().filter(|&n| n <= dst.len())
}

const LZ4_MAGIC: u32 = 0x184D_2204;

/// The fast path for the common case: one LZ4 frame whose content is exactly `expected` bytes, decoded
/// straight into `out` block by block (linked blocks get the bytes before them as dictionary), block and
/// content checksums verified when the frame has them. Against `FrameDecoder` + `read_to_end` this saves a
/// copy of every byte (blocks are not staged in the decoder's buffer) and the zeroing of a reused `out`.
/// `verify: false` skips the checksums (not the bounds checks): a third less work per byte, for storage
/// that is trusted. Returns false for anything else (damage, a dictionary id, several or skippable frames, a size other than
/// the chunk header's); the caller then decodes with `FrameDecoder`, which salvages the sound prefix.
fn lz4_frame_into(input: &[u8], expected: usize, out: &mut Vec<u8>, verify: bool) -> bool {
    let le32 = |p: usize| {
        input
            .get(p..)
            .and_then(<[u8]>::first_chunk::<4>)
            .map(|b| u32::from_le_bytes(*b))
    };
    if le32(0) != Some(LZ4_MAGIC) || input.len() < 7 {
        return false;
    }
    let &[_, _, _, _, flg, bd, ..] = input else {
        return false;
    };
    let (independent, block_sum, has_size, content_sum, dict_id) = (
        flg & 0x20 != 0,
        flg & 0x10 != 0,
        flg & 0x08 != 0,
        flg & 0x04 != 0,
        flg & 0x01 != 0,
    );
    if flg >> 6 != 1 || dict_id {
        return false;
    }
    let max_block = match (bd >> 4) & 7 {
        4 => 64 << 10,
        5 => 256 << 10,
        6 => 1 << 20,
        7 => 4 << 20,
        _ => return false,
    };
    let mut pos = 6;
    if has_size {
        match input.get(pos..pos + 8) {
            Some(b) if b == (expected as u64).to_le_bytes() => pos += 8,
            _ => return false,
        }
    }
    let Some(descriptor) = input.get(4..pos) else {
        return false;
    };
    let hc = twox_hash::XxHash32::oneshot(0, descriptor);
    if input.get(pos) != Some(&((hc >> 8) as u8)) {
        return false;
    }
    pos += 1;
    // Reused buffers keep their length: only growth is zeroed.
    if out.len() < expected {
        out.resize(expected, 0);
    } else {
        out.truncate(expected);
    }
    let mut done = 0usize;
    loop {
        let Some(word) = le32(pos) else { return false };
        pos += 4;
        if word == 0 {
            break;
        }
        let (raw, len) = (word & 0x8000_0000 != 0, (word & 0x7FFF_FFFF) as usize);
        let Some(block) = input.get(pos..pos + len).filter(|_| len <= max_block) else {
            return false;
        };
        pos += len;
        if block_sum {
            match le32(pos) {
                Some(sum) if !verify || sum == twox_hash::XxHash32::oneshot(0, block) => pos += 4,
                _ => return false,
            }
        }
        let (before, rest) = out.split_at_mut(done);
        let n = if raw {
            let Some(dst) = rest.get_mut(..len) else {
                return false;
            };
            dst.copy_from_slice(block);
            len
        } else {
            let room = rest.len().min(max_block);
            let Some(dst) = rest.get_mut(..room) else {
                return false;
            };
            let dict: &[u8] = if independent || done == 0 {
                &[]
            } else {
                // the last 64 KiB decoded (`before` is `out[..done]`): the window linked blocks may refer to
                before.get(done.saturating_sub(64 << 10)..).unwrap_or(before)
            };
            match lz4_block_into(block, dst, dict) {
                Some(n) => n,
                None => return false,
            }
        };
        done += n;
    }
    if content_sum {
        // one pass at the end: twox-hash's one-shot runs ~2× its streaming `write`
        let sound = |sum| !verify || out.get(..done).map(|d| twox_hash::XxHash32::oneshot(0, d)) == Some(sum);
        match le32(pos) {
            Some(sum) if sound(sum) => pos += 4,
            _ => return false,
        }
    }
    pos == input.len() && done == expected
}

fn read_limited(
    dec: impl Read,
    expected: Option<usize>,
    plausible: usize,
    codec: &str,
    mut data: Vec<u8>,
) -> (Vec<u8>, Option<String>) {
    let limit = expected.unwrap_or(MAX_UNKNOWN_CHUNK);
    data.clear();
    data.reserve(limit.min(plausible));
    // One byte past the limit tells "exactly the claimed size" from "more than claimed".
    let mut take = dec.take(limit as u64 + 1);
    let problem = match take.read_to_end(&mut data) {
        Err(e) => Some(format!(
            "{codec} stream damaged after {} decompressed bytes: {e}",
            data.len()
        )),
        Ok(_) if data.len() > limit => {
            data.truncate(limit);
            Some(format!(
                "{codec} stream decompresses to more than the {limit} bytes the chunk header claims"
            ))
        }
        Ok(_) => match expected {
            Some(e) if e != data.len() => Some(format!(
                "{codec} stream decompresses to {} bytes, chunk header says {e}",
                data.len()
            )),
            _ => None,
        },
    };
    (data, problem)
}

/// Compresses a chunk for writing.
pub fn compress(compression: Compression, input: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
    out.clear();
    match compression {
        Compression::None => out.extend_from_slice(input),
        Compression::Lz4 => {
            let info = lz4_flex::frame::FrameInfo::new()
                .block_size(lz4_flex::frame::BlockSize::Max1MB)
                .block_mode(lz4_flex::frame::BlockMode::Independent)
                .content_checksum(true);
            let mut enc = lz4_flex::frame::FrameEncoder::with_frame_info(info, std::mem::take(out));
            enc.write_all(input).map_err(|e| e.to_string())?;
            *out = enc.finish().map_err(|e| e.to_string())?;
        }
        Compression::Bz2 => {
            let mut enc = bzip2::write::BzEncoder::new(std::mem::take(out), bzip2::Compression::best());
            enc.write_all(input).map_err(|e| e.to_string())?;
            *out = enc.finish().map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        (0..300_000u32).flat_map(|i| (i % 251).to_le_bytes()).collect()
    }

    #[test]
    fn round_trip_all_codecs() {
        let data = sample();
        for c in [Compression::None, Compression::Lz4, Compression::Bz2] {
            let mut out = Vec::new();
            compress(c, &data, &mut out).unwrap();
            if c == Compression::Lz4 {
                // what sensorium writes takes the direct path
                assert!(lz4_frame_into(&out, data.len(), &mut Vec::new(), true));
            }
            let d = decompress(c, out, Some(data.len()), Vec::new(), true);
            assert!(d.problem.is_none(), "{c}: {:?}", d.problem);
            assert_eq!(d.data, data, "{c}");
        }
    }

    /// The direct frame decoder against lz4_flex's FrameDecoder on every frame layout it takes: independent
    /// and linked blocks, block checksums, content size and checksum, incompressible (raw) blocks.
    #[test]
    fn direct_lz4_frames_match_the_frame_decoder() {
        use lz4_flex::frame::{BlockMode, BlockSize, FrameEncoder, FrameInfo};
        let mut data = sample();
        // an incompressible stretch: stored as raw blocks
        let mut x = 12345u32;
        data.extend((0..200_000).map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        }));
        for (mode, bsum, size, csum) in [
            (BlockMode::Independent, false, false, true),
            (BlockMode::Linked, false, false, true),
            (BlockMode::Linked, true, true, false),
            (BlockMode::Independent, true, true, true),
        ] {
            let info = FrameInfo::new()
                .block_size(BlockSize::Max64KB)
                .block_mode(mode)
                .block_checksums(bsum)
                .content_checksum(csum)
                .content_size(size.then_some(data.len() as u64));
            let mut enc = FrameEncoder::with_frame_info(info, Vec::new());
            enc.write_all(&data).unwrap();
            let frame = enc.finish().unwrap();
            let what = format!("{mode:?} block sums {bsum} size {size} content sum {csum}");
            // a reused, longer and dirty output buffer
            let mut out = vec![7u8; data.len() + 999];
            assert!(lz4_frame_into(&frame, data.len(), &mut out, true), "{what}");
            assert!(out == data, "{what}");
            let mut general = Vec::new();
            lz4_flex::frame::FrameDecoder::new(&frame[..])
                .read_to_end(&mut general)
                .unwrap();
            assert!(general == data, "{what}");
            assert!(
                lz4_frame_into(&frame, data.len(), &mut out, false) && out == data,
                "{what}: unverified"
            );
            // damage anywhere past the header is refused by the direct path (the general one salvages)
            let mut bad = frame.clone();
            let at = bad.len() * 2 / 3;
            bad[at] ^= 0x40;
            if bsum || csum {
                assert!(
                    !lz4_frame_into(&bad, data.len(), &mut out, true),
                    "{what}: flipped byte"
                );
            }
            assert!(
                !lz4_frame_into(&frame[..frame.len() - 3], data.len(), &mut out, true),
                "{what}: cut"
            );
            assert!(
                !lz4_frame_into(&frame, data.len() - 1, &mut out, true),
                "{what}: size"
            );
        }
    }

    #[test]
    fn damaged_streams_report_and_never_overallocate() {
        let data = sample();
        for c in [Compression::Lz4, Compression::Bz2] {
            let mut out = Vec::new();
            compress(c, &data, &mut out).unwrap();
            // Truncated stream.
            let d = decompress(
                c,
                out[..out.len() / 2].to_vec(),
                Some(data.len()),
                Vec::new(),
                true,
            );
            assert!(d.problem.is_some(), "{c}");
            assert!(data.starts_with(&d.data), "{c}: salvaged bytes must be a prefix");
            // Header claims 4 GB: output is what the stream produces, with a complaint.
            let d = decompress(c, out.clone(), Some(u32::MAX as usize), Vec::new(), true);
            assert_eq!(d.data.len(), data.len());
            assert!(d.problem.is_some());
            // Header claims less than the stream holds.
            let d = decompress(c, out.clone(), Some(10), Vec::new(), true);
            assert_eq!(d.data.len(), 10);
            assert!(d.problem.is_some());
            // Garbage.
            let d = decompress(c, vec![0x55; 1000], Some(5000), Vec::new(), true);
            assert!(d.problem.is_some());
        }
    }
}
