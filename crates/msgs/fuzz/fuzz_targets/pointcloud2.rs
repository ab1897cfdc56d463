#![no_main]
//! PointCloud2 decode, layout validation, every field read and SoA conversion on arbitrary bytes.
use libfuzzer_sys::fuzz_target;
use sensorium_msgs::{PointCloud2, PointCloud2View, RosMessage};

fuzz_target!(|data: &[u8]| {
    if let Ok(cloud) = PointCloud2::decode(data) {
        // re-encoding is canonical (non-zero bools become 1): encode ∘ decode is a fixpoint
        let canonical = cloud.to_bytes();
        let again = PointCloud2::decode(&canonical).expect("re-decoding our own encoding");
        assert_eq!(again.to_bytes(), canonical);
        if let Ok(view) = PointCloud2View::new(&cloud) {
            let soa = view.to_soa();
            assert!(soa.len() <= view.len());
            for f in &cloud.fields {
                let _ = view.field_f64(&f.name);
            }
        }
    }
});
