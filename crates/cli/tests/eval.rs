//! `sensorium eval` on real labelled frames from `../shared/data` (never committed): KITTI object frames
//! 000000–000002 and the two Argoverse 2 sweeps. Checked: every label lands in the scene frame where an
//! independent numpy/pyarrow reading puts it (position, yaw, size, the "too few points" rule), the
//! JSON carries the per-class keys the CLI documents, the figures README states come out of this run,
//! and damaged frames are reported by name while the rest is scored.

use sensorium_testkit::testdata::{repo_root, require, shared_data_dir, venv_imports, venv_python};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn kitti_dir() -> PathBuf {
    shared_data_dir().join("kitti_object_vis/data/object/training")
}

fn av2_dir() -> PathBuf {
    shared_data_dir().join("argoverse2_sensor_sample/7fab2350-7eaf-3b7e-a39d-6937a4c1bede")
}

fn eval(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sensorium"))
        .arg("eval")
        .arg("--quiet")
        .args(args)
        .current_dir(repo_root())
        .output()
        .expect("run sensorium eval")
}

/// `sensorium eval --dataset KIND DIR --json OUT` → its JSON (it must succeed).
fn eval_json(kind: &str, dir: &Path, extra: &[&str]) -> Value {
    let tmp = tempfile::tempdir().expect("tmp");
    let json = tmp.path().join("eval.json");
    let mut args = vec![
        "--dataset",
        kind,
        dir.to_str().expect("utf-8"),
        "--json",
        json.to_str().expect("utf-8"),
    ];
    args.extend_from_slice(extra);
    let o = eval(&args);
    assert!(
        o.status.success(),
        "eval failed: {}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("recall") && stdout.contains("precision"),
        "{stdout}"
    );
    serde_json::from_str(&std::fs::read_to_string(&json).expect("JSON written")).expect("JSON")
}

/// The labels as `labels_numpy.py` reads them, by frame.
fn numpy_labels(kind: &str, dir: &Path) -> Value {
    let script = repo_root().join("crates/datasets/tests/python/labels_numpy.py");
    let o = Command::new(venv_python())
        .arg(&script)
        .arg(kind)
        .arg(dir)
        .output()
        .expect("run labels_numpy.py");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).expect("labels JSON")
}

/// Every scored label of `report` equals the independent reading (same order, unscored types left out).
fn labels_agree(report: &Value, truth: &Value, class_of: impl Fn(&str) -> Option<(&'static str, bool)>) {
    let frames = report["per_frame"].as_array().expect("per_frame");
    assert!(!frames.is_empty());
    for f in frames {
        let name = f["name"].as_str().expect("name");
        let ours = f["truth"].as_array().expect("truth");
        let theirs: Vec<&Value> = truth[name]
            .as_array()
            .expect("frame in the numpy reading")
            .iter()
            .filter(|l| class_of(l["type"].as_str().unwrap_or("")).is_some())
            .collect();
        assert_eq!(ours.len(), theirs.len(), "frame {name}: {ours:?} vs {theirs:?}");
        for (o, t) in ours.iter().zip(&theirs) {
            let (class, dont_care) = class_of(t["type"].as_str().unwrap_or("")).expect("scored type");
            assert_eq!(o["class"], class, "frame {name}: {o} vs {t}");
            for k in ["x", "y", "z", "length", "width", "height"] {
                let (a, b) = (o[k].as_f64().expect(k), t[k].as_f64().expect(k));
                assert!((a - b).abs() < 1e-6, "frame {name} {k}: {a} vs numpy {b}");
            }
            let dyaw = (o["yaw"].as_f64().expect("yaw") - t["yaw"].as_f64().expect("yaw")).sin();
            assert!(dyaw.abs() < 1e-6, "frame {name} yaw: {o} vs {t}");
            let few = t["points"].as_u64().expect("points") < 10;
            assert_eq!(
                o["ignore"].as_bool(),
                Some(dont_care || few),
                "frame {name}: {o} vs {t}"
            );
        }
    }
}

/// Per class: (labels scored, detections, matches), as README states them for this run (tract, the
/// default variant of the target, the bundled models); detections may move by one or 5 %.
fn check_pinned(m: &Value, pinned: &[(&str, u64, u64, u64)]) {
    for (class, truth, predicted, matched) in pinned {
        let o = &m["objects"][class];
        assert_eq!(o["truth"].as_u64(), Some(*truth), "{class}: {m}");
        let got = o["predicted"].as_u64().expect("predicted");
        let tol = (*predicted as f64 * 0.05).max(1.0);
        assert!(
            (got as f64 - *predicted as f64).abs() <= tol,
            "{class}: {got} detections, README states {predicted}: {m}"
        );
        assert!(
            o["matched"].as_u64().expect("matched").abs_diff(*matched) <= 1,
            "{class}: {m}"
        );
    }
}

fn keys_present(m: &Value) {
    for class in ["car", "pedestrian", "cyclist", "truck"] {
        for k in ["recall", "precision"] {
            assert!(
                m["objects"][class].get(k).is_some(),
                "metrics.objects.{class}.{k}: {m}"
            );
        }
        assert!(
            m["grid"][class].get("recall").is_some(),
            "metrics.grid.{class}.recall: {m}"
        );
    }
}

#[test]
fn kitti_object_frames_are_scored_with_labels_where_numpy_puts_them() {
    if !require("KITTI object frames in ../shared/data", kitti_dir().is_dir())
        || !require("numpy in the project venv", venv_imports("numpy"))
    {
        return;
    }
    let r = eval_json("kitti", &kitti_dir(), &[]);
    assert_eq!(r["dataset"], "kitti");
    assert_eq!(r["frames"].as_u64(), Some(3), "{r}");
    assert_eq!(r["frames_failed"].as_u64(), Some(0), "{r}");
    let m = &r["metrics"];
    keys_present(m);
    labels_agree(&r, &numpy_labels("kitti", &kitti_dir()), |t| match t {
        "Car" => Some(("car", false)),
        "Van" => Some(("car", true)),
        "Truck" => Some(("truck", false)),
        "Tram" => Some(("truck", true)),
        "Pedestrian" => Some(("pedestrian", false)),
        "Person_sitting" => Some(("pedestrian", true)),
        "Cyclist" => Some(("cyclist", false)),
        _ => None,
    });
    // within 40 m and camera 2's view: frame 000000's pedestrian (8.7 m) and 000002's car (34.7 m)
    if cfg!(target_arch = "x86_64") {
        check_pinned(
            m,
            &[
                ("car", 1, 13, 0),
                ("pedestrian", 1, 34, 0),
                ("truck", 0, 3, 0),
                ("cyclist", 0, 2, 0),
            ],
        );
    }
}

#[test]
fn an_argoverse2_log_is_scored_lidar_only_with_its_cuboids() {
    if !require("Argoverse 2 sample log in ../shared/data", av2_dir().is_dir())
        || !require(
            "numpy and pyarrow in the project venv",
            venv_imports("numpy, pyarrow"),
        )
    {
        return;
    }
    let out = tempfile::tempdir().expect("tmp");
    let r = eval_json(
        "av2",
        &av2_dir(),
        &["--out", out.path().to_str().expect("utf-8"), "--render", "all"],
    );
    assert_eq!(r["dataset"], "av2");
    assert_eq!(r["frames"].as_u64(), Some(2), "{r}");
    for f in r["per_frame"].as_array().expect("per_frame") {
        assert_eq!(
            f["painted_points"].as_u64(),
            Some(0),
            "no camera: nothing painted: {f}"
        );
    }
    let m = &r["metrics"];
    keys_present(m);
    labels_agree(&r, &numpy_labels("av2", &av2_dir()), |t| match t {
        "REGULAR_VEHICLE" => Some(("car", false)),
        "LARGE_VEHICLE" | "BOX_TRUCK" | "TRUCK" | "TRUCK_CAB" | "BUS" | "ARTICULATED_BUS" | "SCHOOL_BUS"
        | "VEHICULAR_TRAILER" => Some(("truck", false)),
        "PEDESTRIAN" => Some(("pedestrian", false)),
        "BICYCLIST" | "MOTORCYCLIST" => Some(("cyclist", false)),
        "CONSTRUCTION_CONE" => Some(("cone", false)),
        "BICYCLE" | "MOTORCYCLE" | "WHEELED_RIDER" => Some(("cyclist", true)),
        "STROLLER" | "WHEELCHAIR" | "OFFICIAL_SIGNALER" => Some(("pedestrian", true)),
        _ => None,
    });
    if cfg!(target_arch = "x86_64") {
        check_pinned(
            m,
            &[("car", 16, 35, 1), ("pedestrian", 6, 73, 0), ("truck", 0, 15, 0)],
        );
    }
    let scenes = std::fs::read_to_string(out.path().join("scenes.jsonl")).expect("scenes.jsonl");
    assert_eq!(scenes.lines().count(), 2);
    assert!(out.path().join("scene_000001.png").is_file());
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir") {
        let p = e.expect("entry").path();
        let dest = to.join(p.file_name().expect("name"));
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).expect("copy");
            let mut perm = std::fs::metadata(&dest).expect("meta").permissions();
            #[allow(clippy::permissions_set_readonly_false)]
            perm.set_readonly(false);
            std::fs::set_permissions(&dest, perm).expect("chmod");
        }
    }
}

#[test]
fn damaged_frames_are_named_and_the_rest_is_scored() {
    if !require(
        "KITTI object frames and the Argoverse 2 log in ../shared/data",
        kitti_dir().is_dir() && av2_dir().is_dir(),
    ) {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let k = tmp.path().join("kitti");
    copy_dir(&kitti_dir(), &k);
    // a cut scan (not a whole number of points) and a label line with a word for a number
    std::fs::write(k.join("velodyne/000001.bin"), vec![0u8; 1000]).expect("cut scan");
    std::fs::write(
        k.join("label_2/000002.txt"),
        "Car 0 0 0 1 2 3 4 1.5 1.6 four 1 2 3 0\n",
    )
    .expect("bad label");
    let r = eval_json("kitti", &k, &[]);
    assert_eq!(
        (r["frames"].as_u64(), r["frames_failed"].as_u64()),
        (Some(1), Some(2)),
        "{r}"
    );
    let errors = r["errors"].to_string();
    assert!(
        errors.contains("000001.bin") && errors.contains("multiple of 16"),
        "{errors}"
    );
    assert!(
        errors.contains("000002.txt") && errors.contains("line 1"),
        "{errors}"
    );

    let a = tmp.path().join("av2");
    copy_dir(&av2_dir(), &a);
    let sweep = a.join("sensors/lidar/315966265360032000.feather");
    let bytes = std::fs::read(&sweep).expect("sweep");
    std::fs::write(&sweep, &bytes[..bytes.len() / 2]).expect("cut sweep");
    let r = eval_json("av2", &a, &[]);
    assert_eq!(
        (r["frames"].as_u64(), r["frames_failed"].as_u64()),
        (Some(1), Some(1)),
        "{r}"
    );
    assert!(
        r["errors"].to_string().contains("315966265360032000.feather"),
        "{r}"
    );

    // nothing readable at all: exit 3, naming what is missing
    let ann = a.join("annotations.feather");
    std::fs::write(&ann, b"ARROW1\0\0 not really").expect("bad annotations");
    let o = eval(&["--dataset", "av2", a.to_str().expect("utf-8")]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(err.contains("annotations.feather"), "{err}");
    let o = eval(&[
        "--dataset",
        "kitti",
        tmp.path().join("none").to_str().expect("utf-8"),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(err.contains("velodyne"), "{err}");
}
