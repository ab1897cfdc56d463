//! Loading, parity with onnxruntime, wrong models, the QDQ-Softmax guard, threads,
//! the NNEF cache and the text embedder, on tiny models built by
//! `tests/python/make_test_models.py` (+ goldens from `make_goldens.py`) at test time,
//! and on every model under the repository's `models/`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Instant;

use sensorium_infer::check::{errors, read_npy};
use sensorium_infer::{
    check_models_with, CacheUse, CheckOptions, Encoder, InferError, LoadOptions, Tensor, TextEmbedder,
};
use sensorium_testkit::testdata::{repo_root, require, venv_python};

struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

fn python_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python")
}

fn venv_ok() -> bool {
    let py = venv_python();
    let ok = py.exists()
        && Command::new(&py)
            .args(["-c", "import onnx, onnxruntime, numpy"])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
    require("venv python with onnx + onnxruntime (.venv)", ok)
}

/// Builds the test models and their goldens once per test binary.
fn fixture() -> Option<&'static Fixture> {
    static F: OnceLock<Option<Fixture>> = OnceLock::new();
    F.get_or_init(|| {
        if !venv_ok() {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let st = Command::new(venv_python())
            .arg(python_dir().join("make_test_models.py"))
            .arg(&root)
            .output()
            .unwrap();
        assert!(
            st.status.success(),
            "make_test_models.py: {}",
            String::from_utf8_lossy(&st.stderr)
        );
        let mut cmd = Command::new(venv_python());
        cmd.arg(python_dir().join("make_goldens.py"));
        for n in ["tiny_image", "tiny_text", "matmul_heavy"] {
            cmd.arg(root.join("good").join(n));
        }
        cmd.arg(root.join("bad/qdq_softmax"));
        let st = cmd.output().unwrap();
        assert!(
            st.status.success(),
            "make_goldens.py: {}",
            String::from_utf8_lossy(&st.stderr)
        );
        Some(Fixture { _dir: dir, root })
    })
    .as_ref()
}

fn no_cache() -> LoadOptions {
    LoadOptions {
        use_cache: false,
        ..Default::default()
    }
}

fn golden_inputs(dir: &Path, names: &[&str]) -> Vec<Tensor> {
    names
        .iter()
        .map(|n| read_npy(&dir.join(format!("golden/inputs/{n}.npy"))).unwrap())
        .collect()
}

#[test]
fn tiny_models_match_onnxruntime() {
    let Some(f) = fixture() else { return };
    let cache = tempfile::tempdir().unwrap();
    let opts = CheckOptions {
        threads: 1,
        runs: 3,
        cache_dir: Some(cache.path().to_path_buf()),
        ..Default::default()
    };
    let reports = check_models_with(&f.root.join("good"), &opts).unwrap();
    println!("{}", serde_json::to_string_pretty(&reports).unwrap());
    assert_eq!(reports.len(), 3);
    for r in &reports {
        assert!(r.pass, "{}: {:?}", r.name, r);
        for v in &r.variants {
            for o in &v.outputs {
                // the reference file is held to the fp32 bound, the int8 variant to one step
                match v.variant.as_str() {
                    "fp32" => assert!(o.rel_l2 <= 1e-4, "{} {}: {}", r.name, o.name, o.rel_l2),
                    "f16" => assert!(o.metric == "rel_l2" && o.rel_l2 <= 1e-2, "{} {o:?}", r.name),
                    _ => assert_eq!(o.metric, "max_abs"),
                }
            }
        }
    }
    let img = reports.iter().find(|r| r.name == "tiny_image").unwrap();
    assert_eq!(img.variants.len(), 3, "fp32 + int8 + f16");
    // the conv encoder serializes to NNEF: the second cached load must be a hit
    assert_eq!(img.variants[0].cache, CacheUse::Hit, "{:?}", img.variants[0]);
}

#[test]
fn repo_models_match_onnxruntime() {
    let models = repo_root().join("models");
    let has_any = std::fs::read_dir(&models)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .any(|e| e.path().join("manifest.toml").is_file())
        })
        .unwrap_or(false);
    if !has_any {
        eprintln!(
            "SKIP: no model folders with manifest.toml under {}",
            models.display()
        );
        return;
    }
    if !venv_ok() {
        return;
    }
    let cache = tempfile::tempdir().unwrap();
    let opts = CheckOptions {
        threads: 1,
        runs: 3,
        cache_dir: Some(cache.path().to_path_buf()),
        ..Default::default()
    };
    let reports = check_models_with(&models, &opts).unwrap();
    println!("{}", serde_json::to_string_pretty(&reports).unwrap());
    let failed: Vec<_> = reports.iter().filter(|r| !r.pass).collect();
    assert!(failed.is_empty(), "models failing parity: {failed:#?}");
}

fn load_err(dir: &Path) -> String {
    let e: InferError = Encoder::load(dir, &no_cache()).unwrap_err();
    e.to_string()
}

#[test]
fn wrong_models_fail_at_load_naming_file_and_problem() {
    let Some(f) = fixture() else { return };
    let bad = f.root.join("bad");
    let cases: [(&str, &[&str]); 5] = [
        ("wrong_rank", &["rank", "manifest 3", "model 4"]),
        ("missing_output", &["output \"logits\" missing", "[\"y\"]"]),
        ("corrupt", &["cannot read the ONNX model"]),
        ("unsupported_op", &["unsupported operator", "FrobnicateLinear"]),
        ("missing_file", &["reading model", "No such file"]),
    ];
    for (name, needles) in cases {
        let dir = bad.join(name);
        let msg = load_err(&dir);
        eprintln!("{name}: {msg}");
        let file = dir.join("model.onnx");
        assert!(
            msg.contains(&file.display().to_string()),
            "{name}: error does not name {}: {msg}",
            file.display()
        );
        for n in needles {
            assert!(msg.contains(n), "{name}: error lacks {n:?}: {msg}");
        }
    }
    // a standard-domain op tract does not implement is an Unsupported error too
    let st = Command::new(venv_python())
        .arg("-c")
        .arg(format!(
            "import onnx; from onnx import helper as h, TensorProto as T; \
             g = h.make_graph([h.make_node('Col2Im', ['x', 'is', 'bs'], ['y'])], 'g', \
             [h.make_tensor_value_info('x', T.FLOAT, [1, 4, 4])], [h.make_tensor_value_info('y', T.FLOAT, None)], \
             [h.make_tensor('is', T.INT64, [2], [3, 3]), h.make_tensor('bs', T.INT64, [2], [1, 1])]); \
             m = h.make_model(g, opset_imports=[h.make_opsetid('', 18)]); m.ir_version = 8; \
             onnx.save(m, '{}/model.onnx')",
            bad.join("wrong_rank").parent().unwrap().join("col2im").display()
        ))
        .status();
    let col = bad.join("col2im");
    let _ = std::fs::create_dir_all(&col);
    if st.map(|s| s.success()).unwrap_or(false) || col.join("model.onnx").exists() {
        std::fs::write(
            col.join("manifest.toml"),
            "name = \"col2im\"\nrole = \"image\"\n[[inputs]]\nname = \"x\"\nshape = [1, 4, 4]\ndtype = \"f32\"\n[[outputs]]\nname = \"y\"\n",
        )
        .unwrap();
        if col.join("model.onnx").exists() {
            match Encoder::load(&col, &no_cache()) {
                Err(e) => {
                    let msg = e.to_string();
                    eprintln!("col2im: {msg}");
                    assert!(
                        msg.contains(&col.join("model.onnx").display().to_string()),
                        "{msg}"
                    );
                    assert!(msg.contains("Col2Im"), "{msg}");
                }
                Ok(_) => eprintln!("note: this tract implements Col2Im"),
            }
        }
    }
}

#[test]
fn manifest_dtype_and_dim_mismatches_name_both_sides() {
    let Some(f) = fixture() else { return };
    let src = f.root.join("good/tiny_image");
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(src.join("model.onnx"), dir.path().join("model.onnx")).unwrap();
    let text = std::fs::read_to_string(src.join("manifest.toml")).unwrap();
    std::fs::write(
        dir.path().join("manifest.toml"),
        text.replace("shape = [1, 3, 24, 40]", "shape = [1, 3, 24, 41]"),
    )
    .unwrap();
    let msg = load_err(dir.path());
    assert!(
        msg.contains("[1, 3, 24, 41]") && msg.contains("[1, 3, 24, 40]") && msg.contains("manifest.toml"),
        "{msg}"
    );
    std::fs::write(
        dir.path().join("manifest.toml"),
        text.replace("dtype = \"f32\"", "dtype = \"u8\""),
    )
    .unwrap();
    let msg = load_err(dir.path());
    assert!(msg.contains("manifest u8, model f32"), "{msg}");
    std::fs::write(
        dir.path().join("manifest.toml"),
        text.replace("name = \"image\"", "name = \"rgb\""),
    )
    .unwrap();
    let msg = load_err(dir.path());
    assert!(msg.contains("[\"rgb\"]") && msg.contains("[\"image\"]"), "{msg}");
}

#[test]
fn run_rejects_wrong_inputs_with_numbers() {
    let Some(f) = fixture() else { return };
    let enc = Encoder::load(f.root.join("good/tiny_image"), &no_cache()).unwrap();
    let e = enc
        .run(vec![Tensor::f32(vec![1, 3, 24, 39], vec![0.0; 3 * 24 * 39])])
        .unwrap_err()
        .to_string();
    assert!(e.contains("[1, 3, 24, 39]") && e.contains("image"), "{e}");
    let e = enc
        .run(vec![Tensor::i64(vec![1, 3, 24, 40], vec![0; 3 * 24 * 40])])
        .unwrap_err()
        .to_string();
    assert!(e.contains("dtype i64"), "{e}");
    let e = enc
        .run(vec![Tensor::f32(vec![1, 3, 24, 40], vec![0.0; 5])])
        .unwrap_err()
        .to_string();
    assert!(e.contains("5 elements"), "{e}");
    assert!(enc.run(vec![]).is_err());
}

/// tract 0.23 folds Softmax between DequantizeLinear and QuantizeLinear into an
/// element-wise lookup table. The loader refuses such models; when forced, the output
/// is far from onnxruntime's. If this test fails because the error became small, tract
/// fixed the bug: drop the guard in `graph::qdq_softmax_nodes`.
#[test]
fn qdq_softmax_is_refused_and_the_tract_bug_is_real() {
    let Some(f) = fixture() else { return };
    let dir = f.root.join("bad/qdq_softmax");
    let msg = load_err(&dir);
    assert!(
        msg.contains("Softmax") && msg.contains("known tract bug") && msg.contains("model.onnx"),
        "{msg}"
    );
    let forced = Encoder::load(
        &dir,
        &LoadOptions {
            allow_qdq_softmax: true,
            use_cache: false,
            ..Default::default()
        },
    )
    .unwrap();
    let out = forced.run(golden_inputs(&dir, &["x"])).unwrap();
    let golden = read_npy(&dir.join("golden/outputs/y.npy")).unwrap();
    let sensorium_infer::TensorData::F32(g) = &golden.data else {
        panic!("golden not f32")
    };
    let (max_abs, rel) = errors(&out.0[0].data, g);
    eprintln!(
        "QDQ softmax: tract vs onnxruntime max abs {max_abs:.4}, rel L2 {rel:.4} (one step = {:.4})",
        1.0 / 256.0
    );
    assert!(
        rel > 0.1,
        "tract now matches onnxruntime (rel L2 {rel}): the bug looks fixed"
    );
}

fn median_ms(enc: &Encoder, inputs: &[Tensor], runs: usize) -> f64 {
    let mut t: Vec<f64> = (0..runs)
        .map(|_| {
            let s = Instant::now();
            enc.run(inputs.to_vec()).unwrap();
            s.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[t.len() / 2]
}

#[test]
fn threads_give_the_same_result_and_speed_up_matmuls() {
    let Some(f) = fixture() else { return };
    let dir = f.root.join("good/matmul_heavy");
    let inputs = golden_inputs(&dir, &["x"]);
    let one = Encoder::load(
        &dir,
        &LoadOptions {
            threads: 1,
            ..no_cache()
        },
    )
    .unwrap();
    let two = Encoder::load(
        &dir,
        &LoadOptions {
            threads: 2,
            ..no_cache()
        },
    )
    .unwrap();
    assert_eq!(two.load_info().threads, 2);
    let a = one.run(inputs.clone()).unwrap();
    let b = two.run(inputs.clone()).unwrap();
    let (max_abs, _) = errors(&a.0[0].data, &b.0[0].data);
    assert!(max_abs < 1e-4, "threaded result differs by {max_abs}");
    let t1 = median_ms(&one, &inputs, 7);
    let t2 = median_ms(&two, &inputs, 7);
    eprintln!(
        "matmul_heavy (4x [256x512]x[512x512]): 1 thread {t1:.2} ms, 2 threads {t2:.2} ms, speed-up {:.2}x",
        t1 / t2
    );
    if std::env::var("SENSORIUM_BENCH_ASSERT").is_ok() {
        assert!(t2 < t1 * 0.8, "2 threads not faster: {t1} vs {t2}");
    }
}

#[test]
fn cache_hit_skips_onnx_and_gives_identical_outputs() {
    let Some(f) = fixture() else { return };
    let dir = f.root.join("good/tiny_image");
    let cache = tempfile::tempdir().unwrap();
    let opts = LoadOptions {
        cache_dir: Some(cache.path().to_path_buf()),
        ..Default::default()
    };
    let first = Encoder::load(&dir, &opts).unwrap();
    assert_eq!(first.load_info().cache, CacheUse::Written);
    let second = Encoder::load(&dir, &opts).unwrap();
    assert_eq!(second.load_info().cache, CacheUse::Hit);
    let inputs = golden_inputs(&dir, &["image"]);
    assert_eq!(first.run(inputs.clone()).unwrap(), second.run(inputs).unwrap());
    // a damaged cache entry is reported and the ONNX file is used instead
    let cf = second.load_info().cache_file.clone().unwrap();
    std::fs::write(&cf, b"garbage").unwrap();
    let third = Encoder::load(&dir, &opts).unwrap();
    assert!(third
        .load_info()
        .warnings
        .iter()
        .any(|w| w.contains("unreadable cache entry")));
    assert_eq!(third.load_info().cache, CacheUse::Written);
}

#[test]
fn text_embedder_tokenizes_and_caches() {
    let Some(f) = fixture() else { return };
    let dir = f.root.join("good/tiny_text");
    let enc = Encoder::load(&dir, &no_cache()).unwrap();
    let emb = TextEmbedder::new(enc, 4).unwrap();
    let t = emb.tokenizer().encode("Car ahead, LEFT. zebra").unwrap();
    assert_eq!(&t.ids[..6], &[3, 8, 16, 9, 17, 1]);
    assert_eq!(t.ids.len(), 16);
    assert_eq!(&t.mask[..7], &[1, 1, 1, 1, 1, 1, 0]);
    let long = "car ".repeat(40);
    assert_eq!(
        emb.tokenizer().encode(&long).unwrap().mask.iter().sum::<i64>(),
        16
    );

    let a = emb.embed("a car ahead").unwrap();
    let b = emb.embed("a car ahead").unwrap();
    assert!(std::sync::Arc::ptr_eq(&a, &b));
    assert_eq!(emb.cache_stats(), (1, 1));
    let norm: f32 = a.iter().map(|v| v * v).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-5, "embedding norm {norm}");
    // same as running the encoder on the tokens directly, and matches onnxruntime on them
    let tokens = emb.tokenizer().encode("a car ahead").unwrap();
    let py = format!(
        "import onnxruntime as o, numpy as n; s = o.InferenceSession('{}'); \
         print(' '.join(repr(float(v)) for v in s.run(None, {{'input_ids': n.array([{:?}], dtype=n.int64), \
         'attention_mask': n.array([{:?}], dtype=n.int64)}})[0][0]))",
        dir.join("model.onnx").display(),
        tokens.ids,
        tokens.mask
    );
    let out = Command::new(venv_python()).args(["-c", &py]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let ort: Vec<f32> = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(|v| v.parse().unwrap())
        .collect();
    let (max_abs, rel) = errors(&a, &ort);
    assert!(
        rel < 1e-5,
        "text embedding vs onnxruntime: max abs {max_abs}, rel {rel}"
    );
    for s in ["b", "c", "d", "e"] {
        emb.embed(s).unwrap();
    }
    emb.embed("a car ahead").unwrap(); // evicted by the 4 newer strings
    assert_eq!(emb.cache_stats(), (1, 6));
}

#[test]
fn bundled_tokenizer_gives_the_ids_and_mask_of_the_recipes_tokenizers_package() {
    // models/text_encoder/tokenizer.json pads to max_len (64) by itself: its padding must not be attended
    if !require(
        "the project venv with `tokenizers` (scripts/setup-venv.sh)",
        Command::new(venv_python())
            .args(["-c", "import tokenizers"])
            .status()
            .is_ok_and(|s| s.success()),
    ) {
        return;
    }
    let dir = repo_root().join("models/text_encoder");
    let emb = TextEmbedder::new(Encoder::load(&dir, &no_cache()).unwrap(), 4).unwrap();
    let texts = [
        "speed limit 50",
        "crosswalk 46 m ahead",
        "a straight road with a 50 km/h limit: two cars parked on the right, a pedestrian crossing",
        "",
        "Unknown-Words here!",
    ];
    let py = format!(
        "import json, tokenizers; t = tokenizers.Tokenizer.from_file('{}'); \
         print(json.dumps([[e.ids, e.attention_mask] for e in t.encode_batch({:?}, add_special_tokens=False)]))",
        dir.join("tokenizer.json").display(),
        texts
    );
    let out = Command::new(venv_python()).args(["-c", &py]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let want: Vec<(Vec<i64>, Vec<i64>)> = serde_json::from_slice(&out.stdout).unwrap();
    let l = emb.tokenizer().max_len();
    assert_eq!(l, 64, "MODEL_SPEC v2 text length");
    for (text, (ids, mask)) in texts.iter().zip(want) {
        let t = emb.tokenizer().encode(text).unwrap();
        assert_eq!(t.mask, mask[..l], "{text:?}: attention mask");
        assert_eq!(t.ids, ids[..l], "{text:?}: ids");
    }
}

/// The onnxruntime backend (feature `onnxruntime`, the wheel's libonnxruntime loaded at run time) runs
/// the same manifests and passes the same parity checks as tract, on the tiny models and on `models/`;
/// a corrupt model fails at load naming the file.
#[cfg(feature = "onnxruntime")]
#[test]
fn onnxruntime_backend_passes_the_same_parity_checks() {
    use sensorium_infer::Backend;
    let Some(f) = fixture() else { return };
    let lib = sensorium_infer::ort_backend::available();
    if !require(
        &format!("libonnxruntime for the onnxruntime backend ({lib:?})"),
        lib.is_ok(),
    ) {
        return;
    }
    let opts = CheckOptions {
        backend: Backend::OnnxRuntime,
        threads: 1,
        runs: 3,
        ..Default::default()
    };
    for dir in [f.root.join("good"), repo_root().join("models")] {
        let reports = check_models_with(&dir, &opts).unwrap();
        assert!(!reports.is_empty(), "{}", dir.display());
        let exact = sensorium_testkit::testdata::ort_int8_exact();
        for r in &reports {
            let why = || format!("{}: {}", r.name, serde_json::to_string_pretty(r).unwrap());
            if exact {
                assert!(r.pass, "{}", why());
            }
            for v in &r.variants {
                if !exact && v.variant.starts_with("int8") && !v.pass {
                    // onnxruntime's u8s8 kernels saturate on x86 without VNNI: its int8 drifts from
                    // the goldens by more than one step here and there, but stays close overall
                    eprintln!(
                        "{} {}: onnxruntime int8 off its goldens on this CPU (no VNNI)",
                        r.name, v.variant
                    );
                    for o in &v.outputs {
                        assert!(
                            o.rel_l2 <= 0.05,
                            "{} {} rel_l2 {}: {}",
                            r.name,
                            o.name,
                            o.rel_l2,
                            why()
                        );
                    }
                } else {
                    assert!(v.pass, "{}", why());
                }
                assert_eq!(v.backend, Backend::OnnxRuntime);
                eprintln!("{} {}: {:.3} ms", r.name, v.variant, v.latency_median_ms);
            }
        }
    }
    // same outputs as tract on the image encoder's golden inputs (fp32: within the parity bound)
    let img = repo_root().join("models/image_encoder");
    let m = sensorium_infer::Manifest::load(&img).unwrap().0;
    let names: Vec<&str> = m.inputs.iter().map(|i| i.name.as_str()).collect();
    let ort = Encoder::load(
        &img,
        &LoadOptions {
            backend: Backend::OnnxRuntime,
            ..no_cache()
        },
    )
    .unwrap();
    assert_eq!(ort.load_info().backend, Backend::OnnxRuntime);
    let tract = Encoder::load(&img, &no_cache()).unwrap();
    let a = ort.run(golden_inputs(&img, &names)).unwrap();
    let b = tract.run(golden_inputs(&img, &names)).unwrap();
    for (x, y) in a.iter().zip(b.iter()) {
        assert_eq!(x.shape, y.shape);
        let (_, rel) = errors(&x.data, &y.data);
        assert!(rel < 1e-4, "{}: onnxruntime vs tract rel L2 {rel}", x.name);
    }
    // a corrupt model: the error names the file
    let tmp = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(&img).unwrap().filter_map(|e| e.ok()) {
        if e.path().is_file() {
            std::fs::copy(e.path(), tmp.path().join(e.file_name())).unwrap();
        }
    }
    std::fs::write(tmp.path().join("model.onnx"), b"not a model").unwrap();
    let err = Encoder::load(
        tmp.path(),
        &LoadOptions {
            backend: Backend::OnnxRuntime,
            ..no_cache()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("model.onnx"), "{err}");
}
