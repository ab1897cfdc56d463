//! Criterion benches of the hot paths `sensorium bench` reports (without peers; `sensorium bench` puts
//! each beside its peer): JPEG decode, resize + normalise, every encoder (int8, one thread).
//!
//! `cargo bench -p sensorium-bench --bench hot_paths`

use criterion::{criterion_group, criterion_main, Criterion};
use sensorium_bench::stages::{jpeg_of, make_sim_frame};
use sensorium_core::Stamp;
use sensorium_infer::check::read_npy;
use sensorium_infer::{Encoder, LoadOptions};
use sensorium_msgs::{CompressedImage, Header};
use sensorium_testkit::testdata::repo_root;
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let work = tempfile::tempdir().expect("tmp");
    let frame = make_sim_frame(work.path()).expect("sim frame");
    let msg = CompressedImage {
        header: Header::new(Stamp::new(1, 0), "camera"),
        format: "rgb8; jpeg compressed bgr8".into(),
        data: jpeg_of(&frame.rgb).expect("jpeg"),
    };
    c.bench_function("jpeg_decode_1280x720", |b| {
        b.iter(|| black_box(msg.to_rgb().expect("decode")))
    });
    let models = repo_root().join("models");
    let image = Encoder::load(models.join("image_encoder"), &LoadOptions::default()).expect("image encoder");
    let pre = image
        .manifest()
        .preprocess
        .image
        .clone()
        .expect("[preprocess.image]");
    c.bench_function("image_resize_normalise_1280x720", |b| {
        b.iter(|| black_box(sensorium_infer::image::preprocess(&frame.rgb, &pre).expect("preprocess")))
    });
    for model in ["image_encoder", "point_encoder", "text_encoder", "fusion"] {
        let dir = models.join(model);
        let opts = LoadOptions {
            variant: Some("int8".into()),
            threads: 1,
            ..Default::default()
        };
        let enc = Encoder::load(&dir, &opts).expect("encoder");
        let inputs: Vec<_> = enc
            .manifest()
            .inputs
            .iter()
            .map(|i| read_npy(&dir.join(format!("golden/inputs/{}.npy", i.name))).expect("golden input"))
            .collect();
        c.bench_function(&format!("encoder_{model}_int8_1t"), |b| {
            b.iter(|| black_box(enc.run(inputs.clone()).expect("run")))
        });
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
