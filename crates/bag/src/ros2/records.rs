//! The MCAP records the reader needs (Schema, Channel, Message, Statistics, Footer), parsed with every
//! length checked against the bytes there are: a length claimed by damaged bytes is `None`, never an
//! allocation (the mcap crate's own record parser reserves whatever a string length claims).

pub(super) const OP_FOOTER: u8 = 0x02;
pub(super) const OP_SCHEMA: u8 = 0x03;
pub(super) const OP_CHANNEL: u8 = 0x04;
pub(super) const OP_MESSAGE: u8 = 0x05;
pub(super) const OP_STATISTICS: u8 = 0x0B;
pub(super) const OP_DATA_END: u8 = 0x0F;

/// A cursor over a record body.
pub(super) struct Cur<'a> {
    b: &'a [u8],
}

impl<'a> Cur<'a> {
    pub(super) fn new(b: &'a [u8]) -> Self {
        Cur { b }
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.b.len() {
            return None;
        }
        let (head, rest) = self.b.split_at(n);
        self.b = rest;
        Some(head)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    pub(super) fn u16(&mut self) -> Option<u16> {
        self.array().map(u16::from_le_bytes)
    }

    pub(super) fn u32(&mut self) -> Option<u32> {
        self.array().map(u32::from_le_bytes)
    }

    pub(super) fn u64(&mut self) -> Option<u64> {
        self.array().map(u64::from_le_bytes)
    }

    /// `u32` length, then that many bytes.
    pub(super) fn prefixed(&mut self) -> Option<&'a [u8]> {
        let n = usize::try_from(self.u32()?).ok()?;
        self.take(n)
    }

    pub(super) fn string(&mut self) -> Option<String> {
        Some(String::from_utf8_lossy(self.prefixed()?).into_owned())
    }

    pub(super) fn rest(self) -> &'a [u8] {
        self.b
    }
}

pub(super) struct Schema {
    pub id: u16,
    pub name: String,
    pub data: Vec<u8>,
}

pub(super) fn schema(body: &[u8]) -> Option<Schema> {
    let mut c = Cur::new(body);
    let id = c.u16()?;
    let name = c.string()?;
    let _encoding = c.prefixed()?;
    let data = c.prefixed()?.to_vec();
    Some(Schema { id, name, data })
}

pub(super) struct Channel {
    pub id: u16,
    pub schema_id: u16,
    pub topic: String,
    pub message_encoding: String,
}

pub(super) fn channel(body: &[u8]) -> Option<Channel> {
    let mut c = Cur::new(body);
    Some(Channel {
        id: c.u16()?,
        schema_id: c.u16()?,
        topic: c.string()?,
        message_encoding: c.string()?,
        // metadata (a u32-length map) is not needed
    })
}

pub(super) struct Message<'a> {
    pub channel_id: u16,
    pub sequence: u32,
    pub log_time: u64,
    pub data: &'a [u8],
}

pub(super) fn message(body: &[u8]) -> Option<Message<'_>> {
    let mut c = Cur::new(body);
    let channel_id = c.u16()?;
    let sequence = c.u32()?;
    let log_time = c.u64()?;
    let _publish_time = c.u64()?;
    Some(Message {
        channel_id,
        sequence,
        log_time,
        data: c.rest(),
    })
}

pub(super) struct Statistics {
    pub message_count: u64,
    pub start: u64,
    pub end: u64,
    /// channel id → messages
    pub channel_counts: Vec<(u16, u64)>,
}

pub(super) fn statistics(body: &[u8]) -> Option<Statistics> {
    let mut c = Cur::new(body);
    let message_count = c.u64()?;
    let _schemas = c.u16()?;
    let _channels = c.u32()?;
    let _attachments = c.u32()?;
    let _metadata = c.u32()?;
    let _chunks = c.u32()?;
    let start = c.u64()?;
    let end = c.u64()?;
    let mut map = Cur::new(c.prefixed()?);
    let mut channel_counts = Vec::new();
    while let (Some(id), Some(n)) = (map.u16(), map.u64()) {
        channel_counts.push((id, n));
    }
    Some(Statistics {
        message_count,
        start,
        end,
        channel_counts,
    })
}

/// The top-level records from `start` to `end` of `buf`: (opcode, body), stopping at the first one that
/// does not fit.
pub(super) fn records(buf: &[u8], start: usize, end: usize) -> Vec<(u8, &[u8])> {
    let mut out = Vec::new();
    let mut pos = start;
    let end = end.min(buf.len());
    while pos < end {
        let mut c = Cur::new(buf.get(pos..end).unwrap_or_default());
        let (Some(op), Some(len)) = (c.take(1).and_then(|b| b.first().copied()), c.u64()) else {
            break;
        };
        let Some(body) = usize::try_from(len).ok().and_then(|l| c.take(l)) else {
            break;
        };
        out.push((op, body));
        pos += 9 + body.len();
    }
    out
}

/// The summary section of a finished file: (schemas, channels, statistics), from the footer's
/// `summary_start`; `None` when the file has none or it does not parse.
pub(super) fn summary(buf: &[u8], magic_len: usize) -> Option<(Vec<Schema>, Vec<Channel>, Statistics)> {
    // ... footer record (opcode, u64 length = 20, summary_start, summary_offset_start, crc), magic
    let footer_at = buf.len().checked_sub(magic_len + 9 + 20)?;
    let mut c = Cur::new(buf.get(footer_at..)?);
    if c.take(1)?.first() != Some(&OP_FOOTER) || c.u64()? != 20 {
        return None;
    }
    let summary_start = usize::try_from(c.u64()?).ok()?;
    if summary_start == 0 || summary_start >= footer_at {
        return None;
    }
    let (mut schemas, mut channels, mut stats) = (Vec::new(), Vec::new(), None);
    for (op, body) in records(buf, summary_start, footer_at) {
        match op {
            OP_SCHEMA => schemas.push(schema(body)?),
            OP_CHANNEL => channels.push(channel(body)?),
            OP_STATISTICS => stats = Some(statistics(body)?),
            _ => {}
        }
    }
    Some((schemas, channels, stats?))
}
