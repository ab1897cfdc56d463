//! The LiDAR stage: ego transform + crop, projection into the camera, painting with the image
//! features, pillars, point encoder, scatter to the BEV grid.

use super::{lap, output_channels, FrameDebug, FrameSet, PaintedCloud};
use crate::models::{ImageOut, Models};
use anyhow::Result;
use sensorium_core::{PointsSoA, StageTiming};
use sensorium_fusion::objects::Columns;
use sensorium_fusion::paint::{paint, FeatureMap, Sampler};
use sensorium_fusion::pillars::EgoPoints;
use sensorium_fusion::{BevGrid, PillarBuilder};
use sensorium_geometry::Projector;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// What the LiDAR stage hands to fusion.
#[derive(Debug, Clone, Default)]
pub struct LidarOut {
    /// BEV features, channel-major over the grid (zeros without LiDAR).
    pub bev: Vec<f32>,
    /// Per BEV cell, the height range and count of the sweep's points (empty without LiDAR).
    pub columns: Columns,
    pub debug: FrameDebug,
}

/// LiDAR ego transform + crop, projection, painting, pillars, point encoder, scatter.
pub struct LidarStage {
    pub(super) models: Arc<Models>,
    /// ego → camera projector (points are projected after the ego transform and crop).
    pub(super) projector: Option<Projector>,
    pub(super) t_ego_lidar: [f64; 12],
    pub(super) grid: BevGrid,
    pub(super) pillars: PillarBuilder,
    pub(super) ego: EgoPoints,
    pub(super) scratch: PointsSoA,
    pub(super) uvd: Vec<(f64, f64, f64)>,
    /// Every cropped point's painted features, built on demand by [`LidarStage::painted_points`]
    /// (the pillars sample the image features only for the points that get a slot).
    pub(super) painted: Vec<f32>,
    /// The last set's image features and image size, kept for [`LidarStage::painted_points`].
    pub(super) features: Vec<f32>,
    pub(super) feature_dims: Option<(usize, usize, usize, u32, u32)>,
    /// `painted` is built for the last set.
    pub(super) painted_built: bool,
    /// `ego` and `uvd` hold the last frame set's LiDAR points (false after a camera-only set).
    pub(super) painted_valid: bool,
    /// Clone the cropped points into [`FrameDebug::ego_points`] (for rendering).
    pub keep_points: bool,
    /// While on, every set's [`FrameDebug::painted_cloud`] is filled (a listener of the node's
    /// `~painted_points`; a painted cloud is ~150 B per point). Shared, so the runtime can turn it on
    /// while the stage runs on its own thread.
    pub paint_every_point: Arc<AtomicBool>,
}

impl LidarStage {
    /// BEV features of the set's sweep, painted with `image` where the camera sees it; times
    /// `project_paint`, `pillarize`, `point_encoder`.
    pub fn run(
        &mut self,
        set: &FrameSet,
        image: Option<&ImageOut>,
        timing: &mut Vec<StageTiming>,
    ) -> Result<LidarOut> {
        crate::trace::frameset(Some(set.seq));
        let mut t = Instant::now();
        let mut debug = FrameDebug::default();
        let cfg = *self.pillars.config();
        self.painted_valid = set.lidar.is_some();
        self.painted_built = false;
        self.feature_dims = None;
        let Some(cloud) = &set.lidar else {
            // the point encoder's output width, from its manifest
            let c = output_channels(&self.models.point, "pillar_features").unwrap_or(64);
            return Ok(LidarOut {
                bev: vec![0.0; c * self.grid.cells()],
                columns: Columns::default(),
                debug,
            });
        };
        self.ego.crop_from(
            &self.grid,
            &cloud.x,
            &cloud.y,
            &cloud.z,
            &cloud.intensity,
            &self.t_ego_lidar,
        );
        match (image, &self.projector, &set.camera) {
            (Some(img_out), Some(proj), Some(img)) => {
                std::mem::swap(&mut self.scratch.x, &mut self.ego.x);
                std::mem::swap(&mut self.scratch.y, &mut self.ego.y);
                std::mem::swap(&mut self.scratch.z, &mut self.ego.z);
                proj.project_into(&self.scratch, &mut self.uvd);
                std::mem::swap(&mut self.scratch.x, &mut self.ego.x);
                std::mem::swap(&mut self.scratch.y, &mut self.ego.y);
                std::mem::swap(&mut self.scratch.z, &mut self.ego.z);
                let fm = FeatureMap {
                    data: &img_out.features,
                    channels: img_out.channels,
                    height: img_out.height,
                    width: img_out.width,
                };
                let sampler = Sampler::new(fm, img.width, img.height);
                t = lap("project_paint", t, timing);
                self.pillars.build_sampled(&self.ego, &self.uvd, sampler.as_ref());
                t = lap("pillarize", t, timing);
                let seen = sampler.map_or(0, |s| self.uvd.iter().filter(|p| s.sees(**p)).count());
                debug.painted_points = seen;
                debug.painted_fraction = seen as f64 / self.ego.len().max(1) as f64;
                self.features.clear();
                self.features.extend_from_slice(&img_out.features);
                self.feature_dims = Some((
                    img_out.channels,
                    img_out.height,
                    img_out.width,
                    img.width,
                    img.height,
                ));
            }
            _ => {
                self.uvd.clear();
                t = lap("project_paint", t, timing);
                self.pillars.build_sampled(&self.ego, &[], None);
                t = lap("pillarize", t, timing);
            }
        }
        let (c, feats) = self.models.run_point(
            &cfg,
            &self.pillars.tensor,
            &self.pillars.mask,
            self.pillars.used(),
        )?;
        let mut bev = Vec::new();
        self.pillars.scatter(&feats, c, &mut bev);
        lap("point_encoder", t, timing);
        debug.pillars = self.pillars.used();
        if self.keep_points {
            debug.ego_points = self.ego.clone();
        }
        if self.paint_every_point.load(Ordering::Relaxed) {
            debug.painted_cloud = self
                .painted_points()
                .map(|(points, features, width)| PaintedCloud {
                    points: points.clone(),
                    features: features.to_vec(),
                    width,
                });
        }
        Ok(LidarOut {
            bev,
            columns: Columns::of(&self.ego, &self.grid),
            debug,
        })
    }

    /// The last processed set's LiDAR points in the ego frame (cropped to the grid) and their
    /// painted features, `width` values per point (image feature channels, then the in-image flag);
    /// `None` when that set had no LiDAR. Painted here, on the first call after a set (only a
    /// listener of `~painted_points` needs every point painted); the points are borrowed.
    pub fn painted_points(&mut self) -> Option<(&EgoPoints, &[f32], usize)> {
        let width = self.pillars.config().painted;
        if self.painted_valid && !self.painted_built {
            match self.feature_dims {
                Some((channels, height, width_px, img_w, img_h)) => {
                    let fm = FeatureMap {
                        data: &self.features,
                        channels,
                        height,
                        width: width_px,
                    };
                    paint(&self.uvd, img_w, img_h, &fm, &mut self.painted);
                }
                None => {
                    self.painted.clear();
                    self.painted.resize(self.ego.len() * width, 0.0);
                }
            }
            self.painted_built = true;
        }
        (self.painted_valid && self.painted.len() == self.ego.len() * width).then_some((
            &self.ego,
            self.painted.as_slice(),
            width,
        ))
    }
}
