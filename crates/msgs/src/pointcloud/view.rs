//! [`PointCloud2View`]: a layout-checked view of a cloud that reads fields by name, offset and datatype
//! (either byte order) straight out of the message bytes, and converts the cloud to a packed SoA.

use super::{FieldType, PointCloud2, PointCloud2Ref, PointField, MSG};
use crate::std_msgs::Header;
use crate::MsgError;
use sensorium_core::PointsSoA;

/// Where one field lives inside a point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldAccess {
    pub offset: usize,
    pub ty: FieldType,
}

/// The pieces of a cloud a [`PointCloud2View`] reads, borrowed from either form.
pub(super) struct Parts<'a> {
    pub(super) header: &'a Header,
    pub(super) fields: &'a [PointField],
    pub(super) width: u32,
    pub(super) height: u32,
    pub(super) point_step: u32,
    pub(super) row_step: u32,
    pub(super) is_bigendian: bool,
    pub(super) data: &'a [u8],
}

/// A checked view of a cloud, owned ([`PointCloud2View::new`]) or borrowed from the message bytes
/// ([`PointCloud2Ref::view`]): layout validated once, then fields are read by offset and datatype
/// (honouring `is_bigendian`) without copying the cloud.
#[derive(Debug, Clone)]
pub struct PointCloud2View<'a> {
    header: &'a Header,
    fields: &'a [PointField],
    data: &'a [u8],
    is_bigendian: bool,
    width: usize,
    height: usize,
    point_step: usize,
    row_step: usize,
    pub x: FieldAccess,
    pub y: FieldAccess,
    pub z: FieldAccess,
    /// `intensity` (or `i`, `reflectivity`); absent → intensity 0 in [`PointCloud2View::to_soa`].
    pub intensity: Option<FieldAccess>,
    /// `ring` (any integer type).
    pub ring: Option<FieldAccess>,
    /// `time`, `t` or `timestamp` (any type).
    pub time: Option<FieldAccess>,
}

/// Values at or above this many seconds in a time field are absolute epoch times, not offsets.
const ABSOLUTE_TIME_S: f64 = 1.0e6;

impl<'a> PointCloud2View<'a> {
    /// Validates the layout of an owned cloud: `data.len() == row_step * height`,
    /// `width * point_step <= row_step`, every field inside `point_step`, a known datatype for the fields
    /// read, and x, y, z present. A received cloud is better read through [`PointCloud2Ref::view`].
    pub fn new(cloud: &'a PointCloud2) -> Result<Self, MsgError> {
        Self::from_parts(Parts {
            header: &cloud.header,
            fields: &cloud.fields,
            width: cloud.width,
            height: cloud.height,
            point_step: cloud.point_step,
            row_step: cloud.row_step,
            is_bigendian: cloud.is_bigendian,
            data: &cloud.data,
        })
    }

    /// The same checks as [`PointCloud2View::new`] on a borrowed cloud (also [`PointCloud2Ref::view`]).
    pub fn from_ref(cloud: &'a PointCloud2Ref<'_>) -> Result<Self, MsgError> {
        cloud.view()
    }

    pub(super) fn from_parts(c: Parts<'a>) -> Result<Self, MsgError> {
        let (w, h) = (u64::from(c.width), u64::from(c.height));
        let (ps, rs) = (u64::from(c.point_step), u64::from(c.row_step));
        let len = c.data.len() as u64;
        if rs.checked_mul(h) != Some(len) {
            return Err(MsgError::invalid(
                MSG,
                "data",
                format!(
                    "length {len} != row_step {rs} * height {h} (= {})",
                    rs as u128 * h as u128
                ),
            ));
        }
        if w * ps > rs {
            return Err(MsgError::invalid(
                MSG,
                "row_step",
                format!("{rs} < width {w} * point_step {ps} (= {})", w * ps),
            ));
        }
        if w * h > 0 && ps == 0 {
            return Err(MsgError::invalid(
                MSG,
                "point_step",
                format!("0 with {} points", w * h),
            ));
        }
        for f in c.fields {
            let size = FieldType::from_u8(f.datatype).map(FieldType::size).unwrap_or(1) as u64;
            let end = u64::from(f.offset) + size * u64::from(f.count.max(1));
            if end > ps {
                return Err(MsgError::invalid(
                    MSG,
                    format!("fields[{:?}]", f.name),
                    format!(
                        "offset {} + {} x {} bytes = {end} runs past point_step {ps}",
                        f.offset,
                        f.count.max(1),
                        size
                    ),
                ));
            }
        }
        let find = |names: &[&str]| -> Result<Option<FieldAccess>, MsgError> {
            for name in names {
                if let Some(f) = c.fields.iter().find(|f| f.name == *name) {
                    return field_access(f).map(Some);
                }
            }
            Ok(None)
        };
        let need = |name: &str| -> Result<FieldAccess, MsgError> {
            find(&[name])?.ok_or_else(|| {
                let have: Vec<&str> = c.fields.iter().map(|f| f.name.as_str()).collect();
                MsgError::invalid(MSG, "fields", format!("no `{name}` field (fields: {have:?})"))
            })
        };
        Ok(PointCloud2View {
            header: c.header,
            fields: c.fields,
            data: c.data,
            is_bigendian: c.is_bigendian,
            width: w as usize,
            height: h as usize,
            point_step: ps as usize,
            row_step: rs as usize,
            x: need("x")?,
            y: need("y")?,
            z: need("z")?,
            intensity: find(&["intensity", "i", "reflectivity"])?,
            ring: find(&["ring"])?,
            time: find(&["time", "t", "timestamp"])?,
        })
    }

    pub fn header(&self) -> &'a Header {
        self.header
    }

    pub fn fields(&self) -> &'a [PointField] {
        self.fields
    }

    /// The point bytes (`height` rows of `row_step`), where the cloud lives: inside the message body
    /// for a [`PointCloud2Ref`].
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    pub fn is_bigendian(&self) -> bool {
        self.is_bigendian
    }

    /// Number of points (`width * height`, NaN points included).
    pub fn len(&self) -> usize {
        self.width * self.height
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes of point `i` (row-major over `height` x `width`).
    pub fn point_bytes(&self, i: usize) -> Option<&'a [u8]> {
        if i >= self.len() {
            return None;
        }
        let start = (i / self.width) * self.row_step + (i % self.width) * self.point_step;
        self.data.get(start..start + self.point_step)
    }

    /// Field `f` of point `i`, converted exactly to f64 (as `read_points` gives it).
    pub fn get(&self, f: FieldAccess, i: usize) -> Option<f64> {
        let p = self.point_bytes(i)?;
        read_f64(p, f, self.is_bigendian)
    }

    /// Where the field called `name` lives (`None` when the cloud has no such field).
    pub fn field(&self, name: &str) -> Result<Option<FieldAccess>, MsgError> {
        self.fields
            .iter()
            .find(|f| f.name == name)
            .map(field_access)
            .transpose()
    }

    /// A field by name, every point (NaN points included), converted exactly to f64.
    pub fn field_f64(&self, name: &str) -> Result<Vec<f64>, MsgError> {
        let acc = self
            .field(name)?
            .ok_or_else(|| MsgError::invalid(MSG, "fields", format!("no `{name}` field")))?;
        (0..self.len())
            .map(|i| {
                self.get(acc, i).ok_or_else(|| {
                    MsgError::invalid(MSG, format!("fields[{name:?}]"), format!("point {i} out of data"))
                })
            })
            .collect()
    }

    /// `ring` of every point (NaN points included), or `None` when the cloud has no ring field.
    pub fn ring_f64(&self) -> Option<Result<Vec<f64>, MsgError>> {
        let f = self.ring?;
        Some(self.column(f, "ring"))
    }

    /// The time field (`time`, `t` or `timestamp`) of every point as stored (NaN points included), or
    /// `None` when the cloud has none.
    pub fn time_f64(&self) -> Option<Result<Vec<f64>, MsgError>> {
        let f = self.time?;
        Some(self.column(f, "time"))
    }

    fn column(&self, f: FieldAccess, what: &str) -> Result<Vec<f64>, MsgError> {
        (0..self.len())
            .map(|i| {
                self.get(f, i)
                    .ok_or_else(|| MsgError::invalid(MSG, what.to_string(), format!("point {i} out of data")))
            })
            .collect()
    }

    fn is_fast_layout(&self) -> bool {
        let f32_at = |a: FieldAccess, off: usize| a.ty == FieldType::F32 && a.offset == off;
        !self.is_bigendian
            && f32_at(self.x, 0)
            && f32_at(self.y, 4)
            && f32_at(self.z, 8)
            && self.intensity.is_some_and(|a| f32_at(a, 12))
            && self.ring.is_none()
            && self.time.is_none()
    }

    /// Packed float32 SoA of x, y, z, intensity (+ring, +time when present), dropping points whose x, y or
    /// z is NaN, in one pass over the points. Time becomes seconds relative to the header stamp when the
    /// field holds absolute epoch seconds (values ≥ 1e6), else it is taken as an offset already.
    pub fn to_soa(&self) -> PointsSoA {
        let mut soa = PointsSoA::with_capacity(self.len());
        soa.stamp = self.header.stamp;
        soa.frame_id = self.header.frame_id.clone();
        let ps = self.point_step;
        if self.is_fast_layout() {
            // the fields were checked to lie inside point_step: x, y, z, intensity are its first 16 bytes
            if ps < 16 {
                return soa;
            }
            for row in 0..self.height {
                let start = row * self.row_step;
                let Some(bytes) = self.data.get(start..start + self.width * ps) else {
                    break;
                };
                // justified: every chunk is `ps` >= 16 bytes (checked above), so p[0..16] cannot panic; the
                // check is hoisted out of the loop, where a per-point `first_chunk` costs ~10% of this decode
                #[allow(clippy::indexing_slicing)]
                for p in bytes.chunks_exact(ps) {
                    let x = f32::from_le_bytes([p[0], p[1], p[2], p[3]]);
                    let y = f32::from_le_bytes([p[4], p[5], p[6], p[7]]);
                    let z = f32::from_le_bytes([p[8], p[9], p[10], p[11]]);
                    let i = f32::from_le_bytes([p[12], p[13], p[14], p[15]]);
                    if !(x.is_nan() || y.is_nan() || z.is_nan()) {
                        soa.push(x, y, z, i);
                    }
                }
            }
            return soa;
        }
        let be = self.is_bigendian;
        let stamp = self.header.stamp.as_secs_f64();
        let mut ring = self.ring.map(|_| Vec::with_capacity(self.len()));
        let mut time = self.time.map(|_| Vec::with_capacity(self.len()));
        for row in 0..self.height {
            let start = row * self.row_step;
            let Some(bytes) = self.data.get(start..start + self.width * ps) else {
                break;
            };
            for p in bytes.chunks_exact(ps) {
                let rd = |a: FieldAccess| read_f64(p, a, be).unwrap_or(f64::NAN);
                let (x, y, z) = (rd(self.x), rd(self.y), rd(self.z));
                if x.is_nan() || y.is_nan() || z.is_nan() {
                    continue;
                }
                let i = self.intensity.map(rd).unwrap_or(0.0);
                soa.push(x as f32, y as f32, z as f32, i as f32);
                if let (Some(v), Some(a)) = (ring.as_mut(), self.ring) {
                    let r = rd(a);
                    v.push(if r.is_nan() {
                        0
                    } else {
                        r.clamp(0.0, f64::from(u16::MAX)) as u16
                    });
                }
                if let (Some(v), Some(a)) = (time.as_mut(), self.time) {
                    let t = rd(a);
                    v.push(if t.abs() >= ABSOLUTE_TIME_S {
                        (t - stamp) as f32
                    } else {
                        t as f32
                    });
                }
            }
        }
        soa.ring = ring;
        soa.time = time;
        soa
    }
}

fn field_access(f: &PointField) -> Result<FieldAccess, MsgError> {
    let ty = FieldType::from_u8(f.datatype).ok_or_else(|| {
        MsgError::invalid(
            MSG,
            format!("fields[{:?}].datatype", f.name),
            format!("unknown datatype {}", f.datatype),
        )
    })?;
    Ok(FieldAccess {
        offset: f.offset as usize,
        ty,
    })
}

/// Reads one field (first element) of a point as f64; `None` when it lies outside `p`.
#[inline]
fn read_f64(p: &[u8], a: FieldAccess, be: bool) -> Option<f64> {
    macro_rules! rd {
        ($t:ty, $n:expr) => {{
            let b: [u8; $n] = p.get(a.offset..a.offset + $n)?.try_into().ok()?;
            if be {
                <$t>::from_be_bytes(b)
            } else {
                <$t>::from_le_bytes(b)
            }
        }};
    }
    Some(match a.ty {
        FieldType::I8 => f64::from(rd!(i8, 1)),
        FieldType::U8 => f64::from(rd!(u8, 1)),
        FieldType::I16 => f64::from(rd!(i16, 2)),
        FieldType::U16 => f64::from(rd!(u16, 2)),
        FieldType::I32 => f64::from(rd!(i32, 4)),
        FieldType::U32 => f64::from(rd!(u32, 4)),
        FieldType::F32 => f64::from(rd!(f32, 4)),
        FieldType::F64 => rd!(f64, 8),
    })
}
