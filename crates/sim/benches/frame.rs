//! One frame set of the default vehicle: 1280×720 render + 64-beam 0.2° LiDAR sweep (≈115k rays),
//! and each stage alone. Run: `cargo bench -p sensorium-sim --bench frame`.

use criterion::{criterion_group, criterion_main, Criterion};
use sensorium_sim::{SimConfig, Simulator};

fn bench(c: &mut Criterion) {
    let cfg = SimConfig::default();
    let mut sim = Simulator::new(&cfg, 7, 100).expect("default config is valid");
    let mut i = 0u32;
    c.bench_function("frame_set_1280x720_64x1800", |b| {
        b.iter(|| {
            i = (i + 1) % 100;
            let fs = sim.frame_set(i, 0.0);
            std::hint::black_box(fs.sweep.points.len())
        })
    });
    c.bench_function("render_1280x720", |b| {
        b.iter(|| {
            i = (i + 1) % 100;
            let (_, img) = sim.render(f64::from(i) * 0.1);
            std::hint::black_box(img.rgb.len())
        })
    });
    c.bench_function("lidar_64x1800", |b| {
        b.iter(|| {
            i = (i + 1) % 100;
            let (_, sw) = sim.sweep(i);
            std::hint::black_box(sw.points.len())
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
