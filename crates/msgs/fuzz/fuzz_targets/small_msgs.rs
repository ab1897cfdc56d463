#![no_main]
//! CameraInfo, TFMessage, tf/tfMessage, String + map text, Marker(Array), OccupancyGrid, DiagnosticArray,
//! header_stamp: decode must not panic and must re-encode to the same bytes.
use libfuzzer_sys::fuzz_target;
use sensorium_msgs::*;

fn check<T: RosMessage>(data: &[u8]) {
    if let Ok(m) = T::decode(data) {
        // Strings with invalid UTF-8 are replaced, so only valid input round-trips byte for byte.
        if std::str::from_utf8(data).is_ok() {
            assert_eq!(m.to_bytes(), data);
        }
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
