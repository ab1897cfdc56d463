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
}

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
                let mut parts = line.split_whitespace();
                let (Some(t), Some(_)) = (parts.next(), parts.next()) else {
                    return Err(bad(format!("{ty}: cannot read `{line}`")));
                };
                lines.push(line.to_string());
                if line.contains('=') {
                    continue; // a constant
                }
                let (base, array) = match t.split_once('[') {
                    Some((b, n)) => {
                        let n = n.trim_end_matches(']');
                        if n.is_empty() {
                            (b, Array::Var)
                        } else {
                            let n = n.parse().map_err(|_| bad(format!("{ty}: array size `{n}`")))?;
                            (b, Array::Fixed(n))
                        }
                    }
                    None => (t, Array::No),
                };
                fields.push(Field {
                    ty: resolve(base, &pkg),
                    array,
                });
            }
            types.insert(ty.clone(), fields);
            texts.push((ty, lines));
        }
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

    fn message(&mut self, ty: &Ros2Type, name: &str) -> Result<(), MsgError> {
        let fields = ty.types.get(name).cloned().unwrap_or_default();
        for (i, f) in fields.iter().enumerate() {
            if name == "std_msgs/Header" && i == 0 && f.ty == "uint32" {
                self.take(4)?; // seq: not in ROS 2
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
