//! `sensor_msgs/PointCloud2`, `sensor_msgs/PointField`, the borrowed [`PointCloud2Ref`] (decoded in place,
//! `data` still in the message bytes), and [`PointCloud2View`], which reads fields by name, offset and
//! datatype straight out of those bytes (no layout is assumed). [`decode_soa`] goes from a serialized
//! message to the packed float32 SoA in one pass without copying the cloud.

use crate::defs;
use crate::std_msgs::Header;
use crate::wire::{Reader, Writer};
use crate::{MsgError, RosMessage};
use sensorium_core::PointsSoA;

mod view;

use view::Parts;
pub use view::{FieldAccess, PointCloud2View};

const MSG: &str = "sensor_msgs/PointCloud2";

/// `sensor_msgs/PointField` datatypes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    I8 = 1,
    U8 = 2,
    I16 = 3,
    U16 = 4,
    I32 = 5,
    U32 = 6,
    F32 = 7,
    F64 = 8,
}

impl FieldType {
    pub fn from_u8(d: u8) -> Option<FieldType> {
        Some(match d {
            1 => FieldType::I8,
            2 => FieldType::U8,
            3 => FieldType::I16,
            4 => FieldType::U16,
            5 => FieldType::I32,
            6 => FieldType::U32,
            7 => FieldType::F32,
            8 => FieldType::F64,
            _ => return None,
        })
    }
    /// Size of one element in bytes.
    pub fn size(self) -> usize {
        match self {
            FieldType::I8 | FieldType::U8 => 1,
            FieldType::I16 | FieldType::U16 => 2,
            FieldType::I32 | FieldType::U32 | FieldType::F32 => 4,
            FieldType::F64 => 8,
        }
    }
    pub fn is_float(self) -> bool {
        matches!(self, FieldType::F32 | FieldType::F64)
    }
}

/// `sensor_msgs/PointField`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PointField {
    pub name: String,
    pub offset: u32,
    pub datatype: u8,
    pub count: u32,
}

impl PointField {
    pub fn new(name: &str, offset: u32, datatype: FieldType) -> Self {
        PointField {
            name: name.to_string(),
            offset,
            datatype: datatype as u8,
            count: 1,
        }
    }
}

impl RosMessage for PointField {
    const DATATYPE: &'static str = "sensor_msgs/PointField";
    const MD5SUM: &'static str = defs::SENSOR_MSGS_POINTFIELD_MD5;
    const DEFINITION: &'static str = defs::SENSOR_MSGS_POINTFIELD_DEF;
    fn decode(buf: &[u8]) -> Result<Self, MsgError> {
        let mut r = Reader::new(buf, Self::DATATYPE);
        let f = read_field(&mut r)?;
        r.finish()?;
        Ok(f)
    }
    fn encode(&self, out: &mut Vec<u8>) {
        out.put_str(&self.name);
        out.put_u32(self.offset);
        out.put_u8(self.datatype);
        out.put_u32(self.count);
    }
}

fn read_field(r: &mut Reader<'_>) -> Result<PointField, MsgError> {
    Ok(PointField {
        name: r.string("fields.name")?,
        offset: r.u32("fields.offset")?,
        datatype: r.u8("fields.datatype")?,
        count: r.u32("fields.count")?,
    })
}

/// `sensor_msgs/PointCloud2`. `data` holds `height` rows of `row_step` bytes; each point is `point_step`
/// bytes laid out as `fields` say.
///
/// The owned form, for building and publishing clouds. To read a received cloud, decode the borrowed
/// [`PointCloud2Ref`] instead (or call [`decode_soa`]): it does not copy `data`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PointCloud2 {
    pub header: Header,
    pub height: u32,
    pub width: u32,
    pub fields: Vec<PointField>,
    pub is_bigendian: bool,
    pub point_step: u32,
    pub row_step: u32,
    pub data: Vec<u8>,
    pub is_dense: bool,
}

/// A `sensor_msgs/PointCloud2` decoded in place: `data` borrows the serialized message body (a bag
/// payload, a raw ROS message), so decoding costs the header and field list, not the cloud.
///
/// Decoding checks the wire structure only (as [`PointCloud2::decode`], which is this plus one copy);
/// the layout (`data` length against `row_step * height`, fields inside `point_step`, x/y/z present) is
/// checked by [`PointCloud2Ref::view`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PointCloud2Ref<'a> {
    pub header: Header,
    pub height: u32,
    pub width: u32,
    pub fields: Vec<PointField>,
    pub is_bigendian: bool,
    pub point_step: u32,
    pub row_step: u32,
    pub data: &'a [u8],
    pub is_dense: bool,
}

impl<'a> PointCloud2Ref<'a> {
    /// Decodes a serialized body (without the 4-byte length prefix); `data` borrows from `buf`.
    pub fn decode(buf: &'a [u8]) -> Result<Self, MsgError> {
        Self::read_from(Reader::new(buf, MSG))
    }

    /// Decodes a ROS 2 (CDR) serialized message; `data` borrows from `buf`.
    pub fn decode_cdr(buf: &'a [u8]) -> Result<Self, MsgError> {
        Self::read_from(Reader::cdr(buf, MSG)?)
    }

    fn read_from(mut r: Reader<'a>) -> Result<Self, MsgError> {
        let header = Header::read(&mut r)?;
        let height = r.u32("height")?;
        let width = r.u32("width")?;
        // A PointField is at least 4 (name) + 4 + 1 + 4 bytes.
        let n = r.array_len("fields", 13)?;
        let mut fields = Vec::with_capacity(n);
        for _ in 0..n {
            fields.push(read_field(&mut r)?);
        }
        let is_bigendian = r.bool("is_bigendian")?;
        let point_step = r.u32("point_step")?;
        let row_step = r.u32("row_step")?;
        let data = r.bytes("data")?;
        let is_dense = r.bool("is_dense")?;
        r.finish()?;
        Ok(PointCloud2Ref {
            header,
            height,
            width,
            fields,
            is_bigendian,
            point_step,
            row_step,
            data,
            is_dense,
        })
    }

    /// The layout-checked view that reads points out of `data` in place.
    pub fn view(&self) -> Result<PointCloud2View<'_>, MsgError> {
        PointCloud2View::from_parts(Parts {
            header: &self.header,
            fields: &self.fields,
            width: self.width,
            height: self.height,
            point_step: self.point_step,
            row_step: self.row_step,
            is_bigendian: self.is_bigendian,
            data: self.data,
        })
    }

    /// The owned message (the one copy of `data`).
    pub fn into_owned(self) -> PointCloud2 {
        PointCloud2 {
            header: self.header,
            height: self.height,
            width: self.width,
            fields: self.fields,
            is_bigendian: self.is_bigendian,
            point_step: self.point_step,
            row_step: self.row_step,
            data: self.data.to_vec(),
            is_dense: self.is_dense,
        }
    }
}

/// Serialized `sensor_msgs/PointCloud2` body → packed float32 SoA in one pass over the points, reading
/// them straight out of `payload` (no copy of the cloud). The same as
/// `PointCloud2Ref::decode(payload)?.view()?.to_soa()`; errors name the field and numbers.
pub fn decode_soa(payload: &[u8]) -> Result<PointsSoA, MsgError> {
    Ok(PointCloud2Ref::decode(payload)?.view()?.to_soa())
}

/// [`decode_soa`] for a ROS 2 (CDR) serialized `sensor_msgs/msg/PointCloud2`.
pub fn decode_soa_cdr(payload: &[u8]) -> Result<PointsSoA, MsgError> {
    Ok(PointCloud2Ref::decode_cdr(payload)?.view()?.to_soa())
}

impl crate::CdrMessage for PointCloud2 {
    const ROS2_TYPE: &'static str = "sensor_msgs/msg/PointCloud2";
    fn decode_cdr(buf: &[u8]) -> Result<Self, MsgError> {
        PointCloud2Ref::decode_cdr(buf).map(PointCloud2Ref::into_owned)
    }
}

impl RosMessage for PointCloud2 {
    const DATATYPE: &'static str = MSG;
    const MD5SUM: &'static str = defs::SENSOR_MSGS_POINTCLOUD2_MD5;
    const DEFINITION: &'static str = defs::SENSOR_MSGS_POINTCLOUD2_DEF;
    fn decode(buf: &[u8]) -> Result<Self, MsgError> {
        PointCloud2Ref::decode(buf).map(PointCloud2Ref::into_owned)
    }
    fn encode(&self, out: &mut Vec<u8>) {
        out.reserve(self.data.len() + 64 + 24 * self.fields.len());
        self.header.write(out);
        out.put_u32(self.height);
        out.put_u32(self.width);
        out.put_len(self.fields.len());
        for f in &self.fields {
            f.encode(out);
        }
        out.put_u8(u8::from(self.is_bigendian));
        out.put_u32(self.point_step);
        out.put_u32(self.row_step);
        out.put_bytes(&self.data);
        out.put_u8(u8::from(self.is_dense));
    }
}

impl PointCloud2 {
    /// An unorganized (height 1) little-endian cloud with float32 x, y, z, intensity at offsets 0, 4, 8, 12,
    /// then `ring` (uint16) and `time` (float32, seconds relative to the header stamp) when the SoA has them.
    pub fn from_soa(soa: &PointsSoA, header: Header) -> PointCloud2 {
        let n = soa.len();
        let mut fields = vec![
            PointField::new("x", 0, FieldType::F32),
            PointField::new("y", 4, FieldType::F32),
            PointField::new("z", 8, FieldType::F32),
            PointField::new("intensity", 12, FieldType::F32),
        ];
        let mut step = 16u32;
        let ring = soa.ring.as_ref().filter(|r| r.len() == n);
        let time = soa.time.as_ref().filter(|t| t.len() == n);
        if ring.is_some() {
            fields.push(PointField::new("ring", step, FieldType::U16));
            step += 2;
        }
        if time.is_some() {
            fields.push(PointField::new("time", step, FieldType::F32));
            step += 4;
        }
        let mut data = Vec::with_capacity(n * step as usize);
        for (i, x) in soa.x.iter().enumerate() {
            data.extend_from_slice(&x.to_le_bytes());
            data.extend_from_slice(&soa.y.get(i).copied().unwrap_or(f32::NAN).to_le_bytes());
            data.extend_from_slice(&soa.z.get(i).copied().unwrap_or(f32::NAN).to_le_bytes());
            data.extend_from_slice(&soa.intensity.get(i).copied().unwrap_or(0.0).to_le_bytes());
            if let Some(r) = ring.and_then(|r| r.get(i)) {
                data.extend_from_slice(&r.to_le_bytes());
            }
            if let Some(t) = time.and_then(|t| t.get(i)) {
                data.extend_from_slice(&t.to_le_bytes());
            }
        }
        PointCloud2 {
            header,
            height: 1,
            width: u32::try_from(n).unwrap_or(u32::MAX),
            fields,
            is_bigendian: false,
            point_step: step,
            row_step: step.saturating_mul(u32::try_from(n).unwrap_or(u32::MAX)),
            data,
            is_dense: soa
                .x
                .iter()
                .zip(&soa.y)
                .zip(&soa.z)
                .all(|((x, y), z)| !(x.is_nan() || y.is_nan() || z.is_nan())),
        }
    }
}
