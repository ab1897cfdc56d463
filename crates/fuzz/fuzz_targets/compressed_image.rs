#![no_main]
//! CompressedImage decode and JPEG/PNG decoding (with the size limits) on arbitrary bytes.
use libfuzzer_sys::fuzz_target;
use sensorium_msgs::{CompressedImage, RosMessage};

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = CompressedImage::decode(data) {
        let _ = m.to_rgb();
    }
});
