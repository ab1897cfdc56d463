#![no_main]
//! PointCloud2 in-place decode (`PointCloud2Ref`), layout validation, every field read and SoA conversion
//! on arbitrary bytes; the owned decode must agree with it and re-encode canonically.
use libfuzzer_sys::fuzz_target;
use sensorium_msgs::pointcloud::decode_soa;
use sensorium_msgs::{PointCloud2, PointCloud2Ref, PointCloud2View, RosMessage};

fuzz_target!(|data: &[u8]| {
    let borrowed = PointCloud2Ref::decode(data);
    let owned = PointCloud2::decode(data);
    assert_eq!(borrowed.is_ok(), owned.is_ok(), "owned and borrowed decodes disagree");
    let (Ok(cloud_ref), Ok(cloud)) = (borrowed, owned) else {
        return;
    };
    // the borrowed cloud's points are the input bytes themselves
    assert!(data.as_ptr_range().contains(&cloud_ref.data.as_ptr()) || cloud_ref.data.is_empty());
    assert_eq!(cloud_ref.clone().into_owned(), cloud);
    // re-encoding is canonical (non-zero bools become 1): encode ∘ decode is a fixpoint
    let canonical = cloud.to_bytes();
    let again = PointCloud2::decode(&canonical).expect("re-decoding our own encoding");
    assert_eq!(again.to_bytes(), canonical);
    let soa = decode_soa(data);
    assert_eq!(soa.is_ok(), PointCloud2View::new(&cloud).is_ok());
    if let Ok(view) = cloud_ref.view() {
        let soa = soa.expect("view ok, so decode_soa ok");
        assert!(soa.len() <= view.len());
        assert_eq!(soa.len(), view.to_soa().len());
        for f in &cloud_ref.fields {
            let _ = view.field_f64(&f.name);
        }
        let _ = view.ring_f64();
        let _ = view.time_f64();
    }
});
