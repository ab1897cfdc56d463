//! Inputs found by `scripts/fuzz.sh`, kept as regression tests.

use sensorium_msgs::{PointCloud2, PointCloud2Ref, PointCloud2View, RosMessage};

/// A PointCloud2 whose `is_bigendian`/`is_dense` bytes are 0xff (non-canonical bools) and whose
/// `intensity` field sits at offset 16580363: decoding must not panic, the view must refuse the
/// field past `point_step`, and re-encoding must be canonical (bools written as 1).
#[test]
fn noncanonical_bool_and_field_past_point_step() {
    let data = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fuzz_regressions/pointcloud2-noncanonical-bool.bin"
    ))
    .expect("regression input");
    let cloud = PointCloud2::decode(&data).expect("structurally valid message");
    let canonical = cloud.to_bytes();
    assert_ne!(canonical, data, "0xff bools are written back as 1");
    let again = PointCloud2::decode(&canonical).expect("our own encoding decodes");
    assert_eq!(again.to_bytes(), canonical);
    let err = PointCloud2View::new(&cloud)
        .expect_err("a field past point_step is an error")
        .to_string();
    assert!(err.contains("intensity") || err.contains("point_step"), "{err}");
    // the in-place path refuses it the same way
    let borrowed = PointCloud2Ref::decode(&data).expect("structurally valid message");
    assert_eq!(borrowed.clone().into_owned(), cloud);
    assert_eq!(borrowed.view().expect_err("same layout error").to_string(), err);
    let soa_err = sensorium_msgs::pointcloud::decode_soa(&data).expect_err("same layout error");
    assert_eq!(soa_err.to_string(), err);
}
