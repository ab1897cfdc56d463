//! Loading chunks: decompression into pooled buffers, prefetch threads, walking a chunk's records.

use super::*;

/// Reads and decompresses one chunk into a buffer from `pool` (returned there when the last message slice
/// of the chunk is dropped, so its pages stay mapped). Damage is not an error: the sound prefix is returned
/// with the problem, for the caller to report as a warning.
pub(super) fn load_chunk(
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

pub(super) type Loaded = Result<(Bytes, Option<String>), BagError>;

/// Threads reading and decompressing the chunks of a [`Messages`] ahead of it, in its order: thread `w` of
/// `T` loads chunks `w, w + T, w + 2T, …` into its own bounded channel, so the iterator takes chunk `k`
/// from channel `k % T` and gets them in order without a reorder buffer. Dropping it stops the threads
/// (their next send fails) and joins them.
pub(super) struct Prefetch {
    pub(super) lanes: usize,
    pub(super) rxs: Vec<std::sync::mpsc::Receiver<Loaded>>,
    pub(super) handles: Vec<std::thread::JoinHandle<()>>,
    pub(super) taken: usize,
}

impl Prefetch {
    pub(super) fn start(
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
    pub(super) fn next(&mut self) -> Option<Loaded> {
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
pub(super) struct BufPool(Arc<Mutex<Vec<Vec<u8>>>>);

/// Owner of a pooled buffer inside [`Bytes`].
pub(super) struct Pooled {
    pub(super) buf: Vec<u8>,
    pub(super) pool: std::sync::Weak<Mutex<Vec<Vec<u8>>>>,
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
    pub(super) fn take(&self) -> Vec<u8> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop()
            .unwrap_or_default()
    }

    pub(super) fn wrap(&self, buf: Vec<u8>) -> Bytes {
        Bytes::from_owner(Pooled {
            buf,
            pool: Arc::downgrade(&self.0),
        })
    }
}

/// A message record found in a decompressed chunk.
pub(super) struct MsgRef {
    pub(super) conn: u32,
    pub(super) time: Stamp,
    pub(super) data: std::ops::Range<usize>,
}

/// Walks the records of a decompressed chunk. Returns the offset and problem where the walk had to stop.
pub(super) fn scan_chunk(
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
