//! The bundled data (models, sample recording) is found at run time, not through a path compiled into
//! the binary: a copy of `sensorium` installed under `<prefix>/bin` with its data in
//! `<prefix>/share/sensorium`, or pointed at with `SENSORIUM_HOME`, replays the sample from a working
//! directory that has nothing of the checkout.

use sensorium_testkit::testdata::repo_root;
use std::path::Path;
use std::process::Command;

fn link(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
    std::os::unix::fs::symlink(from, to).expect("symlink");
}

fn replay_from(bin: &Path, cwd: &Path, env: &[(&str, &Path)]) -> serde_json::Value {
    let summary = cwd.join("summary.json");
    let o = Command::new(bin)
        .args([
            "replay",
            "--fast",
            "--quiet",
            "--render",
            "none",
            "--max-frames",
            "2",
        ])
        .arg("--summary-json")
        .arg(&summary)
        .current_dir(cwd)
        .env("SENSORIUM_CACHE_DIR", cwd.join("cache"))
        .env_remove("SENSORIUM_HOME")
        .envs(env.iter().map(|(k, v)| (*k, v.as_os_str())))
        .output()
        .expect("run sensorium");
    assert!(
        o.status.success(),
        "{}: {}",
        bin.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_str(&std::fs::read_to_string(&summary).expect("summary")).expect("JSON")
}

#[test]
fn an_installed_copy_finds_its_data_beside_it_or_through_sensorium_home() {
    let repo = repo_root();
    let tmp = tempfile::tempdir().expect("tmp");
    // <prefix>/bin/sensorium + <prefix>/share/sensorium/{models, tests/fixtures/sample.bag}
    let prefix = tmp.path().join("prefix");
    let bin = prefix.join("bin/sensorium");
    std::fs::create_dir_all(bin.parent().expect("bin")).expect("mkdir");
    std::fs::copy(env!("CARGO_BIN_EXE_sensorium"), &bin).expect("copy the binary");
    let share = prefix.join("share/sensorium");
    link(&repo.join("models"), &share.join("models"));
    link(
        &repo.join("tests/fixtures/sample.bag"),
        &share.join("tests/fixtures/sample.bag"),
    );
    let elsewhere = tmp.path().join("work");
    std::fs::create_dir_all(&elsewhere).expect("mkdir");
    let s = replay_from(&bin, &elsewhere, &[]);
    assert_eq!(s["framesets_fused"].as_u64(), Some(2), "{s}");

    // the same data named by SENSORIUM_HOME, for a binary with nothing beside it
    let lone = tmp.path().join("lone/sensorium");
    std::fs::create_dir_all(lone.parent().expect("dir")).expect("mkdir");
    std::fs::copy(env!("CARGO_BIN_EXE_sensorium"), &lone).expect("copy the binary");
    let s = replay_from(&lone, &elsewhere, &[("SENSORIUM_HOME", share.as_path())]);
    assert_eq!(s["framesets_fused"].as_u64(), Some(2), "{s}");

    // and without either, the missing sample is an error that names the path it looked for
    let o = Command::new(&lone)
        .args(["replay", "--fast", "--quiet", "--render", "none"])
        .current_dir(&elsewhere)
        .env_remove("SENSORIUM_HOME")
        .output()
        .expect("run sensorium");
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("tests/fixtures/sample.bag"), "{err}");
}
