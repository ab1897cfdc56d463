//! Messages sensorium publishes: `nav_msgs/OccupancyGrid`, `visualization_msgs/Marker`/`MarkerArray`,
//! `diagnostic_msgs/DiagnosticArray` (encode for publishing, decode for tests and replay of our output).

use crate::defs;
use crate::std_msgs::Header;
use crate::wire::{Reader, Writer};
use crate::{MsgError, RosMessage};
use sensorium_core::Stamp;

/// `geometry_msgs/Pose`: position and orientation quaternion (x, y, z, w).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pose {
    pub position: [f64; 3],
    pub orientation: [f64; 4],
}

impl Default for Pose {
    fn default() -> Self {
        Pose {
            position: [0.0; 3],
            orientation: [0.0, 0.0, 0.0, 1.0],
        }
    }
}

impl Pose {
    fn read(r: &mut Reader<'_>) -> Result<Self, MsgError> {
        Ok(Pose {
            position: r.f64_array("pose.position")?,
            orientation: r.f64_array("pose.orientation")?,
        })
    }
    fn write(&self, out: &mut Vec<u8>) {
        for v in self.position.iter().chain(self.orientation.iter()) {
            out.put_f64(*v);
        }
    }
}

/// `nav_msgs/MapMetaData`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MapMetaData {
    pub map_load_time: Stamp,
    pub resolution: f32,
    pub width: u32,
    pub height: u32,
    pub origin: Pose,
}

/// `nav_msgs/OccupancyGrid`: row-major cells, -1 unknown, 0..100 occupancy probability in percent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OccupancyGrid {
    pub header: Header,
    pub info: MapMetaData,
    pub data: Vec<i8>,
}

impl RosMessage for OccupancyGrid {
    const DATATYPE: &'static str = "nav_msgs/OccupancyGrid";
    const MD5SUM: &'static str = defs::NAV_MSGS_OCCUPANCYGRID_MD5;
    const DEFINITION: &'static str = defs::NAV_MSGS_OCCUPANCYGRID_DEF;
    fn decode(buf: &[u8]) -> Result<Self, MsgError> {
        let mut r = Reader::new(buf, Self::DATATYPE);
        let header = Header::read(&mut r)?;
        let info = MapMetaData {
            map_load_time: r.time("info.map_load_time")?,
            resolution: r.f32("info.resolution")?,
            width: r.u32("info.width")?,
            height: r.u32("info.height")?,
            origin: Pose::read(&mut r)?,
        };
        let data = r.bytes("data")?.iter().map(|&b| b as i8).collect();
        r.finish()?;
        Ok(OccupancyGrid { header, info, data })
    }
    fn encode(&self, out: &mut Vec<u8>) {
        self.header.write(out);
        out.put_time(self.info.map_load_time);
        out.put_f32(self.info.resolution);
        out.put_u32(self.info.width);
        out.put_u32(self.info.height);
        self.info.origin.write(out);
        out.put_len(self.data.len());
        out.extend(self.data.iter().map(|&v| v as u8));
    }
}

/// `visualization_msgs/Marker`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Marker {
    pub header: Header,
    pub ns: String,
    pub id: i32,
    /// ARROW 0, CUBE 1, SPHERE 2, CYLINDER 3, LINE_STRIP 4, LINE_LIST 5, CUBE_LIST 6, SPHERE_LIST 7,
    /// POINTS 8, TEXT_VIEW_FACING 9, MESH_RESOURCE 10, TRIANGLE_LIST 11.
    pub kind: i32,
    /// ADD 0, DELETE 2, DELETEALL 3.
    pub action: i32,
    pub pose: Pose,
    pub scale: [f64; 3],
    /// r, g, b, a in 0..1.
    pub color: [f32; 4],
    /// (sec, nsec); zero = forever.
    pub lifetime: (i32, i32),
    pub frame_locked: bool,
    pub points: Vec<[f64; 3]>,
    pub colors: Vec<[f32; 4]>,
    pub text: String,
    pub mesh_resource: String,
    pub mesh_use_embedded_materials: bool,
}

fn read_rgba(r: &mut Reader<'_>, field: &'static str) -> Result<[f32; 4], MsgError> {
    Ok([r.f32(field)?, r.f32(field)?, r.f32(field)?, r.f32(field)?])
}

impl Marker {
    fn read(r: &mut Reader<'_>) -> Result<Self, MsgError> {
        let header = Header::read(r)?;
        let ns = r.string("ns")?;
        let id = r.i32("id")?;
        let kind = r.i32("type")?;
        let action = r.i32("action")?;
        let pose = Pose::read(r)?;
        let scale = r.f64_array("scale")?;
        let color = read_rgba(r, "color")?;
        let lifetime = r.duration("lifetime")?;
        let frame_locked = r.bool("frame_locked")?;
        let n = r.array_len("points", 24)?;
        let mut points = Vec::with_capacity(n);
        for _ in 0..n {
            points.push(r.f64_array("points")?);
        }
        let n = r.array_len("colors", 16)?;
        let mut colors = Vec::with_capacity(n);
        for _ in 0..n {
            colors.push(read_rgba(r, "colors")?);
        }
        Ok(Marker {
            header,
            ns,
            id,
            kind,
            action,
            pose,
            scale,
            color,
            lifetime,
            frame_locked,
            points,
            colors,
            text: r.string("text")?,
            mesh_resource: r.string("mesh_resource")?,
            mesh_use_embedded_materials: r.bool("mesh_use_embedded_materials")?,
        })
    }
    fn write(&self, out: &mut Vec<u8>) {
        self.header.write(out);
        out.put_str(&self.ns);
        out.put_i32(self.id);
        out.put_i32(self.kind);
        out.put_i32(self.action);
        self.pose.write(out);
        for v in self.scale {
            out.put_f64(v);
        }
        for v in self.color {
            out.put_f32(v);
        }
        out.put_i32(self.lifetime.0);
        out.put_i32(self.lifetime.1);
        out.put_u8(u8::from(self.frame_locked));
        out.put_len(self.points.len());
        for p in &self.points {
            for v in p {
                out.put_f64(*v);
            }
        }
        out.put_len(self.colors.len());
        for c in &self.colors {
            for v in c {
                out.put_f32(*v);
            }
        }
        out.put_str(&self.text);
        out.put_str(&self.mesh_resource);
        out.put_u8(u8::from(self.mesh_use_embedded_materials));
    }
}

impl RosMessage for Marker {
    const DATATYPE: &'static str = "visualization_msgs/Marker";
    const MD5SUM: &'static str = defs::VISUALIZATION_MSGS_MARKER_MD5;
    const DEFINITION: &'static str = defs::VISUALIZATION_MSGS_MARKER_DEF;
    fn decode(buf: &[u8]) -> Result<Self, MsgError> {
        let mut r = Reader::new(buf, Self::DATATYPE);
        let m = Marker::read(&mut r)?;
        r.finish()?;
        Ok(m)
    }
    fn encode(&self, out: &mut Vec<u8>) {
        self.write(out)
    }
}

/// `visualization_msgs/MarkerArray`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MarkerArray {
    pub markers: Vec<Marker>,
}

impl RosMessage for MarkerArray {
    const DATATYPE: &'static str = "visualization_msgs/MarkerArray";
    const MD5SUM: &'static str = defs::VISUALIZATION_MSGS_MARKERARRAY_MD5;
    const DEFINITION: &'static str = defs::VISUALIZATION_MSGS_MARKERARRAY_DEF;
    fn decode(buf: &[u8]) -> Result<Self, MsgError> {
        let mut r = Reader::new(buf, Self::DATATYPE);
        // Smallest Marker: header 16 + ns 4 + 3*4 + pose 56 + scale 24 + color 16 + 8 + 1 + 4 + 4 + 4 + 4 + 1.
        let n = r.array_len("markers", 154)?;
        let mut markers = Vec::with_capacity(n);
        for _ in 0..n {
            markers.push(Marker::read(&mut r)?);
        }
        r.finish()?;
        Ok(MarkerArray { markers })
    }
    fn encode(&self, out: &mut Vec<u8>) {
        out.put_len(self.markers.len());
        for m in &self.markers {
            m.write(out);
        }
    }
}

/// `diagnostic_msgs/KeyValue`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyValue {
    pub key: String,
    pub value: String,
}

/// `diagnostic_msgs/DiagnosticStatus`: level OK 0, WARN 1, ERROR 2, STALE 3.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiagnosticStatus {
    pub level: u8,
    pub name: String,
    pub message: String,
    pub hardware_id: String,
    pub values: Vec<KeyValue>,
}

/// `diagnostic_msgs/DiagnosticArray`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiagnosticArray {
    pub header: Header,
    pub status: Vec<DiagnosticStatus>,
}

impl RosMessage for DiagnosticArray {
    const DATATYPE: &'static str = "diagnostic_msgs/DiagnosticArray";
    const MD5SUM: &'static str = defs::DIAGNOSTIC_MSGS_DIAGNOSTICARRAY_MD5;
    const DEFINITION: &'static str = defs::DIAGNOSTIC_MSGS_DIAGNOSTICARRAY_DEF;
    fn decode(buf: &[u8]) -> Result<Self, MsgError> {
        let mut r = Reader::new(buf, Self::DATATYPE);
        let header = Header::read(&mut r)?;
        let n = r.array_len("status", 17)?;
        let mut status = Vec::with_capacity(n);
        for _ in 0..n {
            let level = r.u8("status.level")?;
            let name = r.string("status.name")?;
            let message = r.string("status.message")?;
            let hardware_id = r.string("status.hardware_id")?;
            let m = r.array_len("status.values", 8)?;
            let mut values = Vec::with_capacity(m);
            for _ in 0..m {
                values.push(KeyValue {
                    key: r.string("values.key")?,
                    value: r.string("values.value")?,
                });
            }
            status.push(DiagnosticStatus {
                level,
                name,
                message,
                hardware_id,
                values,
            });
        }
        r.finish()?;
        Ok(DiagnosticArray { header, status })
    }
    fn encode(&self, out: &mut Vec<u8>) {
        self.header.write(out);
        out.put_len(self.status.len());
        for s in &self.status {
            out.put_u8(s.level);
            out.put_str(&s.name);
            out.put_str(&s.message);
            out.put_str(&s.hardware_id);
            out.put_len(s.values.len());
            for kv in &s.values {
                out.put_str(&kv.key);
                out.put_str(&kv.value);
            }
        }
    }
}
