//! Regenerates the bundled sample: `cargo run --release -p sensorium-sim --example make_sample [-- OUT_DIR]`
//! writes OUT_DIR/sample.bag and OUT_DIR/sample_calib/ (default: tests/fixtures at the repository root)
//! with `SimConfig::sample()`, seed 2024 and 50 sweeps (5 s).

use sensorium_sim::{simulate_to_bag, write_calibration, SimConfig};
use std::path::PathBuf;

pub const SEED: u64 = 2024;
pub const SWEEPS: u32 = 50;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures"));
    std::fs::create_dir_all(&out)?;
    let cfg = SimConfig::sample();
    let t = std::time::Instant::now();
    let rep = simulate_to_bag(&cfg, SWEEPS, SEED, &out.join("sample.bag"))?;
    write_calibration(&cfg, &out.join("sample_calib"))?;
    println!("{rep:?} in {:.2} s", t.elapsed().as_secs_f64());
    Ok(())
}
