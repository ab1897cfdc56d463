//! `cargo run -p sensorium-sim --example export -- DIR [FRAMES] [SEED]`: writes training frames
//! (crates/sim/README.md) with the default vehicle and prints what it wrote and how long it took.

use sensorium_sim::{export_training, SimConfig};
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().ok_or("usage: export DIR [FRAMES] [SEED]")?);
    let frames: u32 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(10);
    let seed: u64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(1);
    let t = std::time::Instant::now();
    let rep = export_training(&SimConfig::default(), frames, seed, &dir)?;
    println!("{rep:?} in {:.2} s", t.elapsed().as_secs_f64());
    Ok(())
}
