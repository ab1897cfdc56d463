//! `sensorium replay` held to the recipe's offline evaluation in Python (`python -m
//! sensorium_recipe.evaluate_bag` in the project venv: Debian's rosbag, OpenCV, the recipe's numpy
//! preprocessing, onnxruntime, the recipe's scorer) on the bundled sample. Its own test binary: the
//! Python runs take both cores for a while, and the replay tests' overload figures must not share the
//! machine with them.

mod common;
use common::{replay, repo, scenes};
use serde_json::Value;
use std::process::Command;

#[test]
fn replay_metrics_match_the_recipes_python_evaluation_of_the_same_bag() {
    use sensorium_testkit::testdata::{ort_int8_exact, require, venv_imports, venv_python};
    // the reference: sensorium_recipe.evaluate_bag, the recipe's own scorer over its numpy
    // preprocessing and onnxruntime, reading the bag with Debian's rosbag and OpenCV
    if !require(
        "the project venv with the recipe package (scripts/setup-venv.sh)",
        venv_imports("rosbag, cv2, onnxruntime, tokenizers, sensorium_recipe.evaluate_bag"),
    ) {
        return;
    }
    let ort_exact = ort_int8_exact();
    if !ort_exact {
        eprintln!("this CPU has no VNNI: onnxruntime's int8 (the Python side) drifts from its goldens");
    }
    for variant in ["fp32", "int8"] {
        let out = tempfile::tempdir().expect("tmp");
        let s = replay(&["--variant", variant, "--render", "none"], out.path());
        let rs = &s["metrics"];
        // the sweeps the replay fused (the synchronizer leaves the recording's last one unmatched)
        let stamps: Vec<String> = scenes(out.path())
            .iter()
            .map(|sc| {
                let t = &sc["lidar_stamp"];
                let (sec, nsec) = (t["sec"].as_f64(), t["nsec"].as_f64());
                format!("{:.9}", sec.unwrap_or(0.0) + nsec.unwrap_or(0.0) * 1e-9)
            })
            .collect();
        let stamps_file = out.path().join("stamps.txt");
        std::fs::write(&stamps_file, stamps.join("\n")).expect("write stamps");
        let o = Command::new(venv_python())
            .args(["-m", "sensorium_recipe.evaluate_bag"])
            .arg(repo().join("tests/fixtures/sample.bag"))
            .args(["--models", "models", "--variant", variant, "--stamps"])
            .arg(&stamps_file)
            .current_dir(repo())
            .output()
            .expect("run sensorium_recipe.evaluate_bag");
        assert!(
            o.status.success(),
            "sensorium_recipe.evaluate_bag failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let py: Value = serde_json::from_slice(&o.stdout).expect("evaluate_bag prints JSON");
        eprintln!("{variant}: python {py}\n{variant}: sensorium replay {rs}");
        let close = |what: &str, a: Option<f64>, b: Option<f64>, tol: f64| {
            let (a, b) = (
                a.unwrap_or_else(|| panic!("{variant} {what}: missing in python's {py}")),
                b.unwrap_or_else(|| panic!("{variant} {what}: missing in replay's {rs}")),
            );
            assert!(
                (a - b).abs() <= tol,
                "{variant} {what}: python {a:.4} vs sensorium replay {b:.4} (more than {tol:.3} apart)"
            );
        };
        assert_eq!(
            rs["frames"].as_u64(),
            py["frames"].as_u64(),
            "{variant}: the same sweeps are scored"
        );
        assert_eq!(rs["frames"].as_u64(), Some(stamps.len() as u64));
        close(
            "occupancy_iou",
            py["occupancy_iou"].as_f64(),
            rs["occupancy_iou"].as_f64(),
            0.02,
        );
        // top-1 among near-identical captions (the sample's neighbours differ in a crosswalk's distance):
        // fp32 runs the same arithmetic, 2 points; int8 kernels round differently between engines and one
        // of the 49 frames moves top-1 by 2.04 points, so two frames (the shipped int8 models: onnxruntime
        // 20/49, sensorium 21/49; a text encoder with its attention MatMuls quantized to u8 differs by three)
        let frames = py["frames"].as_f64().unwrap_or(1.0).max(1.0);
        close(
            "query_top1",
            py["query_top1"].as_f64(),
            rs["query_top1"].as_f64(),
            if variant == "fp32" {
                0.02
            } else {
                (2.0 / frames + 1e-9).max(0.02)
            },
        );
        let classes = py["objects"].as_object().expect("objects");
        assert!(!classes.is_empty(), "the sample has ground-truth objects");
        let (mut hits_py, mut hits_rs, mut total) = (0.0, 0.0, 0.0);
        for (class, n) in classes {
            let n = n.as_f64().unwrap_or(0.0);
            assert_eq!(
                rs["objects"][class].as_f64(),
                Some(n),
                "{variant} {class}: same ground-truth objects scored"
            );
            let (a, b) = (py["recall"][class].as_f64(), rs["recall"][class].as_f64());
            // fp32 runs the same arithmetic (tract vs onnxruntime f32): 2 points; int8 kernels round
            // differently between engines, and one object of n moves a class's recall by 1/n (5.6
            // points for the sample's 18 trucks): 2 points or one object, whichever is more — two
            // objects where onnxruntime's own int8 drifts from its goldens (x86 without VNNI, see
            // `ort_int8_exact`; measured: truck 16/18 there, 17/18 on VNNI, sensorium 18/18)
            let objects = if ort_exact { 1.0 } else { 2.0 };
            let tol = if variant == "fp32" {
                0.02
            } else {
                (objects / n + 1e-9).max(0.02)
            };
            close(&format!("recall.{class}"), a, b, tol);
            hits_py += a.unwrap_or(0.0) * n;
            hits_rs += b.unwrap_or(0.0) * n;
            total += n;
        }
        // over all objects together, 2 points whatever the variant
        close(
            "recall over all objects",
            Some(hits_py / total),
            Some(hits_rs / total),
            0.02,
        );
    }
}
