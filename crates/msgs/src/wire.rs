//! ROS1 serialization primitives: little-endian scalars, `u32`-length-prefixed strings and arrays; and
//! the ROS 2 form of the same messages, CDR ([`Reader::cdr`]): a 4-byte encapsulation header, every
//! scalar aligned to its size (up to 8) from the end of that header, strings with a terminating NUL
//! counted in their length, and headers without `seq`.
//!
//! [`Reader`] never panics and never allocates more than the remaining input can hold: every
//! length prefix is checked against the bytes left before anything is reserved.

use crate::MsgError;
use sensorium_core::Stamp;

/// A cursor over a serialized message body.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    /// The message type being decoded, for error messages.
    pub msg: &'static str,
    cdr: bool,
}

/// Encapsulation header of little-endian plain CDR (`CDR_LE`), as ROS 2 serializes messages.
pub const CDR_LE: [u8; 2] = [0x00, 0x01];

impl<'a> Reader<'a> {
    /// A ROS1 serialized body.
    pub fn new(buf: &'a [u8], msg: &'static str) -> Self {
        Reader {
            buf,
            pos: 0,
            msg,
            cdr: false,
        }
    }

    /// A ROS 2 (CDR) serialized message, its encapsulation header first: little-endian CDR only
    /// (what ROS 2 writes on every platform it runs on).
    pub fn cdr(buf: &'a [u8], msg: &'static str) -> Result<Self, MsgError> {
        let (head, body) = (buf.get(..4), buf.get(4..));
        match (head, body) {
            (Some(h), Some(body)) if h.get(..2) == Some(&CDR_LE[..]) => Ok(Reader {
                buf: body,
                pos: 0,
                msg,
                cdr: true,
            }),
            (Some(h), _) => Err(MsgError::invalid(
                msg,
                "encapsulation",
                format!(
                    "header {:02x} {:02x}: only little-endian plain CDR (00 01) is read",
                    h.first().copied().unwrap_or(0),
                    h.get(1).copied().unwrap_or(0)
                ),
            )),
            _ => Err(MsgError::Truncated {
                msg,
                field: "encapsulation",
                offset: 0,
                need: 4,
                have: buf.len(),
            }),
        }
    }

    /// Is this a CDR (ROS 2) message?
    pub fn is_cdr(&self) -> bool {
        self.cdr
    }

    /// CDR: skips the padding before a scalar of `size` bytes.
    fn align(&mut self, size: usize) -> Result<(), MsgError> {
        if self.cdr && size > 1 {
            let pad = (size - self.pos % size) % size;
            self.take(pad, "padding")?;
        }
        Ok(())
    }

    /// Byte offset of the next read.
    pub fn pos(&self) -> usize {
        self.pos
    }

    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Takes `n` bytes for `field`, or a `Truncated` error naming it.
    pub fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], MsgError> {
        let (end, s) = self
            .pos
            .checked_add(n)
            .and_then(|e| Some((e, self.buf.get(self.pos..e)?)))
            .ok_or(MsgError::Truncated {
                msg: self.msg,
                field,
                offset: self.pos,
                need: n,
                have: self.buf.len() - self.pos,
            })?;
        self.pos = end;
        Ok(s)
    }

    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], MsgError> {
        self.align(N.min(8))?;
        let s = self.take(N, field)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    pub fn u8(&mut self, field: &'static str) -> Result<u8, MsgError> {
        Ok(self.array::<1>(field)?[0])
    }
    pub fn i8(&mut self, field: &'static str) -> Result<i8, MsgError> {
        Ok(self.array::<1>(field)?[0] as i8)
    }
    pub fn bool(&mut self, field: &'static str) -> Result<bool, MsgError> {
        Ok(self.u8(field)? != 0)
    }
    pub fn u32(&mut self, field: &'static str) -> Result<u32, MsgError> {
        Ok(u32::from_le_bytes(self.array(field)?))
    }
    pub fn i32(&mut self, field: &'static str) -> Result<i32, MsgError> {
        Ok(i32::from_le_bytes(self.array(field)?))
    }
    pub fn f32(&mut self, field: &'static str) -> Result<f32, MsgError> {
        Ok(f32::from_le_bytes(self.array(field)?))
    }
    pub fn f64(&mut self, field: &'static str) -> Result<f64, MsgError> {
        Ok(f64::from_le_bytes(self.array(field)?))
    }
    pub fn time(&mut self, field: &'static str) -> Result<Stamp, MsgError> {
        let sec = self.u32(field)?;
        let nsec = self.u32(field)?;
        Ok(Stamp { sec, nsec })
    }
    /// A ROS `duration` (signed seconds and nanoseconds).
    pub fn duration(&mut self, field: &'static str) -> Result<(i32, i32), MsgError> {
        Ok((self.i32(field)?, self.i32(field)?))
    }

    /// A length-prefixed byte array (`uint8[]` or `string`), borrowed.
    pub fn bytes(&mut self, field: &'static str) -> Result<&'a [u8], MsgError> {
        let n = self.u32(field)? as usize;
        self.take(n, field)
    }

    /// A `string`; invalid UTF-8 is replaced rather than rejected (ROS does not check it either).
    pub fn string(&mut self, field: &'static str) -> Result<String, MsgError> {
        let mut b = self.bytes(field)?;
        if self.cdr {
            // the length counts the terminating NUL
            b = b.strip_suffix(&[0]).unwrap_or(b);
        }
        Ok(String::from_utf8_lossy(b).into_owned())
    }

    /// Length prefix of a variable array whose elements are at least `min_elem` bytes each;
    /// rejects counts the remaining input cannot hold (so callers may reserve `count`).
    pub fn array_len(&mut self, field: &'static str, min_elem: usize) -> Result<usize, MsgError> {
        let at = self.pos;
        let n = self.u32(field)? as usize;
        let need = n.saturating_mul(min_elem.max(1));
        if need > self.remaining() {
            return Err(MsgError::Truncated {
                msg: self.msg,
                field,
                offset: at,
                need,
                have: self.remaining(),
            });
        }
        Ok(n)
    }

    pub fn f64_array<const N: usize>(&mut self, field: &'static str) -> Result<[f64; N], MsgError> {
        let mut a = [0.0; N];
        for v in a.iter_mut() {
            *v = self.f64(field)?;
        }
        Ok(a)
    }

    pub fn f64_vec(&mut self, field: &'static str) -> Result<Vec<f64>, MsgError> {
        let n = self.array_len(field, 8)?;
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            v.push(self.f64(field)?);
        }
        Ok(v)
    }

    /// Fails when bytes are left over after the last field (CDR: beyond the up to 7 bytes of padding a
    /// serializer may add to the end).
    pub fn finish(self) -> Result<(), MsgError> {
        let slack = if self.cdr { 7 } else { 0 };
        if self.pos > self.buf.len() || self.buf.len() - self.pos > slack {
            return Err(MsgError::TrailingBytes {
                msg: self.msg,
                consumed: self.pos,
                len: self.buf.len(),
            });
        }
        Ok(())
    }
}

/// Appends ROS1 serialized values to a buffer.
pub trait Writer {
    fn put_u8(&mut self, v: u8);
    fn put_u32(&mut self, v: u32);
    fn put_i32(&mut self, v: i32);
    fn put_f32(&mut self, v: f32);
    fn put_f64(&mut self, v: f64);
    fn put_time(&mut self, t: Stamp);
    fn put_bytes(&mut self, b: &[u8]);
    fn put_str(&mut self, s: &str);
    /// Length prefix of an array; ROS1 lengths are u32 (longer arrays cannot be serialized).
    fn put_len(&mut self, n: usize);
}

impl Writer for Vec<u8> {
    fn put_u8(&mut self, v: u8) {
        self.push(v);
    }
    fn put_u32(&mut self, v: u32) {
        self.extend_from_slice(&v.to_le_bytes());
    }
    fn put_i32(&mut self, v: i32) {
        self.extend_from_slice(&v.to_le_bytes());
    }
    fn put_f32(&mut self, v: f32) {
        self.extend_from_slice(&v.to_le_bytes());
    }
    fn put_f64(&mut self, v: f64) {
        self.extend_from_slice(&v.to_le_bytes());
    }
    fn put_time(&mut self, t: Stamp) {
        self.put_u32(t.sec);
        self.put_u32(t.nsec);
    }
    fn put_bytes(&mut self, b: &[u8]) {
        self.put_len(b.len());
        self.extend_from_slice(b);
    }
    fn put_str(&mut self, s: &str) {
        self.put_bytes(s.as_bytes());
    }
    fn put_len(&mut self, n: usize) {
        self.put_u32(u32::try_from(n).unwrap_or(u32::MAX));
    }
}
