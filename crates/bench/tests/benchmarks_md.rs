//! BENCHMARKS.md's generated table was measured on the models the repository ships: the models digest it
//! states equals the digest of `models/` now. New or retrained models make this fail until the table is
//! regenerated (`sensorium bench --quick --json bench.json --update-docs`, or without `--quick`).

use sensorium_bench::report::{models_digest, stated_models_digest};
use sensorium_testkit::testdata::repo_root;

#[test]
fn benchmarks_md_was_made_with_the_shipped_models() {
    let repo = repo_root();
    let doc = std::fs::read_to_string(repo.join("BENCHMARKS.md")).expect("BENCHMARKS.md");
    let stated = stated_models_digest(&doc).expect("BENCHMARKS.md states no models digest: regenerate it");
    let now = models_digest(&repo.join("models")).expect("hashing models/");
    assert_eq!(
        stated, now,
        "BENCHMARKS.md was measured with other models than models/ holds now: rerun \
         `sensorium bench --quick --json bench.json --update-docs`"
    );
}

#[test]
fn the_digest_follows_every_model_file_and_ignores_the_rest() {
    let dir = tempfile::tempdir().expect("tmp");
    let m = dir.path().join("image_encoder");
    std::fs::create_dir_all(&m).expect("mkdir");
    std::fs::write(m.join("model.onnx"), b"weights").expect("write");
    std::fs::write(m.join("manifest.toml"), b"[model]").expect("write");
    let a = models_digest(dir.path()).expect("digest");
    std::fs::write(dir.path().join("README.md"), b"model card").expect("write");
    std::fs::write(m.join("notes.txt"), b"x").expect("write");
    assert_eq!(
        models_digest(dir.path()).expect("digest"),
        a,
        "other files do not count"
    );
    std::fs::write(m.join("model.onnx"), b"weightz").expect("write");
    let b = models_digest(dir.path()).expect("digest");
    assert_ne!(a, b, "a changed ONNX file changes the digest");
    std::fs::write(m.join("model.int8.onnx"), b"q").expect("write");
    assert_ne!(
        models_digest(dir.path()).expect("digest"),
        b,
        "a new ONNX file too"
    );
    assert_eq!(stated_models_digest("x models digest `abc` y"), Some("abc"));
}
