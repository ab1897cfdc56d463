#![no_main]
//! Map text as it arrives on a std_msgs/String topic: plain text, or JSON annotations with optional
//! positions. Anything parses to something (plain text at worst: one annotation holding the whole
//! text); blank text carries nothing; positioned annotations have finite coordinates.
use libfuzzer_sys::fuzz_target;
use sensorium_core::Stamp;
use sensorium_msgs::map_text;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let stamp = Stamp::new(7, 9);
    let m = map_text::parse(&text, stamp);
    assert_eq!(m.stamp, stamp);
    if text.trim().is_empty() {
        assert!(m.annotations.is_empty());
    }
    for a in &m.annotations {
        if let Some(p) = a.position {
            assert!(p.iter().all(|v| v.is_finite()), "{p:?}");
        }
    }
    // The plain-text fallback keeps the text as sent.
    if let [a] = m.annotations.as_slice() {
        if a.position.is_none() && a.frame_id.is_none() && a.text != text {
            assert!(text.trim_start().starts_with('{') || text.trim_start().starts_with('['));
        }
    }
    let _ = format!("{m:?}");
});
