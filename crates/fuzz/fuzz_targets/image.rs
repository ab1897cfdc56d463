#![no_main]
//! Image decode and conversion to RGB for whatever encoding the bytes name.
use libfuzzer_sys::fuzz_target;
use sensorium_msgs::{Image, RosMessage};

fuzz_target!(|data: &[u8]| {
    if let Ok(img) = Image::decode(data) {
        if let Ok(rgb) = img.to_rgb() {
            assert_eq!(rgb.data.len(), rgb.width as usize * rgb.height as usize * 3);
        }
    }
});
