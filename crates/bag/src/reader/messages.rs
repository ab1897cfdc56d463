//! [`Messages`]: the chunks' messages merged into time order.

use super::*;

pub(super) struct Pending {
    pub(super) key: (Stamp, u64),
    pub(super) msg: BagMessage,
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
    pub(super) reader: &'a BagReader,
    /// Chunks to visit, sorted by start time.
    pub(super) order: Vec<&'a ChunkInfo>,
    /// Threads loading the chunks of `order` ahead (None: loaded here, on demand).
    pub(super) prefetch: Option<Prefetch>,
    pub(super) limits: Limits,
    pub(super) next: usize,
    pub(super) heap: BinaryHeap<Reverse<Pending>>,
    pub(super) seq: u64,
    pub(super) wanted: Option<HashSet<u32>>,
    pub(super) start: Option<Stamp>,
    pub(super) end: Option<Stamp>,
    pub(super) scratch: Vec<u8>,
    pub(super) pool: BufPool,
    pub(super) chunks_read: usize,
}

impl Messages<'_> {
    /// Chunks read and decompressed so far (chunks without wanted messages are never read).
    pub fn chunks_read(&self) -> usize {
        self.chunks_read
    }

    pub(super) fn load(&mut self, chunk: &ChunkInfo) -> Result<(), BagError> {
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
