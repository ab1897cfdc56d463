//! `sensor_msgs/CameraInfo` and `sensor_msgs/RegionOfInterest`.

use crate::defs;
use crate::std_msgs::Header;
use crate::wire::{Reader, Writer};
use crate::{MsgError, RosMessage};

/// `sensor_msgs/RegionOfInterest`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RegionOfInterest {
    pub x_offset: u32,
    pub y_offset: u32,
    pub height: u32,
    pub width: u32,
    pub do_rectify: bool,
}

impl RegionOfInterest {
    fn read(r: &mut Reader<'_>) -> Result<Self, MsgError> {
        Ok(RegionOfInterest {
            x_offset: r.u32("roi.x_offset")?,
            y_offset: r.u32("roi.y_offset")?,
            height: r.u32("roi.height")?,
            width: r.u32("roi.width")?,
            do_rectify: r.bool("roi.do_rectify")?,
        })
    }
    fn write(&self, out: &mut Vec<u8>) {
        out.put_u32(self.x_offset);
        out.put_u32(self.y_offset);
        out.put_u32(self.height);
        out.put_u32(self.width);
        out.put_u8(u8::from(self.do_rectify));
    }
}

impl RosMessage for RegionOfInterest {
    const DATATYPE: &'static str = "sensor_msgs/RegionOfInterest";
    const MD5SUM: &'static str = defs::SENSOR_MSGS_REGIONOFINTEREST_MD5;
    const DEFINITION: &'static str = defs::SENSOR_MSGS_REGIONOFINTEREST_DEF;
    fn decode(buf: &[u8]) -> Result<Self, MsgError> {
        let mut r = Reader::new(buf, Self::DATATYPE);
        let v = RegionOfInterest::read(&mut r)?;
        r.finish()?;
        Ok(v)
    }
    fn encode(&self, out: &mut Vec<u8>) {
        self.write(out)
    }
}

/// `sensor_msgs/CameraInfo`: intrinsics K (3x3), distortion D, rectification R (3x3) and projection P
/// (3x4), all row-major.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CameraInfo {
    pub header: Header,
    pub height: u32,
    pub width: u32,
    pub distortion_model: String,
    pub d: Vec<f64>,
    pub k: [f64; 9],
    pub r: [f64; 9],
    pub p: [f64; 12],
    pub binning_x: u32,
    pub binning_y: u32,
    pub roi: RegionOfInterest,
}

impl RosMessage for CameraInfo {
    const DATATYPE: &'static str = "sensor_msgs/CameraInfo";
    const MD5SUM: &'static str = defs::SENSOR_MSGS_CAMERAINFO_MD5;
    const DEFINITION: &'static str = defs::SENSOR_MSGS_CAMERAINFO_DEF;
    fn decode(buf: &[u8]) -> Result<Self, MsgError> {
        Self::read_from(Reader::new(buf, Self::DATATYPE))
    }
    fn encode(&self, out: &mut Vec<u8>) {
        self.header.write(out);
        out.put_u32(self.height);
        out.put_u32(self.width);
        out.put_str(&self.distortion_model);
        out.put_len(self.d.len());
        for v in &self.d {
            out.put_f64(*v);
        }
        for v in self.k.iter().chain(self.r.iter()).chain(self.p.iter()) {
            out.put_f64(*v);
        }
        out.put_u32(self.binning_x);
        out.put_u32(self.binning_y);
        self.roi.write(out);
    }
}

impl CameraInfo {
    fn read_from(mut r: Reader<'_>) -> Result<Self, MsgError> {
        let v = CameraInfo {
            header: Header::read(&mut r)?,
            height: r.u32("height")?,
            width: r.u32("width")?,
            distortion_model: r.string("distortion_model")?,
            d: r.f64_vec("D")?,
            k: r.f64_array("K")?,
            r: r.f64_array("R")?,
            p: r.f64_array("P")?,
            binning_x: r.u32("binning_x")?,
            binning_y: r.u32("binning_y")?,
            roi: RegionOfInterest::read(&mut r)?,
        };
        r.finish()?;
        Ok(v)
    }
}

impl crate::CdrMessage for CameraInfo {
    const ROS2_TYPE: &'static str = "sensor_msgs/msg/CameraInfo";
    fn decode_cdr(buf: &[u8]) -> Result<Self, MsgError> {
        Self::read_from(Reader::cdr(buf, <Self as RosMessage>::DATATYPE)?)
    }
}
