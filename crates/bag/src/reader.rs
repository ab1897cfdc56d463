//! Index-based reading of ROS1 bag v2.0 files, with a linear-scan fallback for bags without a sound index.
//!
//! Opening reads the bag header, the connection and chunk-info records of the index section and each chunk's
//! record header (not its data). [`BagReader::messages`] then visits only the chunks that hold a wanted
//! connection in the wanted time range, decompresses each of them once and hands out zero-copy slices
//! ([`bytes::Bytes`]) of the decompressed chunk, merged across chunks into time order.
//!
//! When the index is missing (a recorder killed before closing the bag: `index_pos` = 0 or past the end of
//! the file) or unreadable, the chunks are scanned from the start of the file like `rosbag reindex` does,
//! rebuilding connections and chunk statistics from the records themselves, as far as the bytes are sound.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use sensorium_core::Stamp;

use crate::compression::{decompress, decompress_from, uncompressed_size_problem, Compression};
use crate::error::{io_err, BagError, BagWarning};
use crate::record::{
    self, Header, MAGIC, OP_CHUNK, OP_CHUNK_INFO, OP_CONNECTION, OP_FILE_HEADER, OP_MSG_DATA,
};

mod chunks;
mod index;
mod messages;
pub(crate) mod source;

use chunks::*;
use index::*;
pub use messages::Messages;
use source::*;

/// A connection: one publisher of one topic, as recorded in the bag. The reader does not interpret types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    pub id: u32,
    pub topic: String,
    pub datatype: String,
    pub md5sum: String,
    pub message_definition: String,
    pub callerid: Option<String>,
    pub latching: bool,
}

/// One chunk of the bag, from the index (or rebuilt by the linear scan).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkInfo {
    /// Byte offset of the chunk record.
    pub pos: u64,
    pub start: Stamp,
    pub end: Stamp,
    pub compression: Compression,
    /// Bytes of chunk data in the file (compressed size).
    pub compressed_size: u64,
    /// Uncompressed size from the chunk header (0 for an unterminated chunk).
    pub uncompressed_size: u64,
    /// Messages per connection id in this chunk.
    pub connection_counts: Vec<(u32, u32)>,
    data_pos: u64,
    /// Rebuilt from a damaged region (cut off or unterminated): the size is unknown, decode leniently.
    salvaged: bool,
}

impl ChunkInfo {
    pub fn message_count(&self) -> u64 {
        self.connection_counts.iter().map(|&(_, n)| u64::from(n)).sum()
    }
}

/// Record-time bounds `start_s` seconds after a recording's `start` (none: 0), for `duration_s` seconds.
pub fn window(
    start: Option<Stamp>,
    start_s: Option<f64>,
    duration_s: Option<f64>,
) -> (Option<Stamp>, Option<Stamp>) {
    let after = |t: Stamp, s: f64| Stamp::from_nanos(t.as_nanos().saturating_add((s * 1e9) as u64));
    let begin = start.unwrap_or(Stamp::ZERO);
    let from = start_s.map(|s| after(begin, s));
    let to = duration_s.map(|d| after(from.unwrap_or(begin), d));
    (from, to)
}

/// One message: its connection, record (receive) time and serialized payload (no length prefix).
#[derive(Debug, Clone)]
pub struct BagMessage {
    pub conn: Arc<Connection>,
    /// Record time (when the recorder received it), not the header stamp.
    pub time: Stamp,
    /// Payload: a zero-copy slice of the decompressed chunk.
    pub data: Bytes,
}

impl BagMessage {
    pub fn topic(&self) -> &str {
        &self.conn.topic
    }
}

/// What [`BagReader::messages`] yields: topics (None = all) and an inclusive time range.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadOptions {
    pub topics: Option<Vec<String>>,
    pub start: Option<Stamp>,
    pub end: Option<Stamp>,
    /// Threads that read and decompress chunks ahead of the iterator (0 = auto: up to 4, one per core;
    /// 1 = none, everything on the caller's thread). Each keeps at most [`PREFETCH_DEPTH`] chunks
    /// ready, so memory stays bounded whatever the bag's size.
    pub prefetch: usize,
    /// Skip the LZ4 block and content checksums (bounds are still checked, damage still stops at the last
    /// sound block it can detect): about a third less work per byte, for storage that is trusted. ROS's
    /// own reader (roslz4) verifies, and so does sensorium by default.
    pub skip_checksums: bool,
    /// The most bytes one chunk may decompress to (0 = [`DEFAULT_MAX_CHUNK_BYTES`]). A chunk header claiming
    /// more (a damaged or hostile bag: 4 GB in a 16 MB chunk) is skipped with a warning, never allocated.
    pub max_chunk_bytes: u64,
}

/// Decompressed chunks each prefetch thread may hold ready beyond the one it is working on.
pub const PREFETCH_DEPTH: usize = 2;

/// Default cap on a chunk's uncompressed size: 1 GiB (rosbag record writes 768 KB chunks by default).
pub const DEFAULT_MAX_CHUNK_BYTES: u64 = 1 << 30;

/// What every chunk load is checked against.
#[derive(Debug, Clone, Copy)]
struct Limits {
    verify: bool,
    max_chunk: u64,
}

impl Limits {
    fn of(opts: &ReadOptions) -> Self {
        Limits {
            verify: !opts.skip_checksums,
            max_chunk: match opts.max_chunk_bytes {
                0 => DEFAULT_MAX_CHUNK_BYTES,
                n => n,
            },
        }
    }
}

impl ReadOptions {
    pub fn all() -> Self {
        Self::default()
    }

    pub fn topics<S: Into<String>>(topics: impl IntoIterator<Item = S>) -> Self {
        ReadOptions {
            topics: Some(topics.into_iter().map(Into::into).collect()),
            ..Self::default()
        }
    }
}

/// How [`BagReader::open_with`] reads a bag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenOptions {
    /// Decompress the chunks of an indexed bag straight out of a read-only memory mapping (no copy out of
    /// the page cache; uncompressed chunks are handed out as zero-copy slices of it). Default: on, unless
    /// the environment sets `SENSORIUM_BAG_MMAP=0`. Bags without a sound index are always read with
    /// positioned reads (see [`BagReader::is_mapped`]).
    pub mmap: bool,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            mmap: std::env::var_os("SENSORIUM_BAG_MMAP").is_none_or(|v| v != "0"),
        }
    }
}

/// A reader over one bag file. Cheap to query; [`BagReader::messages`] reads chunks lazily.
pub struct BagReader {
    src: Arc<Source>,
    connections: Vec<Connection>,
    conn_arcs: HashMap<u32, Arc<Connection>>,
    chunks: Vec<ChunkInfo>,
    indexed: bool,
    warnings: Mutex<Vec<BagWarning>>,
    /// Decompressed-chunk buffers, kept across [`BagReader::messages`] passes (fresh pages cost more than
    /// the decoding on a VM: 262 MB into new memory took 190–1400 ms here, into reused memory 40).
    pool: BufPool,
}

impl std::fmt::Debug for BagReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BagReader")
            .field("path", &self.src.path)
            .field("connections", &self.connections.len())
            .field("chunks", &self.chunks.len())
            .field("indexed", &self.indexed)
            .finish()
    }
}

impl BagReader {
    /// Opens a bag. Errors for files that are not bags (empty, wrong magic or version, unreadable bag header);
    /// a missing or damaged index is not an error: the chunks are then scanned (see [`BagReader::warnings`]).
    pub fn open(path: impl AsRef<Path>) -> Result<BagReader, BagError> {
        Self::open_with(path, OpenOptions::default())
    }

    /// [`BagReader::open`] with a choice of how the file is read.
    pub fn open_with(path: impl AsRef<Path>, options: OpenOptions) -> Result<BagReader, BagError> {
        let path = path.as_ref().to_path_buf();
        let file = File::open(&path).map_err(|e| io_err(&path, "opening", e))?;
        let len = file
            .metadata()
            .map_err(|e| io_err(&path, "reading metadata", e))?
            .len();
        let mut src = Source {
            file,
            path,
            len,
            map: None,
        };
        if len == 0 {
            return Err(BagError::EmptyFile { path: src.path });
        }
        let head = src.read(0, len.min(MAGIC.len() as u64), "magic")?;
        if head != MAGIC {
            let text = String::from_utf8_lossy(&head).into_owned();
            if head.starts_with(b"#ROSBAG V") {
                let version = text.trim_start_matches("#ROSBAG V").trim_end().to_string();
                return Err(BagError::UnsupportedVersion {
                    path: src.path,
                    version,
                });
            }
            return Err(BagError::NotABag {
                path: src.path,
                found: text,
            });
        }

        let hpos = MAGIC.len() as u64;
        let hrec = src.record(hpos, "bag header record")?;
        let h = hrec.header();
        let field = |r: Result<u64, String>| r.map_err(|p| src.format(hpos, "bag header record", p));
        let op = h.op().map_err(|p| src.format(hpos, "bag header record", p))?;
        if op != OP_FILE_HEADER {
            return Err(src.format(
                hpos,
                "bag header record",
                format!("op is {op:#04x}, expected 0x03"),
            ));
        }
        let index_pos = field(h.u64("index_pos"))?;
        let conn_count = field(h.u32("conn_count").map(u64::from))?;
        let chunk_count = field(h.u32("chunk_count").map(u64::from))?;
        let chunks_start = hrec.data_end();

        let mut warnings = Vec::new();
        let from_index = if index_pos == 0 {
            warnings.push(BagWarning {
                offset: hpos,
                message: "bag has no index (index_pos = 0: the recorder did not close it); \
                          rebuilding it from the chunks"
                    .into(),
            });
            None
        } else if index_pos < chunks_start || index_pos > len {
            warnings.push(BagWarning {
                offset: hpos,
                message: format!(
                    "index_pos {index_pos} lies outside the chunk section ({chunks_start}..{len}); \
                     rebuilding the index from the chunks"
                ),
            });
            None
        } else {
            match read_index(&src, index_pos, conn_count, chunk_count) {
                Ok(v) => Some(v),
                Err(e) => {
                    warnings.push(BagWarning {
                        offset: index_pos,
                        message: format!("index unreadable ({e}); rebuilding it from the chunks"),
                    });
                    None
                }
            }
        };
        let indexed = from_index.is_some();
        if indexed && options.mmap {
            src.map = map_file(&src.file, len);
        }
        let (connections, chunks) = match from_index {
            Some(v) => v,
            None => reindex(&src, chunks_start, &mut warnings),
        };
        let conn_arcs = connections.iter().map(|c| (c.id, Arc::new(c.clone()))).collect();
        Ok(BagReader {
            src: Arc::new(src),
            connections,
            conn_arcs,
            chunks,
            indexed,
            warnings: Mutex::new(warnings),
            pool: BufPool::default(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.src.path
    }

    /// File size in bytes.
    pub fn file_size(&self) -> u64 {
        self.src.len
    }

    /// Bag format version (always "2.0").
    pub fn version(&self) -> &'static str {
        "2.0"
    }

    /// Connections, sorted by id.
    pub fn connections(&self) -> &[Connection] {
        &self.connections
    }

    /// Chunks, in the order of the index (file order after a rebuild).
    pub fn chunks(&self) -> &[ChunkInfo] {
        &self.chunks
    }

    /// True when the bag's own index was used; false when it was rebuilt by scanning.
    pub fn is_indexed(&self) -> bool {
        self.indexed
    }

    /// Whether chunks are read through a memory mapping (an indexed bag, [`OpenOptions::mmap`]).
    pub fn is_mapped(&self) -> bool {
        self.src.map.is_some()
    }

    /// Earliest record time over all chunks (None without messages).
    pub fn start_time(&self) -> Option<Stamp> {
        self.chunks
            .iter()
            .filter(|c| c.message_count() > 0)
            .map(|c| c.start)
            .min()
    }

    /// Latest record time over all chunks (None without messages).
    pub fn end_time(&self) -> Option<Stamp> {
        self.chunks
            .iter()
            .filter(|c| c.message_count() > 0)
            .map(|c| c.end)
            .max()
    }

    /// Number of messages according to the index (or the rebuilt index).
    /// `[start, end]` record times for "start `start_s` seconds into the bag, for `duration_s` seconds"
    /// (`replay --start/--duration`, `bag read --start/--duration`): None leaves that end open; negative
    /// seconds count as 0 and the sums saturate.
    pub fn window(&self, start_s: Option<f64>, duration_s: Option<f64>) -> (Option<Stamp>, Option<Stamp>) {
        window(self.start_time(), start_s, duration_s)
    }

    pub fn message_count(&self) -> u64 {
        self.chunks.iter().map(ChunkInfo::message_count).sum()
    }

    /// Message count per connection id.
    pub fn connection_counts(&self) -> BTreeMap<u32, u64> {
        let mut out = BTreeMap::new();
        for c in &self.chunks {
            for &(id, n) in &c.connection_counts {
                *out.entry(id).or_insert(0) += u64::from(n);
            }
        }
        out
    }

    /// Message count per topic (topics of connections without messages count 0).
    pub fn topic_counts(&self) -> BTreeMap<String, u64> {
        let per_conn = self.connection_counts();
        let mut out = BTreeMap::new();
        for c in &self.connections {
            *out.entry(c.topic.clone()).or_insert(0) += per_conn.get(&c.id).copied().unwrap_or(0);
        }
        out
    }

    /// The decompressor's share of a pass, measured alone: the chunk data of every compressed chunk is read
    /// into memory first (not timed), then `threads` threads decompress all of it (chunk `k` on thread
    /// `k % threads`, each into one reused buffer, checksums not verified): no I/O, no mapping, no record
    /// parsing, no channels. Returns the seconds the decompression took: the floor under
    /// [`BagReader::messages`] on this machine. The `bag_read` benchmark prints it beside `cat`, so that a
    /// reader's figure can be told from its decoder's.
    pub fn decompress_only(&self, threads: usize) -> Result<f64, BagError> {
        let mut inputs = Vec::new();
        for c in self
            .chunks
            .iter()
            .filter(|c| c.compression != Compression::None && !c.salvaged)
        {
            let data = self.src.read(c.data_pos, c.compressed_size, "chunk data")?;
            inputs.push((c.compression, data, c.uncompressed_size as usize));
        }
        let threads = threads.max(1);
        let t = std::time::Instant::now();
        std::thread::scope(|s| {
            for w in 0..threads {
                let inputs = &inputs;
                s.spawn(move || {
                    let mut out = Vec::new();
                    for (comp, data, expected) in inputs.iter().skip(w).step_by(threads) {
                        out = decompress_from(*comp, data, Some(*expected), out, false).0;
                    }
                });
            }
        });
        Ok(t.elapsed().as_secs_f64())
    }

    /// Damage found so far (while opening and while reading messages), each with its byte offset.
    pub fn warnings(&self) -> Vec<BagWarning> {
        self.warnings.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn warn(&self, offset: u64, message: String) {
        let w = BagWarning { offset, message };
        let mut ws = self.warnings.lock().unwrap_or_else(|e| e.into_inner());
        if !ws.contains(&w) {
            ws.push(w);
        }
    }

    /// Messages in record-time order (ties in file order), filtered by topic and inclusive time range.
    /// Chunks without a wanted connection or outside the range are neither read nor decompressed.
    /// A damaged chunk yields the messages before the damage and adds a warning; I/O errors are `Err` items
    /// (iteration can go on with the next chunk).
    pub fn messages(&self, opts: &ReadOptions) -> Messages<'_> {
        let wanted: Option<HashSet<u32>> = opts.topics.as_ref().map(|topics| {
            self.connections
                .iter()
                .filter(|c| topics.contains(&c.topic))
                .map(|c| c.id)
                .collect()
        });
        let mut order: Vec<&ChunkInfo> = self
            .chunks
            .iter()
            .filter(|c| {
                let conn_ok = match &wanted {
                    Some(w) => c.connection_counts.iter().any(|(id, n)| *n > 0 && w.contains(id)),
                    None => c.message_count() > 0,
                };
                conn_ok && opts.start.is_none_or(|s| c.end >= s) && opts.end.is_none_or(|e| c.start <= e)
            })
            .collect();
        order.sort_by_key(|c| (c.start, c.pos));
        let pool = self.pool.clone();
        let lanes = match opts.prefetch {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get().min(4)),
            n => n,
        }
        .min(order.len());
        let prefetch = (lanes > 1).then(|| {
            let chunks = order.iter().map(|&c| c.clone()).collect();
            Prefetch::start(&self.src, chunks, lanes, &pool, Limits::of(opts))
        });
        Messages {
            reader: self,
            order,
            prefetch,
            limits: Limits::of(opts),
            next: 0,
            heap: BinaryHeap::new(),
            seq: 0,
            wanted,
            start: opts.start,
            end: opts.end,
            scratch: Vec::new(),
            pool,
            chunks_read: 0,
        }
    }
}
