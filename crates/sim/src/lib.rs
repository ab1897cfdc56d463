//! sensorium-sim: deterministic synthetic driving scenes with ground truth, written as ROS1 bags.
//!
//! A seed fixes the whole drive: [`world::World`] (road, zones, actors) is drawn once from a ChaCha
//! stream; each sensor sample is then a pure function of (world, time) plus a per-sweep noise stream.
//! Only IEEE-exact arithmetic and `libm` are used, so the output is byte-identical on every target.
//!
//! Stages, each usable on its own: [`world`] (scene at time t) → [`render`] (camera image + instance
//! and depth buffers) / [`lidar`] (ray-cast sweep) → [`truth`] (boxes, BEV grids, caption, map text)
//! → [`export`] (training arrays) / [`bagout`] (ROS1 bag) / [`calib`] (calibration files).

pub mod bagout;
pub mod calib;
pub mod config;
pub mod error;
pub mod export;
pub mod lidar;
pub mod math;
pub mod npy;
pub mod render;
pub mod truth;
pub mod world;

pub use bagout::{simulate_to, simulate_to_bag, SimReport};
pub use calib::write_calibration;
pub use config::{BagCompression, SimConfig};
pub use error::SimError;
pub use export::{export_training, ExportReport};
pub use truth::GroundTruth;
pub use world::{Class, CLASS_NAMES};

use math::{Pose, BODY_TO_OPTICAL};
use render::{Rendered, Renderer};
use sensorium_core::MapText;
use world::{Snapshot, World};

/// Everything produced for one LiDAR sweep when the camera fires at the same instant.
#[derive(Debug, Clone)]
pub struct FrameSet {
    /// Seconds since the drive started (the sweep's nominal time).
    pub time: f64,
    pub snapshot: Snapshot,
    pub image: Rendered,
    pub sweep: lidar::Sweep,
    pub truth: GroundTruth,
    pub map_text: MapText,
}

/// A configured, seeded simulator: the world plus the sensors' precomputed tables.
#[derive(Debug, Clone)]
pub struct Simulator {
    pub cfg: SimConfig,
    pub seed: u64,
    pub world: World,
    pub renderer: Renderer,
    /// The camera after its bump (`camera.bump`), rendering from `bump.after_s` on.
    bumped: Option<(f64, Renderer)>,
    pub lidar: lidar::Lidar,
}

impl Simulator {
    /// Validates `cfg` and builds the world for `sweeps` LiDAR sweeps.
    pub fn new(cfg: &SimConfig, seed: u64, sweeps: u32) -> Result<Simulator, SimError> {
        cfg.validate()?;
        let duration = f64::from(sweeps) / cfg.lidar.rate_hz + 1.0;
        Ok(Simulator {
            cfg: cfg.clone(),
            seed,
            world: World::generate(&cfg.scene, seed, duration),
            renderer: Renderer::new(&cfg.camera),
            bumped: cfg.camera.bump.as_ref().map(|b| {
                let mut c = cfg.camera.clone();
                for k in 0..3 {
                    c.mount.rpy[k] += b.rpy_deg[k].to_radians();
                    c.mount.translation[k] += b.translation[k];
                }
                (b.after_s, Renderer::new(&c))
            }),
            lidar: lidar::Lidar::new(&cfg.lidar),
        })
    }

    /// The scene at `t` seconds (boxes within LiDAR range).
    pub fn snapshot(&self, t: f64) -> Snapshot {
        self.world.snapshot(t, self.cfg.lidar.max_range + 5.0)
    }

    /// Renders the camera at `t`.
    pub fn render(&mut self, t: f64) -> (Snapshot, Rendered) {
        let snap = self.snapshot(t);
        let img = self.render_camera(&snap);
        (snap, img)
    }

    /// The camera image of `snap`: from the nominal camera, or the bumped one from `bump.after_s` on.
    fn render_camera(&mut self, snap: &Snapshot) -> Rendered {
        match &mut self.bumped {
            Some((after, r)) if snap.time >= *after => r.render(&self.world, snap),
            _ => self.renderer.render(&self.world, snap),
        }
    }

    /// Nominal time of sweep `i`.
    pub fn sweep_time(&self, i: u32) -> f64 {
        f64::from(i) / self.cfg.lidar.rate_hz
    }

    /// LiDAR sweep `i` at its nominal time (noise stream fixed by (seed, i)).
    pub fn sweep(&mut self, i: u32) -> (Snapshot, lidar::Sweep) {
        let snap = self.snapshot(self.sweep_time(i));
        let mut rng = lidar::sweep_rng(self.seed, u64::from(i));
        let sw = self.lidar.sweep(&self.world, &snap, &mut rng);
        (snap, sw)
    }

    /// Sweep `i` with the camera image, truth and map text at the same instant; `stamp` is the
    /// ground truth's stamp (seconds since the epoch).
    pub fn frame_set(&mut self, i: u32, stamp: f64) -> FrameSet {
        let (snap, sweep) = self.sweep(i);
        let image = self.render_camera(&snap);
        let truth = GroundTruth::from_snapshot(&self.world, &snap, stamp, &self.cfg.frames.base);
        let map_text = truth::map_text(&self.world, &snap, &self.cfg.frames.base);
        FrameSet {
            time: snap.time,
            snapshot: snap,
            image,
            sweep,
            truth,
            map_text,
        }
    }

    /// Sweep `i` (points stamped relative to `stamp`) with its ground truth, without rendering.
    pub fn frame_set_lidar_only(&mut self, i: u32, stamp: f64) -> (GroundTruth, sensorium_core::PointsSoA) {
        let (snap, mut sweep) = self.sweep(i);
        let truth = GroundTruth::from_snapshot(&self.world, &snap, stamp, &self.cfg.frames.base);
        let s = sensorium_core::Stamp::from_secs_f64(stamp);
        sweep.points.stamp = s;
        sweep.points.frame_id = self.cfg.frames.lidar.clone();
        (truth, sweep.points)
    }

    /// `T_base_lidar`: lidar → `base_link`.
    pub fn t_base_lidar(&self) -> Pose {
        self.lidar.mount
    }

    /// `T_optical_lidar`: lidar → camera optical frame.
    pub fn t_optical_lidar(&self) -> Pose {
        self.renderer.cam.base_to_optical.compose(&self.lidar.mount)
    }

    /// `T_camera_optical`: optical → camera body frame.
    pub fn t_camera_optical() -> Pose {
        BODY_TO_OPTICAL.inverse()
    }
}
