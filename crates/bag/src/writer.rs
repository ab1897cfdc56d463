//! Writing ROS1 bag v2.0 files the way `rosbag record` does: a 4096-byte bag header record, chunks of about
//! 768 KB (none, bz2 or lz4) each followed by one index-data record per connection, then the index section
//! (every connection record, then one chunk-info record per chunk), and finally the bag header rewritten with
//! `index_pos`, `conn_count` and `chunk_count`.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use sensorium_core::Stamp;

use crate::compression::{compress, Compression};
use crate::error::{io_err, BagError};
use crate::record::{
    put_field, put_record, time_bytes, FILE_HEADER_LENGTH, MAGIC, OP_CHUNK, OP_CHUNK_INFO, OP_CONNECTION,
    OP_FILE_HEADER, OP_INDEX_DATA, OP_MSG_DATA,
};

/// Default chunk size, as `rosbag record` (768 KB of uncompressed records).
pub const DEFAULT_CHUNK_THRESHOLD: usize = 768 * 1024;

/// A connection to declare before writing its messages.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnectionSpec {
    pub topic: String,
    pub datatype: String,
    pub md5sum: String,
    pub message_definition: String,
    pub callerid: Option<String>,
    pub latching: bool,
}

struct ConnEntry {
    spec: ConnectionSpec,
    /// Encoded connection header (the record data).
    fields: Vec<u8>,
    written: bool,
}

struct ChunkRecordInfo {
    pos: u64,
    start: Stamp,
    end: Stamp,
    counts: Vec<(u32, u32)>,
}

/// Writes a bag. Call [`BagWriter::finish`] to write the index; a writer dropped without it finishes
/// on a best-effort basis (errors are then lost).
pub struct BagWriter {
    path: PathBuf,
    out: Option<BufWriter<File>>,
    compression: Compression,
    threshold: usize,
    pos: u64,
    conns: Vec<ConnEntry>,
    chunk: Vec<u8>,
    chunk_range: Option<(Stamp, Stamp)>,
    chunk_index: BTreeMap<u32, Vec<(Stamp, u32)>>,
    compressed: Vec<u8>,
    chunk_infos: Vec<ChunkRecordInfo>,
}

impl BagWriter {
    /// Creates (truncates) `path` and writes the bag header placeholder.
    pub fn create(path: impl AsRef<Path>, compression: Compression) -> Result<BagWriter, BagError> {
        let path = path.as_ref().to_path_buf();
        let file = File::create(&path).map_err(|e| io_err(&path, "creating bag", e))?;
        let mut w = BagWriter {
            path,
            out: Some(BufWriter::with_capacity(1 << 20, file)),
            compression,
            threshold: DEFAULT_CHUNK_THRESHOLD,
            pos: 0,
            conns: Vec::new(),
            chunk: Vec::new(),
            chunk_range: None,
            chunk_index: BTreeMap::new(),
            compressed: Vec::new(),
            chunk_infos: Vec::new(),
        };
        w.emit(MAGIC)?;
        let header = file_header(0, 0, 0);
        w.emit(&header)?;
        Ok(w)
    }

    /// Sets the uncompressed size after which a chunk is closed (default 768 KB).
    pub fn set_chunk_threshold(&mut self, bytes: usize) {
        self.threshold = bytes.max(1);
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Declares a connection; returns its id. Declaring an identical connection again returns the same id.
    pub fn add_connection(
        &mut self,
        topic: &str,
        datatype: &str,
        md5sum: &str,
        message_definition: &str,
    ) -> Result<u32, BagError> {
        self.add_connection_spec(ConnectionSpec {
            topic: topic.into(),
            datatype: datatype.into(),
            md5sum: md5sum.into(),
            message_definition: message_definition.into(),
            callerid: None,
            latching: false,
        })
    }

    /// Declares a connection with caller id and latching; returns its id.
    pub fn add_connection_spec(&mut self, spec: ConnectionSpec) -> Result<u32, BagError> {
        if let Some(i) = self.conns.iter().position(|c| c.spec == spec) {
            return Ok(i as u32);
        }
        if spec.topic.is_empty() || spec.datatype.is_empty() {
            return Err(self.write_err(format!(
                "connection needs a topic and a type (topic {:?}, type {:?})",
                spec.topic, spec.datatype
            )));
        }
        let mut fields = Vec::new();
        put_field(&mut fields, "topic", spec.topic.as_bytes());
        put_field(&mut fields, "type", spec.datatype.as_bytes());
        put_field(&mut fields, "md5sum", spec.md5sum.as_bytes());
        put_field(
            &mut fields,
            "message_definition",
            spec.message_definition.as_bytes(),
        );
        if let Some(c) = &spec.callerid {
            put_field(&mut fields, "callerid", c.as_bytes());
        }
        if spec.latching {
            put_field(&mut fields, "latching", b"1");
        }
        if fields.len() > u32::MAX as usize / 2 {
            return Err(self.write_err(format!(
                "connection header of {} bytes is too large",
                fields.len()
            )));
        }
        self.conns.push(ConnEntry {
            spec,
            fields,
            written: false,
        });
        Ok((self.conns.len() - 1) as u32)
    }

    /// Writes one message (serialized payload, no length prefix) with its record time.
    pub fn write(&mut self, conn: u32, time: Stamp, payload: &[u8]) -> Result<(), BagError> {
        let idx = conn as usize;
        let Some(entry) = self.conns.get_mut(idx) else {
            return Err(BagError::UnknownConnection {
                path: self.path.clone(),
                conn,
                known: self.conns.len(),
            });
        };
        if payload.len() > (u32::MAX as usize) / 2 {
            return Err(self.write_err(format!(
                "payload of {} bytes exceeds the bag format limit",
                payload.len()
            )));
        }
        if !entry.written {
            // Like rosbag: the connection record goes into the chunk where the connection is first used.
            let header = connection_header(conn, &entry.spec.topic);
            put_record(&mut self.chunk, &header, &entry.fields);
            entry.written = true;
        }
        let offset = self.chunk.len();
        if offset > u32::MAX as usize - payload.len() - 64 {
            return Err(self.write_err("chunk exceeds 4 GB; lower the chunk threshold".into()));
        }
        let mut header = Vec::with_capacity(40);
        put_field(&mut header, "op", &[OP_MSG_DATA]);
        put_field(&mut header, "conn", &conn.to_le_bytes());
        put_field(&mut header, "time", &time_bytes(time));
        put_record(&mut self.chunk, &header, payload);
        self.chunk_index
            .entry(conn)
            .or_default()
            .push((time, offset as u32));
        self.chunk_range = Some(match self.chunk_range {
            None => (time, time),
            Some((s, e)) => (s.min(time), e.max(time)),
        });
        if self.chunk.len() >= self.threshold {
            self.flush_chunk()?;
        }
        Ok(())
    }

    /// Closes the open chunk, writes the index section and the final bag header.
    pub fn finish(mut self) -> Result<(), BagError> {
        self.finish_inner()
    }

    fn finish_inner(&mut self) -> Result<(), BagError> {
        if self.out.is_none() {
            return Ok(());
        }
        self.flush_chunk()?;
        let index_pos = self.pos;
        let mut buf = Vec::new();
        for (id, c) in self.conns.iter().enumerate() {
            put_record(&mut buf, &connection_header(id as u32, &c.spec.topic), &c.fields);
        }
        for ci in &self.chunk_infos {
            let mut h = Vec::new();
            put_field(&mut h, "op", &[OP_CHUNK_INFO]);
            put_field(&mut h, "ver", &1u32.to_le_bytes());
            put_field(&mut h, "chunk_pos", &ci.pos.to_le_bytes());
            put_field(&mut h, "start_time", &time_bytes(ci.start));
            put_field(&mut h, "end_time", &time_bytes(ci.end));
            put_field(&mut h, "count", &(ci.counts.len() as u32).to_le_bytes());
            let data: Vec<u8> = ci
                .counts
                .iter()
                .flat_map(|(id, n)| id.to_le_bytes().into_iter().chain(n.to_le_bytes()))
                .collect();
            put_record(&mut buf, &h, &data);
        }
        self.emit(&buf)?;
        let header = file_header(index_pos, self.conns.len() as u32, self.chunk_infos.len() as u32);
        let path = self.path.clone();
        let mut out = self
            .out
            .take()
            .ok_or_else(|| self.write_err("already finished".into()))?;
        let seek = out.seek(SeekFrom::Start(MAGIC.len() as u64)).map(|_| ());
        seek.and_then(|_| out.write_all(&header))
            .and_then(|_| out.flush())
            .map_err(|e| io_err(&path, "writing bag header", e))?;
        Ok(())
    }

    fn flush_chunk(&mut self) -> Result<(), BagError> {
        let Some((start, end)) = self.chunk_range.take() else {
            return Ok(());
        };
        let chunk_pos = self.pos;
        let mut compressed = std::mem::take(&mut self.compressed);
        compress(self.compression, &self.chunk, &mut compressed).map_err(|problem| BagError::Compress {
            path: self.path.clone(),
            codec: self.compression.name(),
            bytes: self.chunk.len(),
            problem,
        })?;
        let mut h = Vec::new();
        put_field(&mut h, "op", &[OP_CHUNK]);
        put_field(&mut h, "compression", self.compression.name().as_bytes());
        put_field(&mut h, "size", &(self.chunk.len() as u32).to_le_bytes());
        let mut head = Vec::with_capacity(h.len() + 8);
        head.extend_from_slice(&(h.len() as u32).to_le_bytes());
        head.extend_from_slice(&h);
        head.extend_from_slice(&(compressed.len() as u32).to_le_bytes());
        self.emit(&head)?;
        self.emit(&compressed)?;
        self.compressed = compressed;

        let mut idx = Vec::new();
        let mut counts = Vec::with_capacity(self.chunk_index.len());
        for (conn, entries) in std::mem::take(&mut self.chunk_index) {
            let mut h = Vec::new();
            put_field(&mut h, "op", &[OP_INDEX_DATA]);
            put_field(&mut h, "ver", &1u32.to_le_bytes());
            put_field(&mut h, "conn", &conn.to_le_bytes());
            put_field(&mut h, "count", &(entries.len() as u32).to_le_bytes());
            let mut data = Vec::with_capacity(entries.len() * 12);
            for (t, off) in &entries {
                data.extend_from_slice(&time_bytes(*t));
                data.extend_from_slice(&off.to_le_bytes());
            }
            put_record(&mut idx, &h, &data);
            counts.push((conn, entries.len() as u32));
        }
        self.emit(&idx)?;
        self.chunk_infos.push(ChunkRecordInfo {
            pos: chunk_pos,
            start,
            end,
            counts,
        });
        self.chunk.clear();
        Ok(())
    }

    fn emit(&mut self, bytes: &[u8]) -> Result<(), BagError> {
        let out = self.out.as_mut().ok_or_else(|| BagError::Write {
            path: self.path.clone(),
            problem: "writer already finished".into(),
        })?;
        out.write_all(bytes)
            .map_err(|e| io_err(&self.path, format!("writing at byte {}", self.pos), e))?;
        self.pos += bytes.len() as u64;
        Ok(())
    }

    fn write_err(&self, problem: String) -> BagError {
        BagError::Write {
            path: self.path.clone(),
            problem,
        }
    }
}

impl Drop for BagWriter {
    fn drop(&mut self) {
        let _ = self.finish_inner();
    }
}

fn connection_header(id: u32, topic: &str) -> Vec<u8> {
    let mut h = Vec::new();
    put_field(&mut h, "op", &[OP_CONNECTION]);
    put_field(&mut h, "conn", &id.to_le_bytes());
    put_field(&mut h, "topic", topic.as_bytes());
    h
}

/// The bag header record, padded with spaces to 4096 bytes of header + data as rosbag does.
fn file_header(index_pos: u64, conn_count: u32, chunk_count: u32) -> Vec<u8> {
    let mut h = Vec::new();
    put_field(&mut h, "op", &[OP_FILE_HEADER]);
    put_field(&mut h, "index_pos", &index_pos.to_le_bytes());
    put_field(&mut h, "conn_count", &conn_count.to_le_bytes());
    put_field(&mut h, "chunk_count", &chunk_count.to_le_bytes());
    let padding = vec![b' '; FILE_HEADER_LENGTH.saturating_sub(h.len())];
    let mut rec = Vec::with_capacity(FILE_HEADER_LENGTH + 8);
    put_record(&mut rec, &h, &padding);
    rec
}
