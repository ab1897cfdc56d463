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

/// The file, with bounds-checked positioned reads, and for a finished (indexed) bag a read-only mapping
/// that chunk data are decompressed from without a copy.
struct Source {
    file: File,
    path: PathBuf,
    len: u64,
    map: Option<Arc<memmap2::Mmap>>,
}

/// A mapping as the owner of zero-copy [`Bytes`] (payloads of uncompressed chunks).
struct MapOwner(Arc<memmap2::Mmap>);

impl AsRef<[u8]> for MapOwner {
    fn as_ref(&self) -> &[u8] {
        &self.0
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

/// Maps `file` read-only (`len` bytes), or None where mapping fails.
///
/// A mapping is only made for bags with a sound index: a closed recording. Bytes of a mapped file that is
/// truncated while it is read would fault (SIGBUS), and the file a recorder is still writing is exactly the
/// one without an index (read with `pread`).
#[allow(unsafe_code)] // a file mapping: see the SAFETY comment
fn map_file(file: &File, len: u64) -> Option<Arc<memmap2::Mmap>> {
    if len == 0 {
        return None;
    }
    // SAFETY: the mapping is read-only and private to this process; see above for truncation.
    let map = unsafe {
        memmap2::MmapOptions::new()
            .len(usize::try_from(len).ok()?)
            .map(file)
    }
    .ok()?;
    #[cfg(unix)]
    {
        // chunks are read front to back: read-ahead as far as the kernel likes (advice only)
        let _ = map.advise(memmap2::Advice::Sequential);
    }
    Some(Arc::new(map))
}

/// A record header read from the file; its data is not read.
struct FileRecord {
    header: Vec<u8>,
    data_pos: u64,
    data_len: u64,
}

impl FileRecord {
    fn header(&self) -> Header<'_> {
        // Validated when read.
        Header::parse(&self.header).unwrap_or(Header::EMPTY)
    }
    fn data_end(&self) -> u64 {
        self.data_pos + self.data_len
    }
}

impl Source {
    /// The mapped bytes `pos..pos + len` as a zero-copy slice of the mapping: None without a mapping, an
    /// error past the end of file.
    fn mapped(&self, pos: u64, len: u64, what: &'static str) -> Result<Option<Bytes>, BagError> {
        let Some(map) = &self.map else {
            return Ok(None);
        };
        let range = pos
            .checked_add(len)
            .filter(|&e| e <= self.len)
            .and_then(|e| Some(usize::try_from(pos).ok()?..usize::try_from(e).ok()?))
            .filter(|r| r.end <= map.len());
        match range {
            Some(r) => Ok(Some(Bytes::from_owner(MapOwner(Arc::clone(map))).slice(r))),
            None => Err(self.format(
                pos,
                what,
                format!(
                    "needs {len} bytes, file ends after {} bytes",
                    self.len.saturating_sub(pos)
                ),
            )),
        }
    }

    fn format(&self, offset: u64, what: &'static str, problem: impl Into<String>) -> BagError {
        BagError::Format {
            path: self.path.clone(),
            offset,
            what,
            problem: problem.into(),
        }
    }

    /// Reads `len` bytes at `pos` into `buf` (replacing its contents); errors if they are not all in the file.
    fn read_into(&self, pos: u64, len: u64, buf: &mut Vec<u8>, what: &'static str) -> Result<(), BagError> {
        let end = pos.checked_add(len).filter(|&e| e <= self.len).ok_or_else(|| {
            self.format(
                pos,
                what,
                format!(
                    "needs {len} bytes, file ends after {} bytes",
                    self.len.saturating_sub(pos)
                ),
            )
        })?;
        let n = usize::try_from(end - pos).map_err(|_| self.format(pos, what, "larger than memory"))?;
        buf.clear();
        buf.resize(n, 0);
        read_exact_at(&self.file, buf, pos)
            .map_err(|e| io_err(&self.path, format!("reading {what} at byte {pos}"), e))
    }

    fn read(&self, pos: u64, len: u64, what: &'static str) -> Result<Vec<u8>, BagError> {
        let mut v = Vec::new();
        self.read_into(pos, len, &mut v, what)?;
        Ok(v)
    }

    fn u32_at(&self, pos: u64, what: &'static str) -> Result<u32, BagError> {
        let b = self.read(pos, 4, what)?;
        record::le_u32(&b, 0).ok_or_else(|| self.format(pos, what, "cut off"))
    }

    /// Reads the header of the record at `pos` and its data length (the data may run past the end of file).
    fn record_head(&self, pos: u64) -> Result<FileRecord, BagError> {
        let hlen = self.u32_at(pos, "record header length")?;
        let header = self.read(pos + 4, u64::from(hlen), "record header")?;
        Header::parse(&header).map_err(|p| self.format(pos, "record header", p))?;
        let dlen_pos = pos + 4 + u64::from(hlen);
        let data_len = u64::from(self.u32_at(dlen_pos, "record data length")?);
        Ok(FileRecord {
            header,
            data_pos: dlen_pos + 4,
            data_len,
        })
    }

    /// A record whose data lies entirely within the file.
    fn record(&self, pos: u64, what: &'static str) -> Result<FileRecord, BagError> {
        let r = self.record_head(pos)?;
        if r.data_end() > self.len {
            return Err(self.format(
                pos,
                what,
                format!(
                    "record data claims {} bytes, file ends after {}",
                    r.data_len,
                    self.len - r.data_pos
                ),
            ));
        }
        Ok(r)
    }
}

#[cfg(unix)]
fn read_exact_at(file: &File, buf: &mut [u8], pos: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, pos)
}

#[cfg(windows)]
fn read_exact_at(file: &File, mut buf: &mut [u8], mut pos: u64) -> std::io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        match file.seek_read(buf, pos) {
            Ok(0) => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => {
                buf = &mut buf[n..];
                pos += n as u64;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
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
        let after = |t: Stamp, s: f64| Stamp::from_nanos(t.as_nanos().saturating_add((s * 1e9) as u64));
        let bag_start = self.start_time().unwrap_or(Stamp::ZERO);
        let from = start_s.map(|s| after(bag_start, s));
        let to = duration_s.map(|d| after(from.unwrap_or(bag_start), d));
        (from, to)
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

/// Reads and decompresses one chunk into a buffer from `pool` (returned there when the last message slice
/// of the chunk is dropped, so its pages stay mapped). Damage is not an error: the sound prefix is returned
/// with the problem, for the caller to report as a warning.
fn load_chunk(
    src: &Source,
    chunk: &ChunkInfo,
    scratch: &mut Vec<u8>,
    pool: &BufPool,
    limits: Limits,
) -> Result<(Bytes, Option<String>), BagError> {
    if chunk.uncompressed_size > limits.max_chunk {
        return Ok((
            Bytes::new(),
            Some(format!(
                "claims {} bytes uncompressed, over the cap of {} (ReadOptions::max_chunk_bytes): skipped",
                chunk.uncompressed_size, limits.max_chunk
            )),
        ));
    }
    let verify = limits.verify;
    let expected = (!chunk.salvaged).then_some(chunk.uncompressed_size as usize);
    if let Some(bytes) = src.mapped(chunk.data_pos, chunk.compressed_size, "chunk data")? {
        if chunk.compression == Compression::None {
            // zero-copy: the payloads are slices of the mapping (`expected` is None for a salvaged chunk)
            let problem = uncompressed_size_problem(bytes.len(), expected);
            return Ok((bytes, problem));
        }
        let (data, problem) = decompress_from(chunk.compression, &bytes, expected, pool.take(), verify);
        return Ok((pool.wrap(data), problem.filter(|_| !chunk.salvaged)));
    }
    let out = pool.take();
    let d = if chunk.compression == Compression::None {
        let mut raw = out;
        src.read_into(chunk.data_pos, chunk.compressed_size, &mut raw, "chunk data")?;
        decompress(Compression::None, raw, expected, Vec::new(), verify)
    } else {
        src.read_into(chunk.data_pos, chunk.compressed_size, scratch, "chunk data")?;
        let mut d = decompress(chunk.compression, std::mem::take(scratch), expected, out, verify);
        *scratch = std::mem::take(&mut d.input); // reuse the compressed buffer for the next chunk
        d
    };
    let problem = d.problem.filter(|_| !chunk.salvaged);
    Ok((pool.wrap(d.data), problem))
}

type Loaded = Result<(Bytes, Option<String>), BagError>;

/// Threads reading and decompressing the chunks of a [`Messages`] ahead of it, in its order: thread `w` of
/// `T` loads chunks `w, w + T, w + 2T, …` into its own bounded channel, so the iterator takes chunk `k`
/// from channel `k % T` and gets them in order without a reorder buffer. Dropping it stops the threads
/// (their next send fails) and joins them.
struct Prefetch {
    lanes: usize,
    rxs: Vec<std::sync::mpsc::Receiver<Loaded>>,
    handles: Vec<std::thread::JoinHandle<()>>,
    taken: usize,
}

impl Prefetch {
    fn start(
        src: &Arc<Source>,
        chunks: Vec<ChunkInfo>,
        threads: usize,
        pool: &BufPool,
        limits: Limits,
    ) -> Prefetch {
        let chunks = Arc::new(chunks);
        let mut rxs = Vec::with_capacity(threads);
        let mut handles = Vec::with_capacity(threads);
        for w in 0..threads {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Loaded>(PREFETCH_DEPTH);
            let (src, chunks, pool) = (Arc::clone(src), Arc::clone(&chunks), pool.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("bag-prefetch-{w}"))
                .spawn(move || {
                    let mut scratch = Vec::new();
                    for c in chunks.iter().skip(w).step_by(threads) {
                        if tx.send(load_chunk(&src, c, &mut scratch, &pool, limits)).is_err() {
                            return;
                        }
                    }
                });
            match spawned {
                Ok(h) => {
                    rxs.push(rx);
                    handles.push(h);
                }
                // no thread: the chunks of this lane are loaded on the caller's thread (see `next`)
                Err(_) => break,
            }
        }
        Prefetch {
            lanes: threads,
            rxs,
            handles,
            taken: 0,
        }
    }

    /// The next chunk in order, or None when its lane has no thread (then the caller loads it).
    fn next(&mut self) -> Option<Loaded> {
        let lane = self.taken % self.lanes;
        self.taken += 1;
        self.rxs.get(lane).and_then(|rx| rx.recv().ok())
    }
}

impl Drop for Prefetch {
    fn drop(&mut self) {
        self.rxs.clear();
        for h in self.handles.drain(..) {
            let _ = h.join();
        }
    }
}

/// Recycles decompressed-chunk buffers: a chunk's buffer comes back when its last [`Bytes`] slice is dropped.
#[derive(Default, Clone)]
struct BufPool(Arc<Mutex<Vec<Vec<u8>>>>);

/// Owner of a pooled buffer inside [`Bytes`].
struct Pooled {
    buf: Vec<u8>,
    pool: std::sync::Weak<Mutex<Vec<Vec<u8>>>>,
}

impl AsRef<[u8]> for Pooled {
    fn as_ref(&self) -> &[u8] {
        &self.buf
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        if let Some(pool) = self.pool.upgrade() {
            let mut p = pool.lock().unwrap_or_else(|e| e.into_inner());
            if p.len() < 4 + 4 * PREFETCH_DEPTH {
                p.push(std::mem::take(&mut self.buf));
            }
        }
    }
}

impl BufPool {
    fn take(&self) -> Vec<u8> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop()
            .unwrap_or_default()
    }

    fn wrap(&self, buf: Vec<u8>) -> Bytes {
        Bytes::from_owner(Pooled {
            buf,
            pool: Arc::downgrade(&self.0),
        })
    }
}

/// A message record found in a decompressed chunk.
struct MsgRef {
    conn: u32,
    time: Stamp,
    data: std::ops::Range<usize>,
}

/// Walks the records of a decompressed chunk. Returns the offset and problem where the walk had to stop.
fn scan_chunk(
    buf: &[u8],
    mut on_msg: impl FnMut(MsgRef),
    mut on_conn: impl FnMut(u32, String, &[u8]),
) -> Option<(usize, String)> {
    let mut pos = 0;
    while pos < buf.len() {
        let rec = match record::record_at(buf, pos) {
            Ok(r) => r,
            Err(p) => return Some((pos, p)),
        };
        match rec.header.op() {
            Ok(OP_MSG_DATA) => match (rec.header.u32("conn"), rec.header.time("time")) {
                (Ok(conn), Ok(time)) => on_msg(MsgRef {
                    conn,
                    time,
                    data: rec.data,
                }),
                (Err(p), _) | (_, Err(p)) => return Some((pos, format!("message record: {p}"))),
            },
            Ok(OP_CONNECTION) => match (rec.header.u32("conn"), rec.header.string("topic")) {
                (Ok(id), Ok(topic)) => match buf.get(rec.data) {
                    Some(data) => on_conn(id, topic, data),
                    None => return Some((pos, "connection record: data out of the chunk".into())),
                },
                (Err(p), _) | (_, Err(p)) => return Some((pos, format!("connection record: {p}"))),
            },
            Ok(_) => {}
            Err(p) => return Some((pos, p)),
        }
        pos = rec.end;
    }
    None
}

/// Builds a connection from its record header (id, topic) and data (the connection header fields).
fn parse_connection(id: u32, topic: String, data: &[u8]) -> Result<Connection, String> {
    let h = Header::parse(data)?;
    Ok(Connection {
        id,
        topic,
        datatype: h.opt_string("type").unwrap_or_default(),
        md5sum: h.opt_string("md5sum").unwrap_or_default(),
        message_definition: h.opt_string("message_definition").unwrap_or_default(),
        callerid: h.opt_string("callerid"),
        latching: h.get("latching").is_some_and(|v| v == b"1"),
    })
}

/// Reads the index section: connection records, chunk-info records, then each chunk's record header.
fn read_index(
    src: &Source,
    index_pos: u64,
    conn_count: u64,
    chunk_count: u64,
) -> Result<(Vec<Connection>, Vec<ChunkInfo>), BagError> {
    let mut pos = index_pos;
    let mut connections: Vec<Connection> = Vec::new();
    for _ in 0..conn_count {
        let r = src.record(pos, "connection record")?;
        let h = r.header();
        let fmt = |p: String| src.format(pos, "connection record", p);
        let op = h.op().map_err(fmt)?;
        if op != OP_CONNECTION {
            return Err(fmt(format!("op is {op:#04x}, expected 0x07")));
        }
        let id = h.u32("conn").map_err(fmt)?;
        let topic = h.string("topic").map_err(fmt)?;
        let data = src.read(r.data_pos, r.data_len, "connection header")?;
        let conn = parse_connection(id, topic, &data).map_err(fmt)?;
        if !connections.iter().any(|c| c.id == id) {
            connections.push(conn);
        }
        pos = r.data_end();
    }
    connections.sort_by_key(|c| c.id);

    let mut chunks = Vec::new();
    for _ in 0..chunk_count {
        let r = src.record(pos, "chunk info record")?;
        let h = r.header();
        let fmt = |p: String| src.format(pos, "chunk info record", p);
        let op = h.op().map_err(fmt)?;
        if op != OP_CHUNK_INFO {
            return Err(fmt(format!("op is {op:#04x}, expected 0x06")));
        }
        let ver = h.u32("ver").map_err(fmt)?;
        if ver != 1 {
            return Err(fmt(format!("chunk info version {ver}, expected 1")));
        }
        let chunk_pos = h.u64("chunk_pos").map_err(fmt)?;
        let start = h.time("start_time").map_err(fmt)?;
        let end = h.time("end_time").map_err(fmt)?;
        let count = u64::from(h.u32("count").map_err(fmt)?);
        if count * 8 != r.data_len {
            return Err(fmt(format!(
                "{count} connection counts need {} bytes, record has {}",
                count * 8,
                r.data_len
            )));
        }
        let data = src.read(r.data_pos, r.data_len, "chunk info data")?;
        let connection_counts = data
            .chunks_exact(8)
            .filter_map(|p| Some((record::le_u32(p, 0)?, record::le_u32(p, 4)?)))
            .collect();
        chunks.push(ChunkInfo {
            pos: chunk_pos,
            start,
            end,
            compression: Compression::None,
            compressed_size: 0,
            uncompressed_size: 0,
            connection_counts,
            data_pos: 0,
            salvaged: false,
        });
        pos = r.data_end();
    }

    for c in &mut chunks {
        let r = src.record(c.pos, "chunk record")?;
        let h = r.header();
        let fmt = |p: String| src.format(c.pos, "chunk record", p);
        let op = h.op().map_err(fmt)?;
        if op != OP_CHUNK {
            return Err(fmt(format!("op is {op:#04x}, expected 0x05")));
        }
        let name = h
            .get("compression")
            .ok_or_else(|| fmt("no 'compression' field".into()))?;
        c.compression = Compression::from_name(name)
            .ok_or_else(|| fmt(format!("unknown compression {:?}", String::from_utf8_lossy(name))))?;
        c.uncompressed_size = u64::from(h.u32("size").map_err(fmt)?);
        c.data_pos = r.data_pos;
        c.compressed_size = r.data_len;
    }
    Ok((connections, chunks))
}

/// Rebuilds connections and chunk infos by walking the records from `pos` to the end of the file, as far as
/// they are sound (like `rosbag reindex`, but also recovering the records of a cut-off or unterminated chunk).
fn reindex(src: &Source, mut pos: u64, warnings: &mut Vec<BagWarning>) -> (Vec<Connection>, Vec<ChunkInfo>) {
    let mut conns: BTreeMap<u32, Connection> = BTreeMap::new();
    let mut chunks = Vec::new();
    let mut scratch = Vec::new();
    let mut unknown_conns: HashSet<u32> = HashSet::new();
    while pos < src.len {
        let r = match src.record_head(pos) {
            Ok(r) => r,
            Err(e) => {
                warnings.push(BagWarning {
                    offset: pos,
                    message: format!("scan stopped: {e}"),
                });
                break;
            }
        };
        let h = r.header();
        let op = match h.op() {
            Ok(op) => op,
            Err(p) => {
                warnings.push(BagWarning {
                    offset: pos,
                    message: format!("scan stopped: record header: {p}"),
                });
                break;
            }
        };
        let cut_off = r.data_end() > src.len;
        if op == OP_CHUNK {
            let Some(compression) = h.get("compression").and_then(Compression::from_name) else {
                warnings.push(BagWarning {
                    offset: pos,
                    message: "chunk with missing or unknown compression skipped".into(),
                });
                if cut_off {
                    break;
                }
                pos = r.data_end();
                continue;
            };
            let size = h.u32("size").unwrap_or(0);
            let unterminated = r.data_len == 0;
            let salvaged = unterminated || cut_off;
            let available = if salvaged {
                src.len - r.data_pos
            } else {
                r.data_len
            };
            if unterminated {
                warnings.push(BagWarning {
                    offset: pos,
                    message: format!(
                        "unterminated chunk (recorder stopped while writing it): recovering records from the \
                         {available} bytes that follow"
                    ),
                });
            } else if cut_off {
                warnings.push(BagWarning {
                    offset: pos,
                    message: format!(
                        "chunk cut off by the end of the file: {available} of {} bytes present; recovering \
                         the complete records",
                        r.data_len
                    ),
                });
            }
            let mut info = ChunkInfo {
                pos,
                start: Stamp::ZERO,
                end: Stamp::ZERO,
                compression,
                compressed_size: available,
                uncompressed_size: u64::from(size),
                connection_counts: Vec::new(),
                data_pos: r.data_pos,
                salvaged,
            };
            match src.read_into(r.data_pos, available, &mut scratch, "chunk data") {
                Ok(()) => {
                    let expected = (!salvaged).then_some(size as usize);
                    let d = decompress(
                        compression,
                        std::mem::take(&mut scratch),
                        expected,
                        Vec::new(),
                        true,
                    );
                    if let Some(p) = &d.problem {
                        warnings.push(BagWarning {
                            offset: pos,
                            message: format!("chunk: {p}"),
                        });
                    }
                    let mut counts: BTreeMap<u32, u32> = BTreeMap::new();
                    let mut range: Option<(Stamp, Stamp)> = None;
                    let stop = scan_chunk(
                        &d.data,
                        |m| {
                            *counts.entry(m.conn).or_insert(0) += 1;
                            range = Some(match range {
                                None => (m.time, m.time),
                                Some((s, e)) => (s.min(m.time), e.max(m.time)),
                            });
                        },
                        |id, topic, data| match parse_connection(id, topic, data) {
                            Ok(c) => {
                                conns.entry(id).or_insert(c);
                            }
                            Err(p) => warnings.push(BagWarning {
                                offset: pos,
                                message: format!("chunk: connection record {id} unreadable: {p}"),
                            }),
                        },
                    );
                    if let Some((off, p)) = stop {
                        // Inside a salvaged chunk the last record is expected to be cut off.
                        if !salvaged || d.problem.is_none() {
                            warnings.push(BagWarning {
                                offset: pos,
                                message: format!(
                                    "chunk: records end early at uncompressed offset {off}: {p}"
                                ),
                            });
                        }
                    }
                    if salvaged && compression == Compression::None {
                        info.uncompressed_size = d.data.len() as u64;
                    }
                    scratch = if d.input.capacity() > 0 { d.input } else { d.data };
                    if let Some((s, e)) = range {
                        info.start = s;
                        info.end = e;
                        info.connection_counts = counts.into_iter().collect();
                        chunks.push(info);
                    }
                }
                Err(e) => warnings.push(BagWarning {
                    offset: pos,
                    message: format!("chunk unreadable: {e}"),
                }),
            }
            if salvaged {
                break;
            }
        } else if cut_off {
            warnings.push(BagWarning {
                offset: pos,
                message: format!("record (op {op:#04x}) cut off by the end of the file; scan stopped"),
            });
            break;
        } else if op == OP_CONNECTION {
            // Connection records of the index section (or written outside chunks by old recorders).
            let parsed = match (h.u32("conn"), h.string("topic")) {
                (Ok(id), Ok(topic)) => src
                    .read(r.data_pos, r.data_len, "connection header")
                    .map_err(|e| e.to_string())
                    .and_then(|d| parse_connection(id, topic, &d)),
                (Err(p), _) | (_, Err(p)) => Err(p),
            };
            match parsed {
                Ok(c) => {
                    conns.entry(c.id).or_insert(c);
                }
                Err(p) => warnings.push(BagWarning {
                    offset: pos,
                    message: format!("connection record unreadable: {p}"),
                }),
            }
        }
        pos = r.data_end();
    }
    // Messages of connections whose record was lost cannot be attributed: drop them with a warning.
    for c in &mut chunks {
        c.connection_counts.retain(|(id, n)| {
            let known = conns.contains_key(id);
            if !known && unknown_conns.insert(*id) {
                warnings.push(BagWarning {
                    offset: c.pos,
                    message: format!(
                        "{n} message(s) of connection {id}, whose connection record is missing, skipped"
                    ),
                });
            }
            known
        });
    }
    chunks.retain(|c| c.message_count() > 0);
    (conns.into_values().collect(), chunks)
}

struct Pending {
    key: (Stamp, u64),
    msg: BagMessage,
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pending {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key.cmp(&other.key)
    }
}

/// Iterator over messages in time order (see [`BagReader::messages`]).
pub struct Messages<'a> {
    reader: &'a BagReader,
    /// Chunks to visit, sorted by start time.
    order: Vec<&'a ChunkInfo>,
    /// Threads loading the chunks of `order` ahead (None: loaded here, on demand).
    prefetch: Option<Prefetch>,
    limits: Limits,
    next: usize,
    heap: BinaryHeap<Reverse<Pending>>,
    seq: u64,
    wanted: Option<HashSet<u32>>,
    start: Option<Stamp>,
    end: Option<Stamp>,
    scratch: Vec<u8>,
    pool: BufPool,
    chunks_read: usize,
}

impl Messages<'_> {
    /// Chunks read and decompressed so far (chunks without wanted messages are never read).
    pub fn chunks_read(&self) -> usize {
        self.chunks_read
    }

    fn load(&mut self, chunk: &ChunkInfo) -> Result<(), BagError> {
        let reader = self.reader;
        let loaded = match self.prefetch.as_mut().and_then(Prefetch::next) {
            Some(l) => l,
            None => load_chunk(&reader.src, chunk, &mut self.scratch, &self.pool, self.limits),
        };
        let (data, problem) = loaded?;
        if let Some(p) = problem {
            reader.warn(chunk.pos, format!("chunk: {p}"));
        }
        self.chunks_read += 1;
        let mut unknown: Vec<u32> = Vec::new();
        let mut earliest: Option<Stamp> = None;
        let (heap, seq, wanted, start, end) =
            (&mut self.heap, &mut self.seq, &self.wanted, self.start, self.end);
        let stop = scan_chunk(
            &data,
            |m| {
                if earliest.is_none_or(|e| m.time < e) {
                    earliest = Some(m.time);
                }
                if wanted.as_ref().is_some_and(|w| !w.contains(&m.conn))
                    || start.is_some_and(|s| m.time < s)
                    || end.is_some_and(|e| m.time > e)
                {
                    return;
                }
                let Some(conn) = reader.conn_arcs.get(&m.conn) else {
                    if !unknown.contains(&m.conn) {
                        unknown.push(m.conn);
                    }
                    return;
                };
                *seq += 1;
                heap.push(Reverse(Pending {
                    key: (m.time, *seq),
                    msg: BagMessage {
                        conn: Arc::clone(conn),
                        time: m.time,
                        data: data.slice(m.data),
                    },
                }));
            },
            |_, _, _| {},
        );
        if let Some((off, p)) = stop {
            if !chunk.salvaged {
                reader.warn(
                    chunk.pos,
                    format!("chunk: records end early at uncompressed offset {off}: {p}"),
                );
            }
        }
        if let Some(e) = earliest.filter(|e| *e < chunk.start) {
            // The merge trusts chunk infos' start times; a damaged one breaks the order guarantee.
            reader.warn(
                chunk.pos,
                format!(
                    "chunk info says its messages start at {} but the chunk holds one at {e}: \
                     messages near it may come out of time order",
                    chunk.start
                ),
            );
        }
        for id in unknown {
            if self.wanted.is_none() {
                reader.warn(
                    chunk.pos,
                    format!("messages of connection {id}, which has no connection record, skipped"),
                );
            }
        }
        Ok(())
    }
}

impl Iterator for Messages<'_> {
    type Item = Result<BagMessage, BagError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            // A chunk starting no later than the earliest pending message may hold earlier messages: load it.
            while let Some(&chunk) = self.order.get(self.next) {
                let due = match self.heap.peek() {
                    None => true,
                    Some(Reverse(p)) => chunk.start <= p.key.0,
                };
                if !due {
                    break;
                }
                self.next += 1;
                if let Err(e) = self.load(chunk) {
                    return Some(Err(e));
                }
            }
            match self.heap.pop() {
                Some(Reverse(p)) => return Some(Ok(p.msg)),
                None if self.next >= self.order.len() => return None,
                None => continue,
            }
        }
    }
}
