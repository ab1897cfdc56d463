//! A minimal `sensorium node`: `cargo run --example node -- [--models DIR] [--calib DIR] [NAME] [remaps...]`.
//!
//! Prints the node report (scenes, modalities, drops, latency p50/p99) as `key=value` lines on exit.

use sensorium_ros::{run_node, NodeSettings};
use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    // ROS remapping arguments (`a:=b`, `__name:=x`) are read by rosrust from the command line;
    // accepted here: `[node] [--models DIR] [--calib DIR] [MODELS_DIR] [NAME]`
    let mut plain = Vec::new();
    let (mut models, mut calib) = (None, None);
    let mut args = std::env::args().skip(1).filter(|a| !a.contains(":=")).peekable();
    if args.peek().is_some_and(|a| a == "node") {
        args.next();
    }
    while let Some(a) = args.next() {
        match a.as_str() {
            "--models" => models = args.next().map(PathBuf::from),
            "--calib" => calib = args.next().map(PathBuf::from),
            _ => plain.push(a),
        }
    }
    let mut plain = plain.into_iter();
    let models = models
        .or_else(|| plain.next().map(PathBuf::from))
        .ok_or_else(|| anyhow::anyhow!("usage: node [--models DIR] [--calib DIR] [MODELS_DIR] [NAME]"))?;
    let name = plain.next().unwrap_or_else(|| "sensorium".to_string());
    let name = name.as_str();
    let mut settings = NodeSettings::new(models);
    if let Ok(q) = std::env::var("SENSORIUM_QUERIES") {
        settings.queries = q
            .split(';')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
    }
    if let Ok(d) = std::env::var("SENSORIUM_DEADLINE_MS") {
        settings.deadline_ms = d.parse()?;
    }
    if let Some(dir) = calib {
        settings.calibration = Some(sensorium_geometry::VehicleCalib::load(&dir)?);
    }
    let report = run_node(settings, name)?;
    println!("framesets={}", report.framesets);
    println!("scenes={}", report.scenes);
    for (k, v) in &report.modalities {
        println!("modalities_{k}={v}");
    }
    for (k, v) in &report.received {
        println!("received_{k}={v}");
    }
    for (k, v) in &report.dropped {
        println!("dropped_{k}={v}");
    }
    println!("latency_p50_ms={:.2}", report.latency_p50_ms);
    println!("latency_p99_ms={:.2}", report.latency_p99_ms);
    if let Some(why) = &report.master_restarted {
        println!("master_restarted=1");
        eprintln!("{why}");
        std::process::exit(sensorium_ros::EXIT_MASTER_RESTARTED);
    }
    Ok(())
}
