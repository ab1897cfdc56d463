//! Map text: what a `std_msgs/String` on the map-text topic means.
//!
//! Schema (JSON), either an object `{"annotations": [A, ...]}` or a bare list `[A, ...]`, where
//! `A = {"text": "...", "position": [x, y, z] (optional, metres), "frame_id": "..." (optional)}`.
//! Anything that is not one of those two JSON shapes (plain prose, other JSON) is one annotation holding
//! the whole text with no position. Empty or blank text carries no annotation.

use sensorium_core::{MapAnnotation, MapText, Stamp};

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Doc {
    annotations: Vec<MapAnnotation>,
}

#[derive(serde::Deserialize)]
#[serde(untagged)]
enum Form {
    Doc(Doc),
    List(Vec<MapAnnotation>),
}

/// Parses map text (see the module documentation for the schema).
pub fn parse(text: &str, stamp: Stamp) -> MapText {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return MapText {
            stamp,
            annotations: Vec::new(),
        };
    }
    let annotations = match serde_json::from_str::<Form>(trimmed) {
        Ok(Form::Doc(d)) => d.annotations,
        Ok(Form::List(l)) => l,
        Err(_) => vec![MapAnnotation {
            text: text.to_string(),
            position: None,
            frame_id: None,
        }],
    };
    MapText { stamp, annotations }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let s = Stamp::new(1, 2);
        let m = parse(
            r#"{"annotations":[{"text":"school zone","position":[10,2.5,0],"frame_id":"map"},{"text":"wet road"}]}"#,
            s,
        );
        assert_eq!(m.stamp, s);
        assert_eq!(m.annotations.len(), 2);
        assert_eq!(m.annotations[0].position, Some([10.0, 2.5, 0.0]));
        assert_eq!(m.annotations[0].frame_id.as_deref(), Some("map"));
        assert_eq!(m.annotations[1].text, "wet road");
        assert_eq!(m.annotations[1].position, None);

        let l = parse(r#"[{"text":"stop line","position":[1,2,3]}]"#, s);
        assert_eq!(l.annotations.len(), 1);
        assert_eq!(l.annotations[0].position, Some([1.0, 2.0, 3.0]));

        for plain in [
            "construction ahead, left lane closed",
            r#"{"foo": 1}"#,
            "[1,2]",
            r#"{"text":"x"}"#,
            "\"quoted\"",
        ] {
            let p = parse(plain, s);
            assert_eq!(p.annotations.len(), 1, "{plain}");
            assert_eq!(p.annotations[0].text, plain);
            assert_eq!(p.annotations[0].position, None);
        }
        // A position that is not three numbers makes the JSON not match the schema: whole text.
        let bad = r#"{"annotations":[{"text":"a","position":[1,2]}]}"#;
        assert_eq!(parse(bad, s).annotations[0].text, bad);
        assert!(parse("  \n", s).annotations.is_empty());
    }
}
