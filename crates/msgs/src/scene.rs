//! `sensorium_msgs/Scene`: wire encoding of a [`Scene`], its md5sum and full definition, computed the
//! way genmsg computes them from `sensorium_msgs/msg/Scene.msg` (no rosrust codegen involved). The node
//! publishes it and `replay --record` writes it, from this one encoder. The definition is the ROS package
//! `sensorium_msgs` beside this crate's sources (`crates/msgs/sensorium_msgs`).

use crate::defs;
use crate::wire::Writer;
use md5::{Digest, Md5};
use sensorium_core::{Scene, Stamp};
use std::sync::OnceLock;

/// The message definition, as shipped in the `sensorium_msgs` package.
pub const SCENE_MSG: &str = include_str!("../sensorium_msgs/msg/Scene.msg");
pub const DATATYPE: &str = "sensorium_msgs/Scene";
/// md5sum of `geometry_msgs/Pose` (genmsg).
pub const GEOMETRY_MSGS_POSE_MD5: &str = "e45d45a5a1ce597b249e23fb30fc871f";

const SEPARATOR: &str = "================================================================================";

const BUILTINS: &[&str] = &[
    "bool", "byte", "char", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64",
    "float32", "float64", "string", "time", "duration",
];

/// A dependency of a message definition that is not a built-in type.
#[derive(Debug, thiserror::Error)]
#[error("{msg}: field type {field_type:?} has no known md5sum")]
pub struct UnknownType {
    pub msg: String,
    pub field_type: String,
}

/// genmsg's md5 text of a definition: constants (`type NAME=value`) then fields, comments and blank
/// lines dropped, each non-built-in field type replaced by its md5sum (array suffix dropped).
pub fn md5_text(
    msg: &str,
    definition: &str,
    dep_md5: &dyn Fn(&str) -> Option<&'static str>,
) -> Result<String, UnknownType> {
    let mut constants = Vec::new();
    let mut fields = Vec::new();
    for raw in definition.lines() {
        // string constants keep everything after '='; others lose the comment
        let (ty_part, _) = match raw.trim().split_once(char::is_whitespace) {
            Some(x) => x,
            None => (raw.trim(), ""),
        };
        let line = if ty_part == "string" && raw.contains('=') {
            raw.trim()
        } else {
            raw.split('#').next().unwrap_or("").trim()
        };
        if line.is_empty() {
            continue;
        }
        let Some((ty, rest)) = line.split_once(char::is_whitespace) else {
            continue;
        };
        let rest = rest.trim();
        if let Some((name, value)) = rest.split_once('=') {
            let value = if ty == "string" {
                value.trim_start()
            } else {
                value.trim()
            };
            constants.push(format!("{ty} {}={value}", name.trim()));
            continue;
        }
        let base = ty.split('[').next().unwrap_or(ty);
        if BUILTINS.contains(&base) {
            fields.push(format!("{ty} {rest}"));
        } else {
            let full = if base == "Header" {
                "std_msgs/Header".to_string()
            } else {
                base.to_string()
            };
            let md5 = dep_md5(&full).ok_or_else(|| UnknownType {
                msg: msg.to_string(),
                field_type: full.clone(),
            })?;
            fields.push(format!("{md5} {rest}"));
        }
    }
    constants.extend(fields);
    Ok(constants.join("\n"))
}

fn scene_deps(t: &str) -> Option<&'static str> {
    match t {
        "std_msgs/Header" => Some(defs::STD_MSGS_HEADER_MD5),
        "geometry_msgs/Pose" => Some(GEOMETRY_MSGS_POSE_MD5),
        _ => None,
    }
}

/// The md5sum of `sensorium_msgs/Scene`.
pub fn md5sum() -> &'static str {
    static MD5: OnceLock<String> = OnceLock::new();
    MD5.get_or_init(|| match md5_text(DATATYPE, SCENE_MSG, &scene_deps) {
        Ok(text) => format!("{:x}", Md5::digest(text.as_bytes())),
        // the definition is compiled in; its dependencies are listed in scene_deps
        Err(e) => unreachable!("{e}"),
    })
}

/// One `MSG: type` section of a full definition text.
fn section<'a>(full: &'a str, datatype: &str) -> Option<&'a str> {
    let start_tag = format!("MSG: {datatype}\n");
    let start = full.find(&start_tag)? + start_tag.len();
    let rest = &full[start..];
    let end = rest.find(&format!("\n{SEPARATOR}")).map_or(rest.len(), |e| e + 1);
    Some(&rest[..end])
}

/// The full definition (`gendeps --cat` form): Scene.msg, then Header, Pose, Point, Quaternion.
pub fn definition() -> &'static str {
    static DEF: OnceLock<String> = OnceLock::new();
    DEF.get_or_init(|| {
        let grid = defs::NAV_MSGS_OCCUPANCYGRID_DEF;
        let mut out = String::from(SCENE_MSG);
        if !out.ends_with('\n') {
            out.push('\n');
        }
        let header = defs::STD_MSGS_HEADER_DEF;
        out.push_str(&format!("\n{SEPARATOR}\nMSG: std_msgs/Header\n{header}"));
        if !out.ends_with('\n') {
            out.push('\n');
        }
        for t in [
            "geometry_msgs/Pose",
            "geometry_msgs/Point",
            "geometry_msgs/Quaternion",
        ] {
            let body = section(grid, t).unwrap_or("").trim_end_matches('\n');
            out.push_str(&format!("\n{SEPARATOR}\nMSG: {t}\n{body}\n"));
        }
        out
    })
}

fn put_f32s(out: &mut Vec<u8>, v: &[f32]) {
    out.put_len(v.len());
    for x in v {
        out.put_f32(*x);
    }
}

fn put_strs<'a>(out: &mut Vec<u8>, v: impl ExactSizeIterator<Item = &'a str>) {
    out.put_len(v.len());
    for s in v {
        out.put_str(s);
    }
}

/// Serializes `scene` as a `sensorium_msgs/Scene` body (no length prefix); `header_seq` is the
/// header's sequence number, `with_features` whether the BEV feature tensor is included.
pub fn encode(scene: &Scene, header_seq: u32, with_features: bool) -> Vec<u8> {
    let bev = &scene.bev;
    let mut out = Vec::with_capacity(
        256 + 4 * (scene.embedding.len() + bev.occupancy.len() * (1 + scene.queries.len()))
            + 2 * bev.class.len()
            + if with_features { 4 * bev.features.len() } else { 0 },
    );
    out.put_u32(header_seq);
    out.put_time(scene.stamp);
    out.put_str(&scene.frame_id);
    out.put_u8(scene.mask.0);
    for s in [scene.camera_stamp, scene.lidar_stamp, scene.map_text_stamp] {
        out.put_time(s.unwrap_or(Stamp::ZERO));
    }
    put_f32s(&mut out, &scene.embedding);
    out.put_f32(bev.resolution);
    out.put_u32(bev.width);
    out.put_u32(bev.height);
    // origin: geometry_msgs/Pose (position, orientation x y z w)
    for v in [
        f64::from(bev.origin_x),
        f64::from(bev.origin_y),
        0.0,
        0.0,
        0.0,
        0.0,
        1.0,
    ] {
        out.put_f64(v);
    }
    out.put_u32(bev.channels);
    put_f32s(&mut out, if with_features { &bev.features } else { &[] });
    put_f32s(&mut out, &bev.occupancy);
    out.put_bytes(&bev.class);
    out.put_bytes(if bev.map_text.len() == bev.class.len() {
        &bev.map_text
    } else {
        &[]
    });
    put_strs(&mut out, scene.queries.iter().map(|q| q.query.as_str()));
    let scores: Vec<f32> = scene.queries.iter().map(|q| q.score).collect();
    put_f32s(&mut out, &scores);
    let cells = bev.occupancy.len();
    let maps: Vec<f32> = if cells > 0 && scene.queries.iter().all(|q| q.map.len() == cells) {
        scene.queries.iter().flat_map(|q| q.map.iter().copied()).collect()
    } else {
        Vec::new()
    };
    put_f32s(&mut out, &maps);
    put_strs(&mut out, scene.objects.iter().map(|o| o.class.as_str()));
    let scores: Vec<f32> = scene.objects.iter().map(|o| o.score).collect();
    put_f32s(&mut out, &scores);
    let boxes: Vec<f32> = scene
        .objects
        .iter()
        .flat_map(|o| [o.x, o.y, o.z, o.yaw, o.length, o.width, o.height])
        .collect();
    put_f32s(&mut out, &boxes);
    out.put_len(scene.objects.len());
    for o in &scene.objects {
        out.put_u32(o.points);
    }
    put_strs(&mut out, scene.timing.iter().map(|t| t.stage.as_str()));
    let ms: Vec<f32> = scene.timing.iter().map(|t| t.ms as f32).collect();
    put_f32s(&mut out, &ms);
    out.put_f32(scene.end_to_end_ms as f32);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use sensorium_core::{ModalityMask, QueryScore, SceneBev, SceneObject, StageTiming};

    #[test]
    fn md5_text_follows_genmsg_rules() {
        let deps = |t: &str| (t == "std_msgs/Header").then_some("H");
        let text = md5_text(
            "x/Y",
            "Header header # c\n# only comment\n\nuint8 A=1 # c\nfloat32[] v\n",
            &deps,
        )
        .expect("md5 text");
        assert_eq!(text, "uint8 A=1\nH header\nfloat32[] v");
        assert!(md5_text("x/Y", "foo/Bar b\n", &deps).is_err());
    }

    #[test]
    fn definition_has_every_dependency_once() {
        let d = definition();
        for t in [
            "std_msgs/Header",
            "geometry_msgs/Pose",
            "geometry_msgs/Point",
            "geometry_msgs/Quaternion",
        ] {
            assert_eq!(d.matches(&format!("MSG: {t}\n")).count(), 1, "{t}");
        }
        assert!(d.starts_with("# sensorium_msgs/Scene"));
        assert!(d.contains("float64 w\n"));
    }

    #[test]
    fn encodes_fields_in_definition_order() {
        let scene = Scene {
            seq: 3,
            stamp: Stamp::new(10, 5),
            frame_id: "base_link".into(),
            mask: ModalityMask(3),
            camera_stamp: Some(Stamp::new(9, 1)),
            lidar_stamp: Some(Stamp::new(10, 5)),
            map_text_stamp: None,
            embedding: vec![1.0, 0.0],
            bev: SceneBev {
                resolution: 0.5,
                width: 2,
                height: 1,
                origin_x: -1.0,
                origin_y: -2.0,
                channels: 1,
                features: vec![0.25, 0.75],
                occupancy: vec![0.1, 0.9],
                class: vec![0, 1],
                map_text: vec![0, 1],
            },
            queries: vec![QueryScore {
                query: "car".into(),
                score: 0.5,
                map: vec![0.25, 0.5],
            }],
            objects: vec![SceneObject {
                class: "car".into(),
                score: 0.9,
                x: 5.0,
                length: 4.0,
                width: 2.0,
                points: 12,
                ..Default::default()
            }],
            timing: vec![StageTiming {
                stage: "fusion".into(),
                ms: 2.0,
            }],
            end_to_end_ms: 7.0,
        };
        let b = encode(&scene, 4, false);
        let expected_len = 4
            + 8
            + (4 + 9)
            + 1
            + 24
            + (4 + 8)
            + 4
            + 4
            + 4
            + 56
            + 4
            + 4
            + (4 + 8)
            + (4 + 2)
            + (4 + 2)
            + (4 + 4 + 3)
            + (4 + 4)
            + (4 + 8)
            + (4 + 4 + 3)
            + (4 + 4)
            + (4 + 28)
            + (4 + 4)
            + (4 + 4 + 6)
            + (4 + 4)
            + 4;
        assert_eq!(b.len(), expected_len);
        assert_eq!(&b[0..4], &4u32.to_le_bytes());
        assert_eq!(b[25], 3, "modality mask after the header");
        let with = encode(&scene, 4, true);
        assert_eq!(with.len(), expected_len + 8);
    }
}
