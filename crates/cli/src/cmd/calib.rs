//! `sensorium calib project|check`.

use crate::cli::{CalibCommand, CalibProjectArgs};
use anyhow::{bail, Context, Result};
use sensorium_bag::{BagMessage, BagReader, ReadOptions};
use sensorium_geometry::{calib_project, ProjectOptions};
use sensorium_msgs::PointCloud2Ref;
use std::path::Path;

pub fn run(cmd: CalibCommand) -> Result<i32> {
    match cmd {
        CalibCommand::Project(a) => project(a),
        CalibCommand::Check(a) => crate::cmd::calib_check::run(a),
    }
}

/// Picks the PointCloud2 on `topic` whose header stamp is closest to `time` (default: the first) and
/// writes all its points (NaN ones kept, message order) as an N×4 float32 .npy.
fn cloud_from_bag(bag: &Path, topic: &str, time: Option<f64>, out: &Path) -> Result<()> {
    let reader = BagReader::open(bag).with_context(|| bag.display().to_string())?;
    // the payload stays in the bag's chunk buffer (BagMessage.data is a shared `Bytes`): nothing is copied
    let mut best: Option<(f64, BagMessage)> = None;
    for m in reader.messages(&ReadOptions::topics([topic])) {
        let m = m?;
        let stamp = sensorium_msgs::header_stamp(&m.data)?.as_secs_f64();
        let dist = time.map_or(0.0, |t| (stamp - t).abs());
        if best.as_ref().is_none_or(|(d, _)| dist < *d) {
            best = Some((dist, m));
        }
        if time.is_none() {
            break;
        }
    }
    let Some((_, msg)) = best else {
        bail!("{}: no message on {topic}", bag.display())
    };
    let pc = PointCloud2Ref::decode(&msg.data)?;
    let view = pc.view()?;
    let cols: Vec<Vec<f64>> = ["x", "y", "z"]
        .iter()
        .map(|f| view.field_f64(f))
        .collect::<Result<_, _>>()?;
    let intensity = view
        .field_f64("intensity")
        .unwrap_or_else(|_| vec![0.0; view.len()]);
    // all points, NaN ones included, so row i of the uv output is point i of the message
    let f32s = |v: &[f64]| v.iter().map(|x| *x as f32).collect::<Vec<f32>>();
    let cloud = sensorium_core::PointsSoA {
        x: f32s(&cols[0]),
        y: f32s(&cols[1]),
        z: f32s(&cols[2]),
        intensity: f32s(&intensity),
        ..Default::default()
    };
    crate::cmd::bag::write_cloud_npy(out, &cloud)
}

fn project(a: CalibProjectArgs) -> Result<i32> {
    let is_bag = a.cloud.extension().is_some_and(|e| e.eq_ignore_ascii_case("bag"));
    let tmp = tempfile::Builder::new().suffix(".npy").tempfile()?;
    let cloud = if is_bag {
        let topic = a
            .topic
            .as_deref()
            .context("a .bag cloud needs --topic (a sensor_msgs/PointCloud2 topic)")?;
        cloud_from_bag(&a.cloud, topic, a.time, tmp.path())?;
        tmp.path().to_path_buf()
    } else {
        a.cloud
    };
    let report = calib_project(&ProjectOptions {
        calib: a.calib,
        cloud,
        image: a.image,
        camera: a.camera,
        out: a.out.clone(),
        uv_out: a.uv_out.clone(),
    })?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{report}");
        if let Some(o) = a.out {
            println!("overlay: {}", o.display());
        }
        if let Some(o) = a.uv_out {
            println!("uv: {}", o.display());
        }
    }
    Ok(0)
}
