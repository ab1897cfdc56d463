//! `std_msgs/Header` and `std_msgs/String`.

use crate::defs;
use crate::wire::{Reader, Writer};
use crate::{MsgError, RosMessage};
use sensorium_core::Stamp;

/// `std_msgs/Header`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Header {
    pub seq: u32,
    pub stamp: Stamp,
    pub frame_id: String,
}

impl Header {
    pub fn new(stamp: Stamp, frame_id: impl Into<String>) -> Self {
        Header {
            seq: 0,
            stamp,
            frame_id: frame_id.into(),
        }
    }

    /// The header at the start of a stamped message's body (the rest of the body is ignored).
    pub fn decode_prefix(buf: &[u8]) -> Result<Self, MsgError> {
        Header::read(&mut Reader::new(buf, "std_msgs/Header"))
    }

    /// [`Header::decode_prefix`] of a ROS 2 (CDR) serialized stamped message.
    pub fn decode_prefix_cdr(buf: &[u8]) -> Result<Self, MsgError> {
        Header::read(&mut Reader::cdr(buf, "std_msgs/msg/Header")?)
    }

    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, MsgError> {
        Ok(Header {
            // ROS 2 headers have no sequence number
            seq: if r.is_cdr() { 0 } else { r.u32("header.seq")? },
            stamp: r.time("header.stamp")?,
            frame_id: r.string("header.frame_id")?,
        })
    }

    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        out.put_u32(self.seq);
        out.put_time(self.stamp);
        out.put_str(&self.frame_id);
    }
}

impl RosMessage for Header {
    const DATATYPE: &'static str = "std_msgs/Header";
    const MD5SUM: &'static str = defs::STD_MSGS_HEADER_MD5;
    const DEFINITION: &'static str = defs::STD_MSGS_HEADER_DEF;
    fn decode(buf: &[u8]) -> Result<Self, MsgError> {
        let mut r = Reader::new(buf, Self::DATATYPE);
        let h = Header::read(&mut r)?;
        r.finish()?;
        Ok(h)
    }
    fn encode(&self, out: &mut Vec<u8>) {
        self.write(out)
    }
}

/// `std_msgs/String` (map text travels in it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StringMsg {
    pub data: String,
}

impl RosMessage for StringMsg {
    const DATATYPE: &'static str = "std_msgs/String";
    const MD5SUM: &'static str = defs::STD_MSGS_STRING_MD5;
    const DEFINITION: &'static str = defs::STD_MSGS_STRING_DEF;
    fn decode(buf: &[u8]) -> Result<Self, MsgError> {
        Self::read_from(Reader::new(buf, Self::DATATYPE))
    }
    fn encode(&self, out: &mut Vec<u8>) {
        out.put_str(&self.data);
    }
}

impl StringMsg {
    fn read_from(mut r: Reader<'_>) -> Result<Self, MsgError> {
        let data = r.string("data")?;
        r.finish()?;
        Ok(StringMsg { data })
    }
}

impl crate::CdrMessage for StringMsg {
    const ROS2_TYPE: &'static str = "std_msgs/msg/String";
    fn decode_cdr(buf: &[u8]) -> Result<Self, MsgError> {
        Self::read_from(Reader::cdr(buf, Self::DATATYPE)?)
    }
}
