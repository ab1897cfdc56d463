//! `sensorium bench`: every hot stage of the runtime timed beside the peer a robotics team would
//! otherwise use, in the same run (ratios survive noisy machines; absolute times do not).
//!
//! Stages and peers: PointCloud2 decode (Debian's `read_points`), JPEG decode (`cv2.imdecode`),
//! resize + normalise (`cv2.resize` + numpy), projection (`cv2.projectPoints`), pillar gridding +
//! painting (PCL's VoxelGrid), each encoder fp32/int8 at 1 and N threads (onnxruntime, same threads),
//! engine overhead and synchronization (python3-message-filters), end to end (a Python node: rosbag +
//! numpy + onnxruntime, same models, same frames), peak RSS (replay vs the Python node; the ROS node
//! over a soak), and the machine's measured sgemm / int8 gemm peak that each encoder's achieved
//! multiply-accumulate rate is a fraction of.

pub mod measure;
pub mod peers;
pub mod report;
pub mod stages;
pub mod system;

pub use measure::{Budget, Stats};
pub use report::{Machine, Report, Row};

use std::path::PathBuf;

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Short run (CI): fewer iterations, a 30 s soak.
    pub quick: bool,
    /// Models folder (manifests + ONNX files).
    pub models: PathBuf,
    /// The recording for the end-to-end and soak figures.
    pub bag: PathBuf,
    /// The `sensorium` executable (for the replay and node subprocesses).
    pub exe: PathBuf,
    /// N in "1 and N threads" (0 = available cores).
    pub threads: usize,
    /// Node soak length in seconds (default 600, quick 30; 0 skips it).
    pub soak_s: Option<u64>,
    /// Install missing peers (Debian packages, the .venv) before measuring.
    pub install_peers: bool,
    /// Only the stages whose name contains one of these (empty: all).
    pub only: Vec<String>,
}

/// Runs every stage and returns the report (rows in a fixed order).
pub fn run(opts: &Options) -> anyhow::Result<Report> {
    let mut peers = peers::Peers::locate();
    peers.ensure(opts.install_peers);
    for (k, why) in &peers.missing {
        eprintln!("bench: WARNING peer {k} is unavailable ({why}); its rows carry no ratio");
    }
    let machine = system::machine(opts, &peers);
    let work = tempfile::Builder::new().prefix("sensorium-bench-").tempdir()?;
    let ctx = stages::Ctx {
        opts: opts.clone(),
        budget: Budget::new(opts.quick),
        peers,
        work: work.path().to_path_buf(),
        threads: if opts.threads == 0 {
            std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
        } else {
            opts.threads
        },
    };
    let mut results = Vec::new();
    for (name, stage) in stages::ALL {
        if !opts.only.is_empty() && !opts.only.iter().any(|o| name.contains(o.as_str())) {
            continue;
        }
        eprintln!("bench: {name} ...");
        match stage(&ctx) {
            Ok(rows) => {
                for r in &rows {
                    eprintln!(
                        "bench:   {} median {:.3} ms{}",
                        r.name,
                        r.median_ms,
                        r.ratio.map(|x| format!(", ratio {x:.3}")).unwrap_or_default()
                    );
                }
                results.extend(rows);
            }
            Err(e) => {
                eprintln!("bench: ERROR in {name}: {e:#}");
                results.push(Row::new(*name).note(format!("failed: {e:#}")));
            }
        }
    }
    Ok(Report { machine, results })
}

/// True when every row that failed outright is absent (a failed stage is a row whose note starts
/// with "failed").
pub fn all_ran(report: &Report) -> bool {
    report.results.iter().all(|r| !r.note.starts_with("failed"))
}
