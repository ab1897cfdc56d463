//! Running the peers: Python scripts (Debian's python3 for OpenCV / ROS, the project's .venv for
//! onnxruntime / onnx) and PCL's `pcl_voxel_grid`. Missing peers are installed when allowed.

use anyhow::{anyhow, bail, Context, Result};
use sensorium_testkit::testdata::{repo_root, ros_python, venv_python};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Which interpreter a peer needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interp {
    /// Debian's python3 (cv2, rospy, sensor_msgs, message_filters) with the venv's onnxruntime appended.
    Ros,
    /// The project's .venv (onnxruntime, onnx, numpy 2).
    Venv,
}

#[derive(Debug, Clone)]
pub struct Peers {
    pub ros_python: PathBuf,
    pub venv_python: PathBuf,
    pub venv_site: Option<PathBuf>,
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
        let venv_python = venv_python();
        Peers {
            ros_python: ros_python(),
            venv_site: sensorium_testkit::testdata::venv_site_of(&venv_python),
            venv_python,
            scripts: repo_root().join("crates/bench/python"),
            missing: BTreeMap::new(),
        }
    }

    fn probe(&mut self) {
        self.missing.clear();
        let ros = |code: &str| {
            let mut c = Command::new(&self.ros_python);
            c.args(["-c", code]);
            check(&mut c)
        };
        let checks: [(&'static str, Result<(), String>); 5] = [
            ("opencv", ros("import cv2")),
            (
                "ros (sensor_msgs, message_filters, rosbag)",
                ros("import sensor_msgs.point_cloud2, message_filters, rosbag"),
            ),
            ("onnxruntime", {
                let mut c = Command::new(&self.venv_python);
                c.args(["-c", "import onnxruntime, onnx"]);
                check(&mut c)
            }),
            ("pcl", {
                let mut c = Command::new("pcl_voxel_grid");
                c.arg("-h");
                match c.output() {
                    Ok(_) => Ok(()),
                    Err(e) => Err(format!("pcl_voxel_grid: {e}")),
                }
            }),
            ("baseline node (rosbag + cv2 + onnxruntime)", {
                let mut c = Command::new(&self.ros_python);
                c.args([
                    "-c",
                    "import sys; sys.path.append(sys.argv[1]); import rosbag, cv2, onnxruntime",
                ]);
                c.arg(self.venv_site.clone().unwrap_or_default());
                check(&mut c)
            }),
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

    /// Runs `peers.py` (or another script in crates/bench/python) and parses the JSON object on its
    /// last stdout line.
    pub fn run(&self, interp: Interp, script: &str, args: &[String]) -> Result<Value> {
        let py = match interp {
            Interp::Ros => &self.ros_python,
            Interp::Venv => &self.venv_python,
        };
        let mut c = Command::new(py);
        c.arg(self.scripts.join(script)).args(args);
        if let (Interp::Ros, Some(site)) = (interp, &self.venv_site) {
            c.env("SENSORIUM_VENV_SITE", site);
        }
        let out = c
            .output()
            .with_context(|| format!("starting {} {script}", py.display()))?;
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
