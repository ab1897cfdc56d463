#![no_main]
//! CameraInfo, TFMessage, tf/tfMessage, String + map text, Marker(Array), OccupancyGrid, DiagnosticArray,
//! header_stamp: decode must not panic, and encode ∘ decode must be a fixpoint (canonical bytes).
use libfuzzer_sys::fuzz_target;
use sensorium_msgs::*;

fn check<T: RosMessage>(data: &[u8]) {
    if let Ok(m) = T::decode(data) {
        // invalid UTF-8 is replaced and non-zero bools become 1, so compare canonical forms
        let canonical = m.to_bytes();
        let again = T::decode(&canonical).expect("re-decoding our own encoding");
        assert_eq!(again.to_bytes(), canonical);
    }
}

fuzz_target!(|data: &[u8]| {
    let _ = header_stamp(data);
    check::<CameraInfo>(data);
    check::<TFMessage>(data);
    check::<LegacyTfMessage>(data);
    check::<MarkerArray>(data);
    check::<OccupancyGrid>(data);
    check::<DiagnosticArray>(data);
    if let Ok(s) = StringMsg::decode(data) {
        let _ = map_text::parse(&s.data, Stamp::ZERO);
    }
});
