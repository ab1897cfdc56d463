//! The ROS bag v2.0 record layer: `<u32 header_len><header><u32 data_len><data>`, where the header is a
//! sequence of `<u32 field_len><name>=<value>` fields. Everything here works on byte slices and never
//! trusts a length without checking it against the bytes that are there.

use sensorium_core::Stamp;

/// `#ROSBAG V2.0\n`, the first 13 bytes of every v2.0 bag.
pub const MAGIC: &[u8; 13] = b"#ROSBAG V2.0\n";
/// Size of the bag header record (header + padding) as rosbag writes it.
pub const FILE_HEADER_LENGTH: usize = 4096;

pub const OP_MSG_DATA: u8 = 0x02;
pub const OP_FILE_HEADER: u8 = 0x03;
pub const OP_INDEX_DATA: u8 = 0x04;
pub const OP_CHUNK: u8 = 0x05;
pub const OP_CHUNK_INFO: u8 = 0x06;
pub const OP_CONNECTION: u8 = 0x07;

/// Iterates over the `name=value` fields of a record header.
pub struct Fields<'a> {
    buf: &'a [u8],
}

impl<'a> Fields<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Fields { buf }
    }
}

impl<'a> Iterator for Fields<'a> {
    /// `Ok((name, value))`, or `Err(problem)` once when the header is malformed.
    type Item = Result<(&'a [u8], &'a [u8]), String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.buf.is_empty() {
            return None;
        }
        let Some(len) = le_u32(self.buf, 0) else {
            let n = self.buf.len();
            self.buf = &[];
            return Some(Err(format!("{n} stray bytes at the end of a record header")));
        };
        let len = len as usize;
        let rest = self.buf.get(4..).unwrap_or(&[]);
        let Some(field) = rest.get(..len) else {
            let have = rest.len();
            self.buf = &[];
            return Some(Err(format!(
                "header field claims {len} bytes, only {have} left in the header"
            )));
        };
        self.buf = rest.get(len..).unwrap_or(&[]);
        let mut parts = field.splitn(2, |&b| b == b'=');
        match (parts.next(), parts.next()) {
            (Some(name), Some(value)) => Some(Ok((name, value))),
            _ => {
                self.buf = &[];
                Some(Err(format!("header field of {len} bytes has no '='")))
            }
        }
    }
}

/// A parsed record header: the fields, looked up by name.
#[derive(Debug, Clone, Copy)]
pub struct Header<'a> {
    raw: &'a [u8],
}

impl<'a> Header<'a> {
    pub const EMPTY: Header<'static> = Header { raw: &[] };

    /// Validates every field of `raw` (lengths and `=`), so later lookups cannot fail on structure.
    pub fn parse(raw: &'a [u8]) -> Result<Self, String> {
        for f in Fields::new(raw) {
            f?;
        }
        Ok(Header { raw })
    }

    pub fn get(&self, name: &str) -> Option<&'a [u8]> {
        Fields::new(self.raw)
            .filter_map(Result::ok)
            .find(|(n, _)| *n == name.as_bytes())
            .map(|(_, v)| v)
    }

    pub fn op(&self) -> Result<u8, String> {
        match self.get("op") {
            Some([op]) => Ok(*op),
            Some(v) => Err(format!("field 'op' has {} bytes, expected 1", v.len())),
            None => Err("header has no 'op' field".into()),
        }
    }

    pub fn u32(&self, name: &str) -> Result<u32, String> {
        let v = self.require(name)?;
        le_u32(v, 0)
            .filter(|_| v.len() == 4)
            .ok_or_else(|| format!("field '{name}' has {} bytes, expected 4", v.len()))
    }

    pub fn u64(&self, name: &str) -> Result<u64, String> {
        let v = self.require(name)?;
        le_u64(v, 0)
            .filter(|_| v.len() == 8)
            .ok_or_else(|| format!("field '{name}' has {} bytes, expected 8", v.len()))
    }

    pub fn time(&self, name: &str) -> Result<Stamp, String> {
        let v = self.require(name)?;
        parse_time(v).ok_or_else(|| format!("field '{name}' has {} bytes, expected 8", v.len()))
    }

    pub fn string(&self, name: &str) -> Result<String, String> {
        Ok(String::from_utf8_lossy(self.require(name)?).into_owned())
    }

    pub fn opt_string(&self, name: &str) -> Option<String> {
        self.get(name).map(|v| String::from_utf8_lossy(v).into_owned())
    }

    fn require(&self, name: &str) -> Result<&'a [u8], String> {
        self.get(name)
            .ok_or_else(|| format!("header has no '{name}' field"))
    }
}

/// A ROS time: `u32 sec, u32 nsec`, little endian.
pub fn parse_time(v: &[u8]) -> Option<Stamp> {
    if v.len() != 8 {
        return None;
    }
    Some(Stamp::new(le_u32(v, 0)?, le_u32(v, 4)?))
}

pub fn le_u32(buf: &[u8], at: usize) -> Option<u32> {
    buf.get(at..)?.first_chunk::<4>().map(|b| u32::from_le_bytes(*b))
}

pub fn le_u64(buf: &[u8], at: usize) -> Option<u64> {
    buf.get(at..)?.first_chunk::<8>().map(|b| u64::from_le_bytes(*b))
}

/// One record inside an in-memory buffer (a decompressed chunk).
pub struct RecordRef<'a> {
    pub header: Header<'a>,
    /// Byte range of the data within the buffer.
    pub data: std::ops::Range<usize>,
    /// Offset just past the record.
    pub end: usize,
}

/// Parses the record starting at `pos` in `buf`; `Err(problem)` when lengths run past the buffer.
pub fn record_at(buf: &[u8], pos: usize) -> Result<RecordRef<'_>, String> {
    let hlen = le_u32(buf, pos).ok_or("record header length cut off")? as usize;
    let hstart = pos + 4;
    let (hend, raw) = hstart
        .checked_add(hlen)
        .and_then(|e| Some((e, buf.get(hstart..e)?)))
        .ok_or_else(|| {
            format!(
                "record header claims {hlen} bytes, {} left",
                buf.len().saturating_sub(hstart)
            )
        })?;
    let header = Header::parse(raw)?;
    let dlen = le_u32(buf, hend).ok_or("record data length cut off")? as usize;
    let dstart = hend + 4;
    let dend = dstart
        .checked_add(dlen)
        .filter(|&e| e <= buf.len())
        .ok_or_else(|| {
            format!(
                "record data claims {dlen} bytes, {} left",
                buf.len().saturating_sub(dstart)
            )
        })?;
    Ok(RecordRef {
        header,
        data: dstart..dend,
        end: dend,
    })
}

/// Appends one header field `name=value`.
pub fn put_field(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    let len = (name.len() + 1 + value.len()) as u32;
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(name.as_bytes());
    out.push(b'=');
    out.extend_from_slice(value);
}

pub fn time_bytes(t: Stamp) -> [u8; 8] {
    let mut b = [0u8; 8];
    b[..4].copy_from_slice(&t.sec.to_le_bytes());
    b[4..].copy_from_slice(&t.nsec.to_le_bytes());
    b
}

/// Appends a whole record given its header fields (already encoded) and its data.
pub fn put_record(out: &mut Vec<u8>, header: &[u8], data: &[u8]) {
    out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    out.extend_from_slice(header);
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(data);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip_and_reject_garbage() {
        let mut h = Vec::new();
        put_field(&mut h, "op", &[OP_MSG_DATA]);
        put_field(&mut h, "conn", &7u32.to_le_bytes());
        put_field(&mut h, "time", &time_bytes(Stamp::new(5, 6)));
        let hdr = Header::parse(&h).unwrap();
        assert_eq!(hdr.op().unwrap(), OP_MSG_DATA);
        assert_eq!(hdr.u32("conn").unwrap(), 7);
        assert_eq!(hdr.time("time").unwrap(), Stamp::new(5, 6));
        assert!(hdr.u64("conn").is_err());
        assert!(hdr.get("missing").is_none());

        // A field claiming more bytes than the header holds, a field without '=', stray bytes.
        assert!(Header::parse(&[200, 0, 0, 0, b'a', b'=']).is_err());
        assert!(Header::parse(&[2, 0, 0, 0, b'a', b'b']).is_err());
        assert!(Header::parse(&[2, 0]).is_err());
    }

    #[test]
    fn record_lengths_are_checked() {
        let mut h = Vec::new();
        put_field(&mut h, "op", &[OP_MSG_DATA]);
        let mut rec = Vec::new();
        put_record(&mut rec, &h, b"payload");
        let r = record_at(&rec, 0).unwrap();
        assert_eq!(&rec[r.data.clone()], b"payload");
        assert_eq!(r.end, rec.len());
        for cut in 0..rec.len() {
            assert!(record_at(&rec[..cut], 0).is_err(), "cut at {cut}");
        }
        // A data length of 4 GB in a small buffer is an error, not an allocation.
        let mut bad = rec.clone();
        let dl = 4 + h.len();
        bad[dl..dl + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(record_at(&bad, 0).is_err());
    }
}
