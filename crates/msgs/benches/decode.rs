//! PointCloud2 decode throughput: a 120k-point x,y,z,intensity cloud (1.92 MB) from serialized bytes to
//! the packed float32 SoA, plus a general-path layout (ring + float64 timestamp).
//!
//! `in_place`: what the pipeline does (`decode_soa`: `PointCloud2Ref` borrows the points from the payload,
//! one pass to SoA). `owned`: the owned decode (one copy of the cloud) then the view, for comparison.
//!
//! `cargo bench -p sensorium-msgs --bench decode` (throughput is reported per byte of message payload).
//! `tests/python/bench_read_points.py` times Debian's `read_points` on the same cloud for the ratio.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sensorium_core::{PointsSoA, Stamp};
use sensorium_msgs::pointcloud::decode_soa;
use sensorium_msgs::{FieldType, Header, PointCloud2, PointCloud2View, PointField, RosMessage};
use std::hint::black_box;

const N: usize = 120_000;

fn xyzi_payload() -> Vec<u8> {
    let mut soa = PointsSoA::with_capacity(N);
    for i in 0..N {
        let a = i as f32 * 0.001;
        let x = if i % 97 == 0 { f32::NAN } else { 40.0 * a.cos() };
        soa.push(x, 40.0 * a.sin(), (i % 64) as f32 * 0.05 - 1.0, (i % 255) as f32);
    }
    PointCloud2::from_soa(&soa, Header::new(Stamp::new(100, 0), "lidar")).to_bytes()
}

fn ring_time_payload() -> Vec<u8> {
    let step = 26usize;
    let mut data = Vec::with_capacity(N * step);
    for i in 0..N {
        let a = i as f32 * 0.001;
        for v in [40.0 * a.cos(), 40.0 * a.sin(), 0.5, (i % 255) as f32] {
            data.extend_from_slice(&v.to_le_bytes());
        }
        data.extend_from_slice(&((i % 128) as u16).to_le_bytes());
        data.extend_from_slice(&(1.7e9 + i as f64 * 1e-6).to_le_bytes());
    }
    PointCloud2 {
        header: Header::new(Stamp::new(1_700_000_000, 0), "lidar"),
        height: 1,
        width: N as u32,
        fields: vec![
            PointField::new("x", 0, FieldType::F32),
            PointField::new("y", 4, FieldType::F32),
            PointField::new("z", 8, FieldType::F32),
            PointField::new("intensity", 12, FieldType::F32),
            PointField::new("ring", 16, FieldType::U16),
            PointField::new("timestamp", 18, FieldType::F64),
        ],
        is_bigendian: false,
        point_step: step as u32,
        row_step: (step * N) as u32,
        data,
        is_dense: true,
    }
    .to_bytes()
}

fn owned_decode_to_soa(payload: &[u8]) -> PointsSoA {
    let cloud = PointCloud2::decode(payload).expect("decode");
    let view = PointCloud2View::new(&cloud).expect("view");
    view.to_soa()
}

fn in_place_decode_to_soa(payload: &[u8]) -> PointsSoA {
    decode_soa(payload).expect("decode")
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("pointcloud2_120k");
    for (name, payload) in [
        ("xyzi_f32_to_soa", xyzi_payload()),
        ("xyzi_ring_f64time_to_soa", ring_time_payload()),
    ] {
        assert_eq!(in_place_decode_to_soa(&payload), owned_decode_to_soa(&payload));
        g.throughput(Throughput::Bytes(payload.len() as u64));
        g.bench_function(format!("in_place/{name}"), |b| {
            b.iter(|| black_box(in_place_decode_to_soa(black_box(&payload))))
        });
        g.bench_function(format!("owned/{name}"), |b| {
            b.iter(|| black_box(owned_decode_to_soa(black_box(&payload))))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
