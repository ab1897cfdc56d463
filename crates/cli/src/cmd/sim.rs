//! `sensorium sim`.

use crate::cli::SimArgs;
use anyhow::{bail, Result};
use sensorium_sim::SimConfig;

pub fn run(a: SimArgs) -> Result<i32> {
    let cfg = match &a.config {
        Some(p) => SimConfig::from_file(p)?,
        None => SimConfig::default(),
    };
    if a.out.is_none() && a.export_training.is_none() && a.calib_out.is_none() {
        bail!("nothing to do: give --out BAG, --export-training DIR and/or --calib-out DIR");
    }
    if let Some(out) = &a.out {
        let t = std::time::Instant::now();
        let mcap = match a.format.as_deref() {
            Some(f) => f == "mcap",
            None => out.extension().is_some_and(|e| e.eq_ignore_ascii_case("mcap")),
        };
        let r = sensorium_sim::simulate_to(&cfg, a.frames, a.seed, out, mcap)?;
        println!(
            "wrote {} ({} sweeps, {} images, {} map texts, {} points, {} messages, {} bytes) in {:.1} s",
            out.display(),
            r.sweeps,
            r.images,
            r.map_texts,
            r.points,
            r.messages,
            r.bytes,
            t.elapsed().as_secs_f64()
        );
    }
    if let Some(dir) = &a.export_training {
        let r = sensorium_sim::export_training(&cfg, a.frames, a.seed, dir)?;
        println!(
            "exported {} frames ({} points, {} boxes, {} bytes) to {}",
            r.frames,
            r.points,
            r.boxes,
            r.bytes,
            dir.display()
        );
    }
    if let Some(dir) = &a.calib_out {
        sensorium_sim::write_calibration(&cfg, dir)?;
        println!("wrote calibration to {}", dir.display());
    }
    Ok(0)
}
