//! The index section, and rebuilding it from the chunks when it is missing or damaged (`rosbag reindex`).

use super::*;

/// Builds a connection from its record header (id, topic) and data (the connection header fields).
pub(super) fn parse_connection(id: u32, topic: String, data: &[u8]) -> Result<Connection, String> {
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
pub(super) fn read_index(
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
pub(super) fn reindex(
    src: &Source,
    mut pos: u64,
    warnings: &mut Vec<BagWarning>,
) -> (Vec<Connection>, Vec<ChunkInfo>) {
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
