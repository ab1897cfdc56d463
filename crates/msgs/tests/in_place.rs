//! The borrowed decode ([`PointCloud2Ref`]) reads the cloud where it lies in the message bytes, and gives
//! the same points, the same SoA and the same errors as the owned decode.

use sensorium_core::{PointsSoA, Stamp};
use sensorium_msgs::pointcloud::decode_soa;
use sensorium_msgs::*;
use std::ops::Range;

fn xyzi(n: usize) -> PointCloud2 {
    let mut soa = PointsSoA::default();
    for i in 0..n {
        let x = if i % 7 == 3 { f32::NAN } else { i as f32 * 0.25 };
        soa.push(x, -(i as f32), 0.5 + i as f32, (i % 200) as f32);
    }
    PointCloud2::from_soa(&soa, Header::new(Stamp::new(3, 4), "lidar"))
}

/// Organized (2 rows, 8 bytes of padding per row), big-endian, float64 x/y/z, uint8 ring, absolute
/// float64 timestamps: the general path with every optional field.
fn organized_be_ring_time() -> PointCloud2 {
    let (w, h, step) = (5usize, 2usize, 36usize);
    let row_step = w * step + 8;
    let mut data = vec![0xeeu8; row_step * h];
    for r in 0..h {
        for c in 0..w {
            let i = r * w + c;
            let p = &mut data[r * row_step + c * step..][..step];
            let x = if i == 4 { f64::NAN } else { i as f64 * 1.5 };
            p[0..8].copy_from_slice(&x.to_be_bytes());
            p[8..16].copy_from_slice(&(-(i as f64)).to_be_bytes());
            p[16..24].copy_from_slice(&0.125f64.to_be_bytes());
            p[24] = (i % 4) as u8;
            p[25..27].copy_from_slice(&(i as u16 * 10).to_be_bytes());
            p[28..36].copy_from_slice(&(1_700_000_000.0 + i as f64 * 0.001).to_be_bytes());
        }
    }
    PointCloud2 {
        header: Header::new(Stamp::new(1_700_000_000, 0), "velo"),
        height: h as u32,
        width: w as u32,
        fields: vec![
            PointField::new("x", 0, FieldType::F64),
            PointField::new("y", 8, FieldType::F64),
            PointField::new("z", 16, FieldType::F64),
            PointField::new("ring", 24, FieldType::U8),
            PointField::new("intensity", 25, FieldType::U16),
            PointField::new("timestamp", 28, FieldType::F64),
        ],
        is_bigendian: true,
        point_step: step as u32,
        row_step: row_step as u32,
        data,
        is_dense: false,
    }
}

fn inside(inner: Range<*const u8>, outer: Range<*const u8>) -> bool {
    outer.start <= inner.start && inner.end <= outer.end && inner.start <= inner.end
}

#[test]
fn borrowed_decode_reads_points_inside_the_input_buffer() {
    for cloud in [xyzi(50), organized_be_ring_time()] {
        let bytes = cloud.to_bytes();
        let r = PointCloud2Ref::decode(&bytes).unwrap();
        assert_eq!(r.data.len(), cloud.data.len());
        assert!(!r.data.is_empty());
        // the cloud is not copied: `data` is the tail end of the message body itself
        assert!(inside(r.data.as_ptr_range(), bytes.as_ptr_range()));
        let data_at = bytes.len() - 1 - cloud.data.len();
        assert_eq!(r.data.as_ptr(), bytes[data_at..].as_ptr());
        let view = r.view().unwrap();
        assert!(inside(view.data().as_ptr_range(), bytes.as_ptr_range()));
        for i in 0..view.len() {
            let p = view.point_bytes(i).unwrap();
            assert!(inside(p.as_ptr_range(), bytes.as_ptr_range()), "point {i}");
        }
        // while the owned decode copies it
        let owned = PointCloud2::decode(&bytes).unwrap();
        assert!(!inside(owned.data.as_ptr_range(), bytes.as_ptr_range()));
    }
}

#[test]
fn borrowed_and_owned_give_the_same_cloud_points_and_soa() {
    for cloud in [xyzi(0), xyzi(1), xyzi(300), organized_be_ring_time()] {
        let bytes = cloud.to_bytes();
        let r = PointCloud2Ref::decode(&bytes).unwrap();
        assert_eq!(r.clone().into_owned(), cloud);
        assert_eq!(r.clone().into_owned().to_bytes(), bytes);

        let owned = PointCloud2::decode(&bytes).unwrap();
        let (ov, bv) = (PointCloud2View::new(&owned).unwrap(), r.view().unwrap());
        assert_eq!(bv.len(), (cloud.width * cloud.height) as usize);
        assert_eq!((bv.x, bv.y, bv.z), (ov.x, ov.y, ov.z));
        assert_eq!((bv.intensity, bv.ring, bv.time), (ov.intensity, ov.ring, ov.time));
        for f in &cloud.fields {
            let (a, b) = (ov.field_f64(&f.name).unwrap(), bv.field_f64(&f.name).unwrap());
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&a), bits(&b), "field {}", f.name);
        }
        let soa = decode_soa(&bytes).unwrap();
        assert_eq!(soa, ov.to_soa());
        assert_eq!(soa, PointCloud2View::from_ref(&r).unwrap().to_soa());
        assert_eq!(soa.frame_id, cloud.header.frame_id);
        assert_eq!(soa.stamp, cloud.header.stamp);
    }
}

#[test]
fn general_layout_soa_values_ring_and_time() {
    let cloud = organized_be_ring_time();
    let bytes = cloud.to_bytes();
    let soa = decode_soa(&bytes).unwrap();
    // 10 points, point 4 has x = NaN; row padding never read as a point
    assert_eq!(soa.len(), 9);
    let kept: Vec<usize> = (0..10).filter(|i| *i != 4).collect();
    assert_eq!(soa.x, kept.iter().map(|i| *i as f32 * 1.5).collect::<Vec<_>>());
    assert_eq!(soa.y, kept.iter().map(|i| -(*i as f32)).collect::<Vec<_>>());
    assert_eq!(
        soa.intensity,
        kept.iter().map(|i| *i as f32 * 10.0).collect::<Vec<_>>()
    );
    assert_eq!(
        soa.ring,
        Some(kept.iter().map(|i| (*i % 4) as u16).collect::<Vec<_>>())
    );
    // absolute epoch timestamps become offsets from the header stamp
    let want: Vec<f32> = kept
        .iter()
        .map(|i| ((1_700_000_000.0 + *i as f64 * 0.001) - 1_700_000_000.0) as f32)
        .collect();
    assert_eq!(soa.time, Some(want));

    let r = PointCloud2Ref::decode(&bytes).unwrap();
    let v = r.view().unwrap();
    let ring = v.ring_f64().expect("cloud has a ring field").unwrap();
    assert_eq!(ring, (0..10).map(|i| (i % 4) as f64).collect::<Vec<_>>());
    let time = v.time_f64().expect("cloud has a timestamp field").unwrap();
    assert_eq!(time[9], 1_700_000_000.0 + 9.0 * 0.001);
    assert_eq!(v.field("intensity").unwrap().map(|f| f.offset), Some(25));
    assert_eq!(v.field("nope").unwrap(), None);

    // x, y, z, intensity only: no ring/time accessors, no ring/time in the SoA
    let plain = xyzi(4).to_bytes();
    let r = PointCloud2Ref::decode(&plain).unwrap();
    let v = r.view().unwrap();
    assert!(v.ring_f64().is_none() && v.time_f64().is_none());
    let soa = v.to_soa();
    assert!(soa.ring.is_none() && soa.time.is_none());
}

#[test]
fn borrowed_decode_errors_name_field_and_numbers() {
    let bytes = xyzi(5).to_bytes();
    // every truncation: the same Truncated error from both decodes, never a panic
    for n in 0..bytes.len() {
        let b = err_text(PointCloud2Ref::decode(&bytes[..n]));
        let o = err_text(PointCloud2::decode(&bytes[..n]));
        assert_eq!(b, o, "cut at {n}");
        assert!(b.contains("truncated"), "cut at {n}: {b}");
    }
    // trailing bytes
    let mut long = bytes.clone();
    long.push(0);
    let e = err_text(PointCloud2Ref::decode(&long));
    assert!(e.contains(&format!("{} bytes", long.len())), "{e}");
    // a data length prefix claiming 4 GB
    let mut huge = bytes.clone();
    let at = bytes.len() - 1 - 80 - 4;
    assert_eq!(&huge[at..at + 4], &80u32.to_le_bytes());
    huge[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    let e = err_text(decode_soa(&huge));
    assert!(e.contains("`data`") && e.contains("4294967295"), "{e}");
    // layout: data shorter than row_step * height
    let mut c = xyzi(10);
    c.row_step = 170;
    let e = err_text(decode_soa(&c.to_bytes()));
    assert!(
        e.contains("data") && e.contains("160") && e.contains("170"),
        "{e}"
    );
}

fn err_text<T: std::fmt::Debug>(r: Result<T, MsgError>) -> String {
    r.expect_err("expected an error").to_string()
}
