//! Running the peers: Python scripts under the project's .venv (scripts/setup-venv.sh: OpenCV,
//! onnxruntime, onnx, the recipe's `sensorium_recipe` package, and Debian's ROS modules through its
//! system site-packages) and PCL's `pcl_voxel_grid`. Missing peers are installed when allowed.

use anyhow::{anyhow, bail, Context, Result};
use sensorium_testkit::testdata::{repo_root, ros_python, venv_python};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What a peer script needs. Both kinds run under the project's .venv python, which has both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interp {
    /// Debian's ROS modules (rosbag, rospy, sensor_msgs, message_filters) and OpenCV, with
    /// onnxruntime and the recipe package beside them.
    Ros,
    /// onnxruntime and onnx.
    Venv,
}

#[derive(Debug, Clone)]
pub struct Peers {
    /// Debian's python3, for scripts that run outside the venv (the message_filters reference).
    pub ros_python: PathBuf,
    /// The project's .venv python: every peer script.
    pub venv_python: PathBuf,
    pub scripts: PathBuf,
    /// peer → why it is unavailable (absent when available).
    pub missing: BTreeMap<&'static str, String>,
}

fn check(cmd: &mut Command) -> Result<(), String> {
    match cmd.output() {
        Ok(o) if o.status.success() => Ok(()),
        Ok(o) => Err(String::from_utf8_lossy(&o.stderr)
            .lines()
            .last()
            .unwrap_or("failed")
            .to_string()),
        Err(e) => Err(e.to_string()),
    }
}

impl Peers {
    pub fn locate() -> Peers {
        Peers {
            ros_python: ros_python(),
            venv_python: venv_python(),
            scripts: repo_root().join("crates/bench/python"),
            missing: BTreeMap::new(),
        }
    }

    fn probe(&mut self) {
        self.missing.clear();
        let venv = |code: &str| {
            let mut c = Command::new(&self.venv_python);
            c.args(["-c", code]);
            check(&mut c)
        };
        let checks: [(&'static str, Result<(), String>); 5] = [
            ("opencv", venv("import cv2")),
            (
                "ros (sensor_msgs, message_filters, rosbag)",
                venv("import sensor_msgs.point_cloud2, message_filters, rosbag"),
            ),
            ("onnxruntime", venv("import onnxruntime, onnx")),
            ("pcl", {
                let mut c = Command::new("pcl_voxel_grid");
                c.arg("-h");
                match c.output() {
                    Ok(_) => Ok(()),
                    Err(e) => Err(format!("pcl_voxel_grid: {e}")),
                }
            }),
            (
                "baseline node (rosbag + cv2 + onnxruntime + sensorium_recipe)",
                venv("import rosbag, cv2, onnxruntime, sensorium_recipe.rosbag_frames"),
            ),
        ];
        for (k, r) in checks {
            if let Err(e) = r {
                self.missing.insert(k, e);
            }
        }
    }

    /// Finds the peers; when some are missing and `install` is set, runs the repository's setup
    /// scripts (Debian packages incl. pcl-tools, the .venv) and looks again.
    pub fn ensure(&mut self, install: bool) {
        self.probe();
        if self.missing.is_empty() || !install {
            return;
        }
        let root = repo_root();
        eprintln!(
            "bench: installing missing peers ({}) with scripts/setup-deps.sh and scripts/setup-venv.sh",
            self.missing.keys().cloned().collect::<Vec<_>>().join(", ")
        );
        for s in ["scripts/setup-deps.sh", "scripts/setup-venv.sh"] {
            let p = root.join(s);
            if p.is_file() {
                let st = Command::new("bash")
                    .arg(&p)
                    .env("SENSORIUM_WITH_PCL", "1")
                    .status();
                if !st.is_ok_and(|s| s.success()) {
                    eprintln!("bench: {s} failed");
                }
            }
        }
        *self = Peers::locate();
        self.probe();
    }

    /// Why `peer` is unavailable, or None.
    pub fn unavailable(&self, peer: &str) -> Option<String> {
        self.missing
            .iter()
            .find(|(k, _)| k.starts_with(peer))
            .map(|(k, v)| format!("{k} unavailable ({v})"))
    }

    /// Runs `peers.py` (or another script in crates/bench/python) with the venv's python and parses
    /// the JSON object on its last stdout line.
    pub fn run(&self, interp: Interp, script: &str, args: &[String]) -> Result<Value> {
        let py = &self.venv_python;
        let out = Command::new(py)
            .arg(self.scripts.join(script))
            .args(args)
            .output()
            .with_context(|| format!("starting {} {script} ({interp:?} peer)", py.display()))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            bail!(
                "{script} {} failed: {}",
                args.first().map(String::as_str).unwrap_or(""),
                err.lines().last().unwrap_or("no output")
            );
        }
        let last = stdout
            .lines()
            .rev()
            .find(|l| l.trim_start().starts_with('{'))
            .ok_or_else(|| anyhow!("{script}: no JSON in its output"))?;
        Ok(serde_json::from_str(last)?)
    }
}

/// `median_ms` and `p99_ms` of a peer's JSON.
pub fn med_p99(v: &Value) -> Result<(f64, f64)> {
    let m = v["median_ms"]
        .as_f64()
        .ok_or_else(|| anyhow!("peer output lacks median_ms: {v}"))?;
    Ok((m, v["p99_ms"].as_f64().unwrap_or(m)))
}

/// Runs `pcl_voxel_grid` `runs` times on a PCD and returns the filter's own times (ms) as PCL prints
/// them ("> Computing [done, X ms : N points]"), and the output point count.
pub fn pcl_voxel_grid(pcd: &Path, leaf: [f64; 3], runs: usize) -> Result<(Vec<f64>, usize)> {
    let out_pcd = pcd.with_extension("voxel.pcd");
    let mut times = Vec::new();
    let mut points = 0;
    for _ in 0..runs {
        let out = Command::new("pcl_voxel_grid")
            .arg(pcd)
            .arg(&out_pcd)
            .arg("-leaf")
            .arg(format!("{},{},{}", leaf[0], leaf[1], leaf[2]))
            .output()
            .context("running pcl_voxel_grid")?;
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text
            .lines()
            .find(|l| l.contains("Computing"))
            .ok_or_else(|| anyhow!("pcl_voxel_grid printed no 'Computing' line: {text}"))?;
        let inner = line
            .split("[done, ")
            .nth(1)
            .ok_or_else(|| anyhow!("unexpected pcl_voxel_grid line {line:?}"))?;
        let ms: f64 = inner
            .split_whitespace()
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| anyhow!("unexpected pcl_voxel_grid line {line:?}"))?;
        points = inner
            .split(": ")
            .nth(1)
            .and_then(|s| s.split_whitespace().next())
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        times.push(ms);
    }
    let _ = std::fs::remove_file(out_pcd);
    Ok((times, points))
}
