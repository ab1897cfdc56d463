//! ROS 2 forms of the ROS1 messages this crate encodes: the `ros2msg` definition (what an MCAP schema
//! of encoding `ros2msg` holds) and the CDR bytes of a ROS1 serialized body, both derived from the ROS1
//! definition (`gendeps --cat` text: the type, then each dependency after a `=====` line and
//! `MSG: pkg/Type`). The mapping: `Header` loses `seq` and stamps as `builtin_interfaces/Time`; `time`
//! and `duration` become `builtin_interfaces/Time` and `Duration` (the same 8 bytes); every other field
//! keeps its type; CDR aligns each scalar to its size and ends strings with a NUL counted in the length.

use crate::MsgError;
use std::collections::BTreeMap;

const SEPARATOR: &str = "================================================================================";

#[derive(Debug, Clone, PartialEq)]
enum Array {
    No,
    Var,
    Fixed(usize),
}

#[derive(Debug, Clone)]
struct Field {
    ty: String,
    array: Array,
    name: String,
    /// Only in the ROS 2 form of the type (see [`ROS2_ONLY`]): written as its zero value.
    ros2_only: bool,
}

/// Fields that ROS 2 added to a ROS1 message, in ROS1 names: (type, the field they follow, their
/// definition lines), and the types they need. A body converted to CDR carries each as its zero value
/// (empty strings and arrays), so ROS 2 peers decode it with their own definition.
const ROS2_ONLY: &[(&str, &str, &[&str])] = &[
    (
        "visualization_msgs/Marker",
        "colors",
        &[
            "string texture_resource",
            "sensor_msgs/CompressedImage texture",
            "visualization_msgs/UVCoordinate[] uv_coordinates",
        ],
    ),
    (
        "visualization_msgs/Marker",
        "mesh_resource",
        &["visualization_msgs/MeshFile mesh_file"],
    ),
];

/// Types the [`ROS2_ONLY`] fields use.
const ROS2_ONLY_TYPES: &[(&str, &[&str])] = &[
    (
        "sensor_msgs/CompressedImage",
        &["std_msgs/Header header", "string format", "uint8[] data"],
    ),
    ("visualization_msgs/UVCoordinate", &["float32 u", "float32 v"]),
    (
        "visualization_msgs/MeshFile",
        &["string filename", "uint8[] data"],
    ),
];

/// A message type and its dependencies, parsed from a ROS1 definition.
#[derive(Debug, Clone)]
pub struct Ros2Type {
    /// ROS1 name of the top type.
    name: String,
    types: BTreeMap<String, Vec<Field>>,
    /// Each type's definition lines (fields and constants), in ROS1 form.
    texts: Vec<(String, Vec<String>)>,
}

fn primitive_size(ty: &str) -> Option<usize> {
    Some(match ty {
        "bool" | "int8" | "uint8" | "byte" | "char" => 1,
        "int16" | "uint16" => 2,
        "int32" | "uint32" | "float32" => 4,
        "int64" | "uint64" | "float64" => 8,
        _ => return None,
    })
}

fn package_of(name: &str) -> &str {
    name.split_once('/').map_or("", |(p, _)| p)
}

/// The full ROS1 name of `ty` used inside a type of `package`.
fn resolve(ty: &str, package: &str) -> String {
    if primitive_size(ty).is_some() || matches!(ty, "string" | "time" | "duration") || ty.contains('/') {
        ty.to_string()
    } else if ty == "Header" {
        "std_msgs/Header".into()
    } else {
        format!("{package}/{ty}")
    }
}

impl Ros2Type {
    /// Parses `definition` (ROS1 `gendeps --cat` form) of the type `name` (`pkg/Type`).
    pub fn parse(name: &str, definition: &str) -> Result<Ros2Type, MsgError> {
        let bad = |d: String| MsgError::invalid("message definition", "definition", d);
        let mut blocks: Vec<(String, String)> = Vec::new();
        let mut current = (name.to_string(), String::new());
        for line in definition.lines() {
            if line.trim() == SEPARATOR {
                continue;
            }
            if let Some(t) = line.strip_prefix("MSG: ") {
                blocks.push(std::mem::replace(
                    &mut current,
                    (t.trim().to_string(), String::new()),
                ));
                continue;
            }
            current.1.push_str(line);
            current.1.push('\n');
        }
        blocks.push(current);
        let mut types = BTreeMap::new();
        let mut texts = Vec::new();
        for (ty, text) in blocks {
            let pkg = package_of(&ty).to_string();
            let mut fields = Vec::new();
            let mut lines = Vec::new();
            for raw in text.lines() {
                let line = raw.split('#').next().unwrap_or("").trim();
                if line.is_empty() {
                    continue;
                }
                if line.split_whitespace().nth(1).is_none() {
                    return Err(bad(format!("{ty}: cannot read `{line}`")));
                }
                lines.push(line.to_string());
                if line.contains('=') {
                    continue; // a constant
                }
                fields.push(field_of(line, &pkg).map_err(|e| bad(format!("{ty}: {e}")))?);
            }
            types.insert(ty.clone(), fields);
            texts.push((ty, lines));
        }
        add_ros2_only(&mut types, &mut texts).map_err(bad)?;
        for fields in types.values() {
            for f in fields {
                let known = primitive_size(&f.ty).is_some()
                    || matches!(f.ty.as_str(), "string" | "time" | "duration")
                    || types.contains_key(&f.ty);
                if !known {
                    return Err(bad(format!("{name}: type {} is not defined", f.ty)));
                }
            }
        }
        Ok(Ros2Type {
            name: name.to_string(),
            types,
            texts,
        })
    }

    /// The ROS 2 type name, `pkg/msg/Type`.
    pub fn ros2_name(&self) -> String {
        ros2_name(&self.name)
    }

    /// The `ros2msg` schema text: the type's fields, then each dependency after a `=====` line and
    /// `MSG: pkg/msg/Type`, with `builtin_interfaces/Time` and `Duration` where used.
    pub fn ros2msg(&self) -> String {
        let mut out = String::new();
        let mut builtins = (false, false);
        for (i, (ty, lines)) in self.texts.iter().enumerate() {
            if i > 0 {
                out.push_str(SEPARATOR);
                out.push_str("\nMSG: ");
                out.push_str(&ros2_name(ty));
                out.push('\n');
            }
            let pkg = package_of(ty);
            for line in lines {
                let mut parts = line.splitn(2, char::is_whitespace);
                let (t, rest) = (parts.next().unwrap_or(""), parts.next().unwrap_or("").trim());
                if ty == "std_msgs/Header" && t == "uint32" && rest == "seq" {
                    continue;
                }
                let (base, suffix) = t.find('[').map_or((t, ""), |i| t.split_at(i));
                let base = match base {
                    "time" => {
                        builtins.0 = true;
                        "builtin_interfaces/Time".to_string()
                    }
                    "duration" => {
                        builtins.1 = true;
                        "builtin_interfaces/Duration".to_string()
                    }
                    b if primitive_size(b).is_some() || b == "string" => b.to_string(),
                    b => resolve(b, pkg),
                };
                // ROS 2 field names are lower case (CameraInfo's D, K, R, P became d, k, r, p); the
                // name does not change the bytes. Constants keep theirs.
                let rest = if rest.contains('=') {
                    rest.to_string()
                } else {
                    rest.to_lowercase()
                };
                out.push_str(&format!("{base}{suffix} {rest}\n"));
            }
        }
        for (used, name, body) in [
            (
                builtins.0,
                "builtin_interfaces/msg/Time",
                "int32 sec\nuint32 nanosec\n",
            ),
            (
                builtins.1,
                "builtin_interfaces/msg/Duration",
                "int32 sec\nuint32 nanosec\n",
            ),
        ] {
            if used {
                out.push_str(&format!("{SEPARATOR}\nMSG: {name}\n{body}"));
            }
        }
        out
    }

    /// The CDR serialization (encapsulation header first) of a ROS1 serialized body of this type.
    pub fn to_cdr(&self, ros1: &[u8]) -> Result<Vec<u8>, MsgError> {
        let mut t = Transcode {
            input: ros1,
            pos: 0,
            out: Vec::with_capacity(ros1.len() + 64),
            msg: "ROS1 → CDR",
        };
        t.out.extend_from_slice(&[0x00, 0x01, 0x00, 0x00]);
        t.message(self, &self.name)?;
        if t.pos != ros1.len() {
            return Err(MsgError::TrailingBytes {
                msg: t.msg,
                consumed: t.pos,
                len: ros1.len(),
            });
        }
        Ok(t.out)
    }
}

/// `pkg/Type` → `pkg/msg/Type`.
pub fn ros2_name(ros1: &str) -> String {
    match ros1.split_once('/') {
        Some((p, t)) => format!("{p}/msg/{t}"),
        None => ros1.to_string(),
    }
}

/// One field line (`type name`) as a [`Field`] of a type of `package`.
fn field_of(line: &str, package: &str) -> Result<Field, String> {
    let mut parts = line.split_whitespace();
    let (Some(t), Some(name)) = (parts.next(), parts.next()) else {
        return Err(format!("cannot read `{line}`"));
    };
    let (base, array) = match t.split_once('[') {
        Some((b, n)) => {
            let n = n.trim_end_matches(']');
            if n.is_empty() {
                (b, Array::Var)
            } else {
                let n = n.parse().map_err(|_| format!("array size `{n}`"))?;
                (b, Array::Fixed(n))
            }
        }
        None => (t, Array::No),
    };
    Ok(Field {
        ty: resolve(base, package),
        array,
        name: name.to_string(),
        ros2_only: false,
    })
}

/// A ROS1 `Header`'s first field, `seq`: not in ROS 2.
fn is_header_seq(ty: &str, index: usize, f: &Field) -> bool {
    ty == "std_msgs/Header" && index == 0 && f.ty == "uint32"
}

/// Inserts the [`ROS2_ONLY`] fields into the types that have them, and the types those need.
fn add_ros2_only(
    types: &mut BTreeMap<String, Vec<Field>>,
    texts: &mut Vec<(String, Vec<String>)>,
) -> Result<(), String> {
    let mut needed = Vec::new();
    for (ty, after, lines) in ROS2_ONLY {
        let Some(fields) = types.get_mut(*ty) else {
            continue;
        };
        let pkg = package_of(ty).to_string();
        let at = fields
            .iter()
            .position(|f| f.name == *after)
            .ok_or_else(|| format!("{ty}: no field {after}"))?;
        for (k, line) in lines.iter().enumerate() {
            let mut f = field_of(line, &pkg)?;
            f.ros2_only = true;
            needed.push(f.ty.clone());
            fields.insert(at + 1 + k, f);
        }
        if let Some((_, text)) = texts.iter_mut().find(|(t, _)| t == ty) {
            let at = text
                .iter()
                .position(|l| !l.contains('=') && l.split_whitespace().nth(1) == Some(*after))
                .ok_or_else(|| format!("{ty}: no line for {after}"))?;
            for (k, line) in lines.iter().enumerate() {
                text.insert(at + 1 + k, line.to_string());
            }
        }
    }
    while let Some(ty) = needed.pop() {
        if types.contains_key(&ty) || primitive_size(&ty).is_some() || ty == "string" {
            continue;
        }
        let (_, lines) = ROS2_ONLY_TYPES
            .iter()
            .find(|(t, _)| *t == ty)
            .ok_or_else(|| format!("type {ty} is not defined"))?;
        let pkg = package_of(&ty).to_string();
        let fields = lines
            .iter()
            .map(|l| field_of(l, &pkg))
            .collect::<Result<Vec<_>, _>>()?;
        needed.extend(fields.iter().map(|f| f.ty.clone()));
        types.insert(ty.clone(), fields);
        texts.push((ty, lines.iter().map(|l| l.to_string()).collect()));
    }
    Ok(())
}

struct Transcode<'a> {
    input: &'a [u8],
    pos: usize,
    out: Vec<u8>,
    msg: &'static str,
}

impl Transcode<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], MsgError> {
        let s = self
            .pos
            .checked_add(n)
            .and_then(|e| self.input.get(self.pos..e))
            .ok_or(MsgError::Truncated {
                msg: self.msg,
                field: "body",
                offset: self.pos,
                need: n,
                have: self.input.len().saturating_sub(self.pos),
            })?;
        self.pos += n;
        Ok(s)
    }

    fn align(&mut self, size: usize) {
        // CDR alignment counts from the end of the 4-byte encapsulation header
        while !(self.out.len() - 4).is_multiple_of(size) {
            self.out.push(0);
        }
    }

    fn scalar(&mut self, size: usize) -> Result<(), MsgError> {
        let b = self.take(size)?.to_vec();
        self.align(size);
        self.out.extend_from_slice(&b);
        Ok(())
    }

    fn u32(&mut self) -> Result<u32, MsgError> {
        let b = self.take(4)?;
        let mut a = [0u8; 4];
        a.copy_from_slice(b);
        Ok(u32::from_le_bytes(a))
    }

    fn count(&mut self) -> Result<usize, MsgError> {
        let n = self.u32()? as usize;
        self.align(4);
        self.out.extend_from_slice(&(n as u32).to_le_bytes());
        Ok(n)
    }

    fn field(&mut self, ty: &Ros2Type, name: &str) -> Result<(), MsgError> {
        match name {
            "string" => {
                let n = self.u32()? as usize;
                let s = self.take(n)?.to_vec();
                self.align(4);
                self.out.extend_from_slice(&((n + 1) as u32).to_le_bytes());
                self.out.extend_from_slice(&s);
                self.out.push(0);
                Ok(())
            }
            "time" | "duration" => {
                self.scalar(4)?;
                self.scalar(4)
            }
            p => match primitive_size(p) {
                Some(n) => self.scalar(n),
                None => self.message(ty, p),
            },
        }
    }

    /// The zero value of a field the ROS1 body does not have: empty strings and sequences, zero scalars.
    fn zero(&mut self, ty: &Ros2Type, f: &Field) {
        match f.array {
            Array::Var => {
                self.align(4);
                self.out.extend_from_slice(&0u32.to_le_bytes());
            }
            Array::Fixed(n) => {
                for _ in 0..n {
                    self.zero_of(ty, &f.ty);
                }
            }
            Array::No => self.zero_of(ty, &f.ty),
        }
    }

    fn zero_of(&mut self, ty: &Ros2Type, name: &str) {
        match name {
            "string" => {
                self.align(4);
                self.out.extend_from_slice(&1u32.to_le_bytes());
                self.out.push(0);
            }
            "time" | "duration" => {
                self.align(4);
                self.out.extend_from_slice(&[0; 8]);
            }
            p => match primitive_size(p) {
                Some(n) => {
                    self.align(n);
                    self.out.extend(std::iter::repeat_n(0u8, n));
                }
                None => {
                    for (i, f) in ty.types.get(p).cloned().unwrap_or_default().iter().enumerate() {
                        if is_header_seq(p, i, f) {
                            continue; // seq
                        }
                        self.zero(ty, f);
                    }
                }
            },
        }
    }

    fn message(&mut self, ty: &Ros2Type, name: &str) -> Result<(), MsgError> {
        let fields = ty.types.get(name).cloned().unwrap_or_default();
        for (i, f) in fields.iter().enumerate() {
            if is_header_seq(name, i, f) {
                self.take(4)?; // seq: not in ROS 2
                continue;
            }
            if f.ros2_only {
                self.zero(ty, f);
                continue;
            }
            let n = match f.array {
                Array::No => {
                    self.field(ty, &f.ty)?;
                    continue;
                }
                Array::Var => self.count()?,
                Array::Fixed(n) => n,
            };
            match primitive_size(&f.ty) {
                // byte arrays in one copy
                Some(1) => {
                    let b = self.take(n)?.to_vec();
                    self.out.extend_from_slice(&b);
                }
                _ => {
                    for _ in 0..n {
                        self.field(ty, &f.ty)?;
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Marker, MarkerArray, RosMessage};

    /// ROS 2 Jazzy's `visualization_msgs/msg/Marker`, field by field (rosidl's definition).
    const JAZZY_MARKER: [&str; 19] = [
        "std_msgs/Header header",
        "string ns",
        "int32 id",
        "int32 type",
        "int32 action",
        "geometry_msgs/Pose pose",
        "geometry_msgs/Vector3 scale",
        "std_msgs/ColorRGBA color",
        "builtin_interfaces/Duration lifetime",
        "bool frame_locked",
        "geometry_msgs/Point[] points",
        "std_msgs/ColorRGBA[] colors",
        "string texture_resource",
        "sensor_msgs/CompressedImage texture",
        "visualization_msgs/UVCoordinate[] uv_coordinates",
        "string text",
        "string mesh_resource",
        "visualization_msgs/MeshFile mesh_file",
        "bool mesh_use_embedded_materials",
    ];

    #[test]
    fn markers_take_the_ros2_fields_in_ros2_order_and_carry_them_empty() {
        let t = Ros2Type::parse(MarkerArray::DATATYPE, MarkerArray::DEFINITION).expect("parse");
        let text = t.ros2msg();
        let block = text
            .split(SEPARATOR)
            .find(|b| b.contains("MSG: visualization_msgs/msg/Marker\n"))
            .expect("Marker block");
        let fields: Vec<&str> = block
            .lines()
            .skip(2)
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.contains('='))
            .collect();
        assert_eq!(fields, JAZZY_MARKER);
        for ty in [
            "MSG: sensor_msgs/msg/CompressedImage",
            "MSG: visualization_msgs/msg/UVCoordinate",
            "MSG: visualization_msgs/msg/MeshFile",
        ] {
            assert!(text.contains(ty), "{ty} missing from\n{text}");
        }
        // one marker with text: the CDR grows by exactly the empty ROS 2 fields
        let m = MarkerArray {
            markers: vec![Marker {
                text: "car 0.9".into(),
                ..Marker::default()
            }],
        };
        let ros1 = m.to_bytes();
        let cdr = t.to_cdr(&ros1).expect("cdr");
        let plain = Ros2Type {
            name: t.name.clone(),
            types: t
                .types
                .iter()
                .map(|(k, v)| (k.clone(), v.iter().filter(|f| !f.ros2_only).cloned().collect()))
                .collect(),
            texts: t.texts.clone(),
        };
        let without = plain.to_cdr(&ros1).expect("cdr without");
        // texture_resource "" (4 + 1), texture: stamp 8 + frame_id "" 5 + format "" 5 (+ padding) + data 4,
        // uv_coordinates 4, mesh_file: filename "" 5 + data 4, with alignment to 4 between them
        assert!(
            cdr.len() > without.len() + 40,
            "{} vs {}",
            cdr.len(),
            without.len()
        );
        let tail = &cdr[cdr.len() - 1..];
        assert_eq!(tail, &[0u8], "mesh_use_embedded_materials last");
    }
}
