//! ROS 2 recordings: MCAP files (`ros2 bag record -s mcap`, Foxglove, `rosbags`), rosbag2 sqlite3 files
//! (`.db3`) and rosbag2 folders (`metadata.yaml` beside the recorded files), read into the same
//! [`BagMessage`]s as ROS1 bags:
//! the connection's datatype is the ROS 2 type name (`sensor_msgs/msg/Image`), the payload its CDR bytes,
//! the time the message's log (receive) time.
//!
//! Damage is read as far as it is sound, as for ROS1 bags: a file cut short (no end magic, no summary)
//! yields the messages before the cut, a chunk whose CRC does not match ends the file's messages there,
//! each with a warning; a damaged sqlite3 file ends its messages at the first error.

mod records;
mod sqlite;
mod writer;

pub use writer::McapWriter;

use crate::error::{BagError, BagWarning};
use crate::reader::{BagMessage, Connection, ReadOptions};
use bytes::Bytes;
use sensorium_core::Stamp;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The first 8 bytes of every MCAP file.
pub const MCAP_MAGIC: &[u8; 8] = b"\x89MCAP0\r\n";

/// The first 16 bytes of every SQLite 3 database (rosbag2's `.db3`).
pub const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// One file of a ROS 2 recording.
enum Ros2File {
    Mcap(McapFile),
    Sqlite(sqlite::SqliteFile),
}

impl Ros2File {
    fn open(path: &Path) -> Result<Ros2File, BagError> {
        let mut head = [0u8; 16];
        let n = std::fs::File::open(path)
            .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
            .map_err(|e| BagError::Io {
                path: path.to_path_buf(),
                what: "reading the magic".into(),
                source: e,
            })?;
        if n == 16 && &head == SQLITE_MAGIC {
            sqlite::SqliteFile::open(path).map(Ros2File::Sqlite)
        } else {
            McapFile::open(path).map(Ros2File::Mcap)
        }
    }

    fn path(&self) -> &Path {
        match self {
            Ros2File::Mcap(f) => &f.path,
            Ros2File::Sqlite(f) => &f.path,
        }
    }

    fn census(&self, into: &mut Census, warnings: &mut Vec<BagWarning>) {
        match self {
            Ros2File::Mcap(f) => f.census(into, warnings),
            Ros2File::Sqlite(f) => match f.census() {
                Ok((topics, span)) => {
                    for (topic, ty, n) in topics {
                        *into.counts.entry(topic.clone()).or_default() += n;
                        into.types.entry(topic).or_insert(ty);
                    }
                    if let Some((lo, hi)) = span {
                        into.start = Some(into.start.map_or(lo, |s| s.min(lo)));
                        into.end = Some(into.end.map_or(hi, |e| e.max(hi)));
                    }
                }
                Err(e) => warnings.push(warning(f.path.as_path(), e.to_string())),
            },
        }
    }
}

enum Data {
    Mapped(Arc<memmap2::Mmap>),
    Owned(Vec<u8>),
}

impl Data {
    fn bytes(&self) -> &[u8] {
        match self {
            Data::Mapped(m) => m,
            Data::Owned(v) => v,
        }
    }
}

/// One MCAP file, mapped (a finished file) or read (one still being written, or cut short).
struct McapFile {
    path: PathBuf,
    data: Data,
}

/// The most bytes one MCAP record may hold (a chunk's records after decompression too): a record
/// claiming more (a damaged or hostile file) ends what is read of the file, with an error, rather than
/// being allocated. Recorders write chunks of 1 to a few MB.
pub const MAX_CHUNK_BYTES: u64 = 512 << 20;

/// Per topic: its type and message count; the time span.
#[derive(Debug, Clone, Default)]
struct Census {
    types: BTreeMap<String, String>,
    counts: BTreeMap<String, u64>,
    start: Option<u64>,
    end: Option<u64>,
}

/// An MCAP file or a rosbag2 folder of MCAP files.
pub struct Ros2Bag {
    path: PathBuf,
    files: Vec<Ros2File>,
    census: Census,
    warnings: Mutex<Vec<BagWarning>>,
}

fn mcap_err(path: &Path, problem: impl std::fmt::Display) -> BagError {
    BagError::Ros2 {
        path: path.to_path_buf(),
        what: "MCAP",
        problem: problem.to_string(),
    }
}

/// The datatype a channel's messages carry: its schema's name (ROS 2: `pkg/msg/Name`); a channel with
/// another message encoding than CDR is marked with it, so that decoding names it.
fn datatype_of(schema: Option<&str>, message_encoding: &str) -> String {
    let schema = schema.unwrap_or("(no schema)");
    if message_encoding == "cdr" {
        schema.to_string()
    } else {
        format!("{schema} ({message_encoding} encoded)")
    }
}

fn warning(path: &Path, message: String) -> BagWarning {
    BagWarning {
        offset: 0,
        message: format!("{}: {message}", path.display()),
    }
}

/// A channel as the stream knows it: its topic and the datatype its messages carry.
struct StreamChannel {
    conn: Arc<Connection>,
}

/// One message out of [`Stream`].
struct RawMessage {
    channel: Arc<StreamChannel>,
    log_time: u64,
    data: Vec<u8>,
}

/// The messages of an MCAP buffer in file order, chunks decompressed as they come, CRCs checked, and
/// every record (inside chunks too) limited to [`MAX_CHUNK_BYTES`]: a record length claimed by damaged
/// bytes is an error, never an allocation (the mcap crate's own `MessageStream` sets no such limit).
struct Stream<'a> {
    buf: &'a [u8],
    reader: mcap::sans_io::LinearReader,
    /// id → (name, definition)
    schemas: HashMap<u16, (String, Vec<u8>)>,
    channels: HashMap<u16, Arc<StreamChannel>>,
    done: bool,
}

impl<'a> Stream<'a> {
    fn new(buf: &'a [u8]) -> Stream<'a> {
        let limit = usize::try_from(MAX_CHUNK_BYTES).unwrap_or(usize::MAX);
        Stream {
            buf,
            reader: mcap::sans_io::LinearReader::new_with_options(
                mcap::sans_io::LinearReaderOptions::default()
                    .with_record_length_limit(limit)
                    .with_skip_end_magic(true)
                    .with_validate_chunk_crcs(true),
            ),
            schemas: HashMap::new(),
            channels: HashMap::new(),
            done: false,
        }
    }
}

impl Iterator for Stream<'_> {
    type Item = Result<RawMessage, String>;

    fn next(&mut self) -> Option<Self::Item> {
        use mcap::sans_io::LinearReadEvent;
        if self.done {
            return None;
        }
        while let Some(event) = self.reader.next_event() {
            let (opcode, data) = match event {
                Ok(LinearReadEvent::ReadRequest(need)) => {
                    let n = need.min(self.buf.len());
                    let (head, rest) = self.buf.split_at(n);
                    self.reader.insert(n).copy_from_slice(head);
                    self.reader.notify_read(n);
                    self.buf = rest;
                    continue;
                }
                Ok(LinearReadEvent::Record { data, opcode }) => (opcode, data),
                Err(e) => {
                    self.done = true;
                    return Some(Err(e.to_string()));
                }
            };
            let bad = |what: &str| format!("a {what} record that does not parse ({} bytes)", data.len());
            match opcode {
                records::OP_SCHEMA => match records::schema(data) {
                    Some(r) => {
                        self.schemas.insert(r.id, (r.name, r.data));
                    }
                    None => {
                        self.done = true;
                        return Some(Err(bad("schema")));
                    }
                },
                records::OP_CHANNEL => {
                    let Some(ch) = records::channel(data) else {
                        self.done = true;
                        return Some(Err(bad("channel")));
                    };
                    let schema = self.schemas.get(&ch.schema_id);
                    let conn = Connection {
                        id: u32::from(ch.id),
                        datatype: datatype_of(schema.map(|s| s.0.as_str()), &ch.message_encoding),
                        topic: ch.topic,
                        md5sum: String::new(),
                        message_definition: schema
                            .map(|s| String::from_utf8_lossy(&s.1).into_owned())
                            .unwrap_or_default(),
                        callerid: None,
                        latching: false,
                    };
                    self.channels
                        .insert(ch.id, Arc::new(StreamChannel { conn: Arc::new(conn) }));
                }
                records::OP_MESSAGE => {
                    let Some(m) = records::message(data) else {
                        self.done = true;
                        return Some(Err(bad("message")));
                    };
                    let Some(channel) = self.channels.get(&m.channel_id) else {
                        self.done = true;
                        return Some(Err(format!(
                            "message {} on channel {}, which no channel record defined",
                            m.sequence, m.channel_id
                        )));
                    };
                    return Some(Ok(RawMessage {
                        channel: Arc::clone(channel),
                        log_time: m.log_time,
                        data: m.data.to_vec(),
                    }));
                }
                records::OP_DATA_END | records::OP_FOOTER => {
                    self.done = true;
                    return None;
                }
                _ => {}
            }
        }
        None
    }
}

impl McapFile {
    fn open(path: &Path) -> Result<McapFile, BagError> {
        let io = |what: &str, e: std::io::Error| BagError::Io {
            path: path.to_path_buf(),
            what: what.to_string(),
            source: e,
        };
        let file = std::fs::File::open(path).map_err(|e| io("opening", e))?;
        let len = file.metadata().map_err(|e| io("reading its size", e))?.len();
        let mut head = [0u8; 8];
        std::io::Read::read_exact(&mut &file, &mut head).map_err(|e| io("reading the magic", e))?;
        if &head != MCAP_MAGIC {
            return Err(mcap_err(path, format!("not an MCAP file (magic {head:02x?})")));
        }
        // a finished file ends with the magic too: map it; one cut short (or still written) is read,
        // as its bytes may still change under a mapping
        let mut tail = [0u8; 8];
        let finished = len >= 16
            && std::io::Seek::seek(&mut &file, std::io::SeekFrom::End(-8)).is_ok()
            && std::io::Read::read_exact(&mut &file, &mut tail).is_ok()
            && &tail == MCAP_MAGIC;
        let data = match finished
            .then(|| crate::reader::source::map_file(&file, len))
            .flatten()
        {
            Some(m) => Data::Mapped(m),
            None => Data::Owned(std::fs::read(path).map_err(|e| io("reading", e))?),
        };
        Ok(McapFile {
            path: path.to_path_buf(),
            data,
        })
    }

    fn readable(&self) -> &[u8] {
        self.data.bytes()
    }

    /// Topics, types, counts and span: from the summary section when the file has one, else by reading
    /// every message.
    fn census(&self, into: &mut Census, warnings: &mut Vec<BagWarning>) {
        let buf = self.readable();
        if let Some((schemas, channels, stats)) = records::summary(buf, MCAP_MAGIC.len()) {
            let schema_name = |id: u16| schemas.iter().find(|s| s.id == id).map(|s| s.name.as_str());
            let type_of =
                |ch: &records::Channel| datatype_of(schema_name(ch.schema_id), &ch.message_encoding);
            for ch in &channels {
                into.types.entry(ch.topic.clone()).or_insert_with(|| type_of(ch));
                into.counts.entry(ch.topic.clone()).or_default();
            }
            for (id, n) in &stats.channel_counts {
                if let Some(ch) = channels.iter().find(|c| c.id == *id) {
                    *into.counts.entry(ch.topic.clone()).or_default() += n;
                }
            }
            if stats.message_count > 0 {
                into.start = Some(into.start.map_or(stats.start, |s| s.min(stats.start)));
                into.end = Some(into.end.map_or(stats.end, |e| e.max(stats.end)));
            }
            return;
        }
        let stream = Stream::new(buf);
        for m in stream {
            match m {
                Ok(m) => {
                    let c = &m.channel.conn;
                    *into.counts.entry(c.topic.clone()).or_default() += 1;
                    into.types
                        .entry(c.topic.clone())
                        .or_insert_with(|| c.datatype.clone());
                    into.start = Some(into.start.map_or(m.log_time, |s| s.min(m.log_time)));
                    into.end = Some(into.end.map_or(m.log_time, |e| e.max(m.log_time)));
                }
                Err(e) => {
                    warnings.push(warning(
                        &self.path,
                        format!("MCAP damaged: {e}; messages after it are not read"),
                    ));
                    break;
                }
            }
        }
    }
}

impl Ros2Bag {
    /// An MCAP or rosbag2 sqlite3 file, or a rosbag2 folder (its `metadata.yaml` names the files;
    /// without one, every `*.mcap` or `*.db3` in the folder in name order).
    pub fn open(path: &Path) -> Result<Ros2Bag, BagError> {
        let files: Vec<PathBuf> = if path.is_dir() {
            rosbag2_files(path)?
        } else {
            vec![path.to_path_buf()]
        };
        let files = files
            .iter()
            .map(|f| Ros2File::open(f))
            .collect::<Result<Vec<_>, _>>()?;
        let mut census = Census::default();
        let mut warnings = Vec::new();
        for f in &files {
            f.census(&mut census, &mut warnings);
        }
        Ok(Ros2Bag {
            path: path.to_path_buf(),
            files,
            census,
            warnings: Mutex::new(warnings),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The MCAP files read, in order.
    pub fn files(&self) -> Vec<&Path> {
        self.files.iter().map(Ros2File::path).collect()
    }

    /// rosbag2's storage id of the files: `mcap` or `sqlite3`.
    pub fn storage(&self) -> &'static str {
        match self.files.first() {
            Some(Ros2File::Sqlite(_)) => "sqlite3",
            _ => "mcap",
        }
    }

    pub fn topic_counts(&self) -> BTreeMap<String, u64> {
        self.census.counts.clone()
    }

    pub fn topic_types(&self) -> BTreeMap<String, String> {
        self.census.types.clone()
    }

    pub fn start_time(&self) -> Option<Stamp> {
        self.census.start.map(Stamp::from_nanos)
    }

    pub fn end_time(&self) -> Option<Stamp> {
        self.census.end.map(Stamp::from_nanos)
    }

    pub fn warnings(&self) -> Vec<BagWarning> {
        self.warnings.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The messages of `opts.topics` within `opts.start..=opts.end`, file after file: MCAP in file order
    /// (a recorder writes them as received), sqlite3 in timestamp order. A damaged file yields an error
    /// item and ends there.
    pub fn messages<'a>(
        &'a self,
        opts: &ReadOptions,
    ) -> Box<dyn Iterator<Item = Result<BagMessage, BagError>> + Send + 'a> {
        let topics = opts.topics.clone();
        let (start, end) = (opts.start.map(Stamp::as_nanos), opts.end.map(Stamp::as_nanos));
        Box::new(self.files.iter().flat_map(
            move |f| -> Box<dyn Iterator<Item = Result<BagMessage, BagError>> + Send + 'a> {
                let f = match f {
                    Ros2File::Mcap(f) => f,
                    Ros2File::Sqlite(db) => return Box::new(db.messages(topics.clone(), start, end)),
                };
                let topics = topics.clone();
                let path = &f.path;
                Box::new(Stream::new(f.readable()).filter_map(move |m| {
                    let m = match m {
                        Ok(m) => m,
                        // the stream ends after an error
                        Err(e) => {
                            return Some(Err(mcap_err(
                                path,
                                format!("damaged: {e}; later messages not read"),
                            )))
                        }
                    };
                    let conn = &m.channel.conn;
                    if topics.as_ref().is_some_and(|t| !t.contains(&conn.topic))
                        || start.is_some_and(|s| m.log_time < s)
                        || end.is_some_and(|e| m.log_time > e)
                    {
                        return None;
                    }
                    Some(Ok(BagMessage {
                        conn: Arc::clone(conn),
                        time: Stamp::from_nanos(m.log_time),
                        data: Bytes::from(m.data),
                    }))
                }))
            },
        ))
    }
}

/// The files of a rosbag2 folder: `metadata.yaml`'s `relative_file_paths`, else every `*.mcap` or
/// `*.db3`.
fn rosbag2_files(dir: &Path) -> Result<Vec<PathBuf>, BagError> {
    let meta = dir.join("metadata.yaml");
    if let Ok(text) = std::fs::read_to_string(&meta) {
        let v: serde_yaml::Value = serde_yaml::from_str(&text).map_err(|e| mcap_err(&meta, e))?;
        let info = v.get("rosbag2_bagfile_information");
        let storage = info
            .and_then(|i| i.get("storage_identifier"))
            .and_then(|s| s.as_str())
            .unwrap_or("");
        if storage != "mcap" && storage != "sqlite3" {
            return Err(mcap_err(
                &meta,
                format!("storage `{storage}`: mcap and sqlite3 rosbag2 folders are read"),
            ));
        }
        let files: Vec<PathBuf> = info
            .and_then(|i| i.get("relative_file_paths"))
            .and_then(|p| p.as_sequence())
            .map(|s| s.iter().filter_map(|p| p.as_str()).map(|p| dir.join(p)).collect())
            .unwrap_or_default();
        if !files.is_empty() {
            return Ok(files);
        }
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| BagError::Io {
            path: dir.to_path_buf(),
            what: "listing".into(),
            source: e,
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "mcap" || x == "db3"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(mcap_err(
            dir,
            "a ROS 2 bag folder needs metadata.yaml or *.mcap / *.db3 files",
        ));
    }
    Ok(files)
}
