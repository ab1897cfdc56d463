//! Facts about the machine and about child processes (peak and current RSS, CPU time) from /proc.

use crate::peers::{Interp, Peers};
use crate::report::Machine;
use crate::Options;
use std::collections::BTreeMap;
use std::process::Command;

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// A `Key:   value kB` field of /proc/PID/status, in MiB.
pub fn status_mib(pid: u32, key: &str) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = s.lines().find(|l| l.starts_with(key))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// User + system CPU seconds of a process (from /proc/PID/stat).
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // fields after the parenthesised command name; utime and stime are fields 14 and 15
    let rest = s.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

pub fn machine(opts: &Options, peers: &Peers) -> Machine {
    let cpuinfo = read("/proc/cpuinfo");
    let cpu = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_else(|| std::env::consts::ARCH.to_string());
    let mem_kb: f64 = read("/proc/meminfo")
        .lines()
        .find(|l| l.starts_with("MemTotal"))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0.0);
    let os = read("/etc/os-release")
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim_matches('"').to_string())
        .unwrap_or_default();
    let git_commit = Command::new("git")
        .args(["-C"])
        .arg(sensorium_testkit::testdata::repo_root())
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    let mut versions = BTreeMap::new();
    if let Ok(v) = peers.run(Interp::Ros, "peers.py", &["versions".into()]) {
        if let Some(o) = v.as_object() {
            for (k, val) in o {
                versions.insert(k.clone(), val.as_str().unwrap_or_default().to_string());
            }
        }
    }
    if let Ok(o) = Command::new("dpkg-query")
        .args(["-W", "-f=${Version}", "pcl-tools"])
        .output()
    {
        if o.status.success() {
            versions.insert("pcl".into(), String::from_utf8_lossy(&o.stdout).to_string());
        }
    }
    Machine {
        cpu,
        cores: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        memory_gib: mem_kb / 1024.0 / 1024.0,
        os,
        kernel: read("/proc/sys/kernel/osrelease").trim().to_string(),
        arch: std::env::consts::ARCH.to_string(),
        profile: if cfg!(debug_assertions) {
            "debug (hot-path crates, sim, tract and ndarray at opt-level 3; others 1, deps 2)".into()
        } else {
            "release".into()
        },
        sensorium_version: env!("CARGO_PKG_VERSION").to_string(),
        git_commit,
        started_unix_s: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
        mode: if opts.quick { "quick".into() } else { "full".into() },
        peers: versions,
        models_digest: crate::report::models_digest(&opts.models).ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_has_rss_and_cpu_time() {
        let pid = std::process::id();
        let hwm = status_mib(pid, "VmHWM:").unwrap();
        let rss = status_mib(pid, "VmRSS:").unwrap();
        assert!(hwm > 0.0 && rss > 0.0 && hwm >= rss * 0.5, "{hwm} {rss}");
        // burn CPU until the kernel's tick-granular counter moves (at most 5 s of wall time)
        let t = std::time::Instant::now();
        let mut x = 0u64;
        while cpu_seconds(pid).unwrap_or(0.0) <= 0.0 && t.elapsed().as_secs() < 5 {
            for i in 0..1_000_000u64 {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(i);
            }
        }
        std::hint::black_box(x);
        assert!(cpu_seconds(pid).unwrap() > 0.0);
        assert!(status_mib(pid, "NoSuchKey:").is_none());
    }
}
