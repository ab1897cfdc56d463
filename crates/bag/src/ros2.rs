//! ROS 2 recordings: MCAP files (`ros2 bag record -s mcap`, Foxglove, `rosbags`), rosbag2 sqlite3 files
//! (`.db3`) and rosbag2 folders (`metadata.yaml` beside the recorded files), read into the same
//! [`BagMessage`]s as ROS1 bags:
//! the connection's datatype is the ROS 2 type name (`sensor_msgs/msg/Image`), the payload its CDR bytes,
//! the time the message's log (receive) time.
//!
//! Damage is read as far as it is sound, as for ROS1 bags: a file cut short (no end magic, no summary)
//! yields the messages before the cut, a chunk whose CRC does not match ends the file's messages there,
//! each with a warning; a damaged sqlite3 file ends its messages at the first error.

mod sqlite;
mod writer;

pub use writer::McapWriter;

use crate::error::{BagError, BagWarning};
use crate::reader::{BagMessage, Connection, ReadOptions};
use bytes::Bytes;
use mcap::read::Options as McapOptions;
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

/// The datatype a channel's messages carry: the schema name (ROS 2: `pkg/msg/Name`); a channel with
/// another message encoding than CDR is marked with it, so that decoding names it.
fn datatype_of(ch: &mcap::Channel<'_>) -> String {
    let schema = ch.schema.as_ref().map_or("(no schema)", |s| s.name.as_str());
    if ch.message_encoding == "cdr" {
        schema.to_string()
    } else {
        format!("{schema} ({} encoded)", ch.message_encoding)
    }
}

fn warning(path: &Path, message: String) -> BagWarning {
    BagWarning {
        offset: 0,
        message: format!("{}: {message}", path.display()),
    }
}

fn options() -> enumset::EnumSet<McapOptions> {
    McapOptions::IgnoreEndMagic | McapOptions::ValidateChunkCrcs
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

    /// Topics, types, counts and span: from the summary section when the file has one, else by reading
    /// every message.
    fn census(&self, into: &mut Census, warnings: &mut Vec<BagWarning>) {
        let buf = self.data.bytes();
        if let Ok(Some(summary)) = mcap::Summary::read(buf) {
            if let Some(stats) = &summary.stats {
                for (id, n) in &stats.channel_message_counts {
                    if let Some(ch) = summary.channels.get(id) {
                        *into.counts.entry(ch.topic.clone()).or_default() += n;
                        into.types.insert(ch.topic.clone(), datatype_of(ch));
                    }
                }
                for ch in summary.channels.values() {
                    into.types
                        .entry(ch.topic.clone())
                        .or_insert_with(|| datatype_of(ch));
                    into.counts.entry(ch.topic.clone()).or_default();
                }
                if stats.message_count > 0 {
                    into.start = Some(
                        into.start
                            .map_or(stats.message_start_time, |s| s.min(stats.message_start_time)),
                    );
                    into.end = Some(
                        into.end
                            .map_or(stats.message_end_time, |e| e.max(stats.message_end_time)),
                    );
                }
                return;
            }
        }
        let stream = match mcap::MessageStream::new_with_options(buf, options()) {
            Ok(s) => s,
            Err(e) => {
                warnings.push(warning(&self.path, format!("MCAP: {e}")));
                return;
            }
        };
        for m in stream {
            match m {
                Ok(m) => {
                    *into.counts.entry(m.channel.topic.clone()).or_default() += 1;
                    into.types
                        .entry(m.channel.topic.clone())
                        .or_insert_with(|| datatype_of(&m.channel));
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
                let mut conns: HashMap<u16, Arc<Connection>> = HashMap::new();
                let mut failed = false;
                let stream = mcap::MessageStream::new_with_options(f.data.bytes(), options())
                    .map_err(|e| mcap_err(&f.path, e));
                let (stream, first_err) = match stream {
                    Ok(s) => (Some(s), None),
                    Err(e) => (None, Some(e)),
                };
                Box::new(
                    first_err
                        .into_iter()
                        .map(Err)
                        .chain(stream.into_iter().flatten().filter_map(move |m| {
                            if failed {
                                return None;
                            }
                            let m = match m {
                                Ok(m) => m,
                                Err(e) => {
                                    failed = true;
                                    return Some(Err(mcap_err(
                                        &f.path,
                                        format!("damaged: {e}; later messages not read"),
                                    )));
                                }
                            };
                            if topics
                                .as_ref()
                                .is_some_and(|t| !t.iter().any(|t| *t == m.channel.topic))
                                || start.is_some_and(|s| m.log_time < s)
                                || end.is_some_and(|e| m.log_time > e)
                            {
                                return None;
                            }
                            let conn = conns.entry(m.channel.id).or_insert_with(|| {
                                Arc::new(Connection {
                                    id: u32::from(m.channel.id),
                                    topic: m.channel.topic.clone(),
                                    datatype: datatype_of(&m.channel),
                                    md5sum: String::new(),
                                    message_definition: m
                                        .channel
                                        .schema
                                        .as_ref()
                                        .map(|s| String::from_utf8_lossy(&s.data).into_owned())
                                        .unwrap_or_default(),
                                    callerid: None,
                                    latching: false,
                                })
                            });
                            Some(Ok(BagMessage {
                                conn: Arc::clone(conn),
                                time: Stamp::from_nanos(m.log_time),
                                data: Bytes::from(m.data.into_owned()),
                            }))
                        })),
                )
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
