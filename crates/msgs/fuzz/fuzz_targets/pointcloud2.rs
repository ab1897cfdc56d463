#![no_main]
//! PointCloud2 decode, layout validation, every field read and SoA conversion on arbitrary bytes.
use libfuzzer_sys::fuzz_target;
use sensorium_msgs::{PointCloud2, PointCloud2View, RosMessage};

fuzz_target!(|data: &[u8]| {
    if let Ok(cloud) = PointCloud2::decode(data) {
        assert_eq!(cloud.to_bytes(), data);
        if let Ok(view) = PointCloud2View::new(&cloud) {
            let soa = view.to_soa();
            assert!(soa.len() <= view.len());
            for f in &cloud.fields {
                let _ = view.field_f64(&f.name);
            }
        }
    }
});
