//! `sensorium calib check`.

use crate::cli::CalibCheckArgs;
use crate::cmd::replay::{overrides, resolve, topic_map};
use crate::settings;
use anyhow::{Context, Result};
use sensorium_geometry::VehicleCalib;

pub fn run(a: CalibCheckArgs) -> Result<i32> {
    let loaded = settings::load(a.pipeline.config.as_deref(), &overrides(&a.pipeline))?;
    let topics = topic_map(&loaded);
    let calib = match &a.pipeline.calib {
        Some(c) => VehicleCalib::load(&resolve(c)).with_context(|| c.display().to_string())?,
        None => sensorium_pipeline::calibration::from_bag(&a.bag, &topics, &loaded.settings.scene.frame_id)?,
    };
    let json = a.json;
    let frames = sensorium_pipeline::calib_check::check_bag(&a.bag, &topics, &calib, a.threshold, |f| {
        if json {
            println!("{}", serde_json::to_string(f).unwrap_or_default());
        } else {
            println!(
                "{:.3}  points {:>7}  in image {:>6.2}%  edge score {:>5.2}  MI {:.3}  offset ({:+3.0}, {:+3.0}) px  alignment {:.2}  {}",
                f.stamp,
                f.points,
                f.fraction_in_image * 100.0,
                f.edge_score,
                f.mi,
                f.offset_px[0],
                f.offset_px[1],
                f.alignment,
                f.reason
                    .as_deref()
                    .map(|r| format!("FLAGGED: {r}"))
                    .unwrap_or_default()
            );
        }
    })?;
    let flagged = frames.iter().filter(|f| f.flagged).count();
    let med = |k: usize| {
        let mut v: Vec<f64> = frames.iter().map(|f| f.offset_px[k]).collect();
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(0.0)
    };
    eprintln!(
        "{} frames checked, {flagged} flagged; median offset ({:+.0}, {:+.0}) px (a steady offset beyond a few px: recalibrate)",
        frames.len(),
        med(0),
        med(1)
    );
    Ok(0)
}
