//! The measured stages, each returning its rows (ours beside the peer, same inputs, same run).

use crate::measure::{time, Budget, Stats};
use crate::peers::{med_p99, pcl_voxel_grid, Interp, Peers};
use crate::report::Row;
use crate::system::{cpu_seconds, status_mib};
use anyhow::{anyhow, bail, Context, Result};
use nalgebra::{Isometry3, Matrix3, Point3, Translation3, UnitQuaternion};
use sensorium_core::{PointsSoA, RgbImage, Stamp};
use sensorium_engine::arrivals::{self, ArrivalSpec};
use sensorium_engine::sync::{PolicyConfig, PolicyKind};
use sensorium_fusion::paint::{painted_width, FeatureMap, Sampler};
use sensorium_fusion::pillars::EgoPoints;
use sensorium_fusion::PillarBuilder;
use sensorium_geometry::cloudfile::load_cloud;
use sensorium_geometry::{CameraModel, Distortion, ImageKind, Projector, VehicleCalib};
use sensorium_infer::check::read_npy;
use sensorium_infer::{Backend, Encoder, LoadOptions};
use sensorium_msgs::{CompressedImage, Header, PointCloud2, RosMessage};
use sensorium_pipeline::models::Models;
use sensorium_sim::npy::{npy_bytes, Dtype};
use sensorium_sim::{SimConfig, Simulator};
use sensorium_testkit::rosmaster::{Killed, RosMaster};
use sensorium_testkit::testdata::shared_data_dir;
use std::hint::black_box;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod inference;
mod io;
mod realtime;
mod vision;

use inference::*;
use io::*;
pub use io::{decode_cloud, xyzi_cloud_payload};
use realtime::*;
use vision::*;

/// Shared state of one run.
pub struct Ctx {
    pub opts: crate::Options,
    pub budget: Budget,
    pub peers: Peers,
    pub work: PathBuf,
    /// N of "1 and N threads".
    pub threads: usize,
}

type Stage = fn(&Ctx) -> Result<Vec<Row>>;

/// Every stage, in report order.
pub const ALL: &[(&str, Stage)] = &[
    ("bag_read", bag_read),
    ("pointcloud2_decode", pointcloud2_decode),
    ("jpeg_decode", jpeg_decode),
    ("image_preprocess", image_preprocess),
    ("projection", projection),
    ("pillarize_paint", pillarize_paint),
    ("encoders", encoders),
    ("engine", engine),
    ("sim_frame_set", sim_frame_set),
    ("end_to_end", end_to_end),
    ("full_pipeline_10hz", full_pipeline_10hz),
    ("node_soak", node_soak),
];

fn s(x: impl ToString) -> String {
    x.to_string()
}

/// Attaches the peer's figures, or says why there are none.
fn with_peer(row: Row, peer: &str, result: Result<(f64, f64)>) -> Row {
    match result {
        Ok((m, p)) => row.peer(peer, m, Some(p)),
        Err(e) => {
            eprintln!("bench: WARNING {}: peer {peer} failed: {e:#}", row.name);
            row.no_peer(format!("{peer} failed: {e:#}"))
        }
    }
}

fn peer_or_missing(ctx: &Ctx, key: &str) -> Result<()> {
    match ctx.peers.unavailable(key) {
        Some(why) => Err(anyhow!(why)),
        None => Ok(()),
    }
}

// ----------------------------------------------------------------------------- PointCloud2

/// A rendered 1280×720 sim frame and its 64-beam sweep (~115k points), with the calibration the sim
/// writes for it.
pub struct SimFrame {
    pub rgb: RgbImage,
    pub cloud: PointsSoA,
    pub calib: VehicleCalib,
}

fn sim_frame(ctx: &Ctx) -> Result<SimFrame> {
    make_sim_frame(&ctx.work)
}

/// Renders the bench's sim frame (seed 7, sweep 2) and writes its calibration under `work`.
pub fn make_sim_frame(work: &Path) -> Result<SimFrame> {
    make_sim_frame_with(work, SimConfig::default())
}

/// [`make_sim_frame`] with another simulator configuration.
pub fn make_sim_frame_with(work: &Path, cfg: SimConfig) -> Result<SimFrame> {
    let mut sim = Simulator::new(&cfg, 7, 4)?;
    let fs = sim.frame_set(2, 0.0);
    let dir = work.join("sim_calib");
    sensorium_sim::write_calibration(&cfg, &dir)?;
    let calib = VehicleCalib::load(&dir)?;
    Ok(SimFrame {
        rgb: RgbImage {
            stamp: Stamp::new(1, 0),
            frame_id: "camera".into(),
            width: fs.image.width,
            height: fs.image.height,
            data: fs.image.rgb,
        },
        cloud: fs.sweep.points,
        calib,
    })
}

pub fn jpeg_of(img: &RgbImage) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut buf, 90).encode(
        &img.data,
        img.width,
        img.height,
        image::ExtendedColorType::Rgb8,
    )?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bench_cloud_decodes_to_the_finite_points() {
        let payload = xyzi_cloud_payload(1000);
        let soa = decode_cloud(&payload).unwrap();
        // every 97th point has x = NaN and is dropped
        assert_eq!(soa.len(), 1000 - 1000usize.div_ceil(97));
        assert!(soa.x.iter().all(|x| x.is_finite()));
    }

    #[test]
    fn pcd_header_and_size_match_the_cloud() {
        let mut c = PointsSoA::default();
        c.push(1.0, 2.0, 3.0, 4.0);
        c.push(5.0, 6.0, 7.0, 8.0);
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("c.pcd");
        let t = [1.0, 0.0, 0.0, 10.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0];
        write_pcd(&p, &c, &t).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains("POINTS 2\nDATA binary\n"));
        let body = &bytes[bytes.len() - 32..];
        assert_eq!(f32::from_le_bytes(body[0..4].try_into().unwrap()), 11.0);
        assert_eq!(f32::from_le_bytes(body[28..32].try_into().unwrap()), 8.0);
    }
}
