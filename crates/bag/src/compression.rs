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
) -> Decompressed {
    match compression {
        Compression::None => {
            let problem = match expected {
                Some(e) if e != input.len() => Some(format!(
                    "uncompressed chunk holds {} bytes, header says {e}",
                    input.len()
                )),
                _ => None,
            };
            Decompressed {
                data: input,
                problem,
                input: Vec::new(),
            }
        }
        Compression::Lz4 => {
            // LZ4 cannot expand more than ~255x; preallocate exactly when the claim is plausible.
            let plausible = input.len().saturating_mul(256).saturating_add(1 << 16);
            let dec = lz4_flex::frame::FrameDecoder::new(&input[..]);
            let (data, problem) = read_limited(dec, expected, plausible, "lz4", out);
            Decompressed { data, problem, input }
        }
        Compression::Bz2 => {
            let plausible = input.len().saturating_mul(64).saturating_add(1 << 16);
            let dec = bzip2::read::BzDecoder::new(&input[..]);
            let (data, problem) = read_limited(dec, expected, plausible, "bz2", out);
            Decompressed { data, problem, input }
        }
    }
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
            let d = decompress(c, out, Some(data.len()), Vec::new());
            assert!(d.problem.is_none(), "{c}: {:?}", d.problem);
            assert_eq!(d.data, data, "{c}");
        }
    }

    #[test]
    fn damaged_streams_report_and_never_overallocate() {
        let data = sample();
        for c in [Compression::Lz4, Compression::Bz2] {
            let mut out = Vec::new();
            compress(c, &data, &mut out).unwrap();
            // Truncated stream.
            let d = decompress(c, out[..out.len() / 2].to_vec(), Some(data.len()), Vec::new());
            assert!(d.problem.is_some(), "{c}");
            assert!(data.starts_with(&d.data), "{c}: salvaged bytes must be a prefix");
            // Header claims 4 GB: output is what the stream produces, with a complaint.
            let d = decompress(c, out.clone(), Some(u32::MAX as usize), Vec::new());
            assert_eq!(d.data.len(), data.len());
            assert!(d.problem.is_some());
            // Header claims less than the stream holds.
            let d = decompress(c, out.clone(), Some(10), Vec::new());
            assert_eq!(d.data.len(), 10);
            assert!(d.problem.is_some());
            // Garbage.
            let d = decompress(c, vec![0x55; 1000], Some(5000), Vec::new());
            assert!(d.problem.is_some());
        }
    }
}
