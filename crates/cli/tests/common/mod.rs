//! Helpers shared by the replay test binaries: run `sensorium replay` on the bundled sample, read its
//! summary and scenes.
#![allow(dead_code)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

pub fn repo() -> PathBuf {
    sensorium_core::testdata::repo_root()
}

pub fn replay(extra: &[&str], out: &Path) -> Value {
    replay_env(extra, out, &[])
}

/// `sensorium replay --fast` (unless `extra` has `--rate`) with extra environment variables.
pub fn replay_env(extra: &[&str], out: &Path, env: &[(&str, &str)]) -> Value {
    let summary = out.join("summary.json");
    let mut args: Vec<String> = vec!["replay".into(), "--quiet".into()];
    if !extra.contains(&"--rate") {
        args.push("--fast".into());
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    args.extend([
        "--summary-json".into(),
        summary.display().to_string(),
        "--out".into(),
        out.display().to_string(),
    ]);
    let o = Command::new(env!("CARGO_BIN_EXE_sensorium"))
        .args(&args)
        .current_dir(repo())
        .env("SENSORIUM_CACHE_DIR", out.join("cache"))
        .envs(env.iter().copied())
        .output()
        .expect("run sensorium replay");
    assert!(
        o.status.success(),
        "replay failed: {}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_str(&std::fs::read_to_string(&summary).expect("summary written"))
        .expect("summary is JSON")
}

pub fn scenes(out: &Path) -> Vec<Value> {
    std::fs::read_to_string(out.join("scenes.jsonl"))
        .expect("scenes.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).expect("scene line is JSON"))
        .collect()
}
