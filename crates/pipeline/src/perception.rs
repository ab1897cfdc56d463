//! One frame set in, one [`Scene`] out: the model-running half of the pipeline.
//!
//! Three stages, each timed into `Scene::timing`:
//! - [`CameraStage`]: camera preprocessing + image encoder;
//! - [`LidarStage`]: LiDAR ego transform + crop, projection, painting with the image features,
//!   pillars, point encoder, scatter to the BEV grid;
//! - [`FusionStage`]: map-text encoding (cached per string), fusion, heads and queries (scores and
//!   per-query BEV similarity maps).
//!
//! [`Perception::process`] runs them one after another on the caller's thread;
//! [`crate::staged::StagedPerception`] runs each on its own thread, pipelined
//! ([`crate::runtime::Runtime`] picks one by configuration, `engine.stages`). The stages share
//! the loaded models ([`Models`] is `Send + Sync`) and own their buffers, so both give the same scenes.

mod lidar;

pub use lidar::{LidarOut, LidarStage};

use crate::models::{ImageOut, Models};
use anyhow::{anyhow, Result};
use sensorium_core::{
    MapText, Modality, ModalityMask, PointsSoA, QueryScore, RgbImage, Scene, SceneBev, StageTiming, Stamp,
};
use sensorium_fusion::objects::{Columns, ObjectParams};
use sensorium_fusion::paint::painted_width;
use sensorium_fusion::pillars::EgoPoints;
use sensorium_fusion::{BevGrid, PillarBuilder};
use sensorium_geometry::{CameraCalib, Projector, VehicleCalib};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

/// The inputs of one fusion step; any modality may be missing (degraded mode).
#[derive(Debug, Clone, Default)]
pub struct FrameSet {
    pub seq: u64,
    pub camera: Option<RgbImage>,
    pub lidar: Option<PointsSoA>,
    pub map_text: Option<MapText>,
}

impl FrameSet {
    pub fn mask(&self) -> ModalityMask {
        let mut m = ModalityMask::default();
        if self.camera.is_some() {
            m = m.with(Modality::Camera);
        }
        if self.lidar.is_some() {
            m = m.with(Modality::Lidar);
        }
        if self.map_text.as_ref().is_some_and(|t| !t.annotations.is_empty()) {
            m = m.with(Modality::MapText);
        }
        m
    }
}

/// Extra per-frame data kept for rendering and diagnostics.
#[derive(Debug, Clone, Default)]
pub struct FrameDebug {
    pub ego_points: EgoPoints,
    /// Of the points in the grid, how many landed in the camera image (sampled its features).
    pub painted_points: usize,
    pub painted_fraction: f64,
    pub pillars: usize,
    /// Every cropped point with its painted features, while [`LidarStage::paint_every_point`] is on.
    pub painted_cloud: Option<PaintedCloud>,
}

/// A sweep's points in the ego frame (cropped to the grid) with their painted features: `width` values
/// per point (image feature channels, then the in-image flag).
#[derive(Debug, Clone, Default)]
pub struct PaintedCloud {
    pub points: EgoPoints,
    pub features: Vec<f32>,
    pub width: usize,
}

/// Camera preprocessing + image encoder.
pub struct CameraStage {
    models: Arc<Models>,
}

impl CameraStage {
    /// The image features of the set's camera frame (`None` without one); times `image_encoder`.
    pub fn run(&mut self, set: &FrameSet, timing: &mut Vec<StageTiming>) -> Result<Option<ImageOut>> {
        crate::trace::frameset(Some(set.seq));
        let t = Instant::now();
        let out = match &set.camera {
            Some(img) => {
                let pre = self.models.image_pre()?;
                let chw = sensorium_infer::image::preprocess(img, pre)?;
                Some(
                    self.models
                        .run_image(chw, pre.height as usize, pre.width as usize)?,
                )
            }
            None => None,
        };
        lap("image_encoder", t, timing);
        Ok(out)
    }
}

/// Map-text encoding, fusion, heads and text queries.
pub struct FusionStage {
    models: Arc<Models>,
    grid: BevGrid,
    image_channels: usize,
    queries: Vec<(String, Vec<f32>)>,
    /// Per query, its relevance to each class ([`sensorium_fusion::query_map::class_relevance`]).
    query_relevance: Vec<Vec<f32>>,
    query_maps: Vec<Vec<f32>>,
    query_maps_on: bool,
    frame_id: String,
    /// To place map annotations given in other frames (static tree); 3×4 per frame, cached.
    calib: VehicleCalib,
    anchor_frames: std::collections::HashMap<String, Option<[f64; 12]>>,
    map_text: Vec<u8>,
}

impl FusionStage {
    /// The scene of `set` from its stage outputs; times `text_encoder`, `fusion`, `heads`.
    pub fn run(
        &mut self,
        set: &FrameSet,
        stamp: Stamp,
        image: Option<&ImageOut>,
        bev: Vec<f32>,
        columns: &Columns,
        mut timing: Vec<StageTiming>,
    ) -> Result<Scene> {
        crate::trace::frameset(Some(set.seq));
        let mut t = Instant::now();
        let bev_c = bev.len() / self.grid.cells().max(1);
        // map text
        let (slots, dim) = self.models.text_slots()?;
        let mut text = vec![0.0f32; slots * dim];
        let mut text_mask = vec![0.0f32; slots];
        if let Some(mt) = &set.map_text {
            for (k, a) in mt.annotations.iter().take(slots).enumerate() {
                let e = embed_text(&self.models, &a.text)?;
                for (d, v) in e.iter().take(dim).enumerate() {
                    text[k * dim + d] = *v;
                }
                text_mask[k] = 1.0;
            }
        }
        let anchored = self.anchors(set.map_text.as_ref());
        if anchored.is_empty() {
            self.map_text.clear();
        } else {
            sensorium_fusion::map_raster::rasterize(
                &self.grid,
                &anchored,
                sensorium_fusion::map_raster::DEFAULT_RADIUS_M,
                &mut self.map_text,
            );
        }
        t = lap("text_encoder", t, &mut timing);

        // fusion
        let zero_image;
        let img_ref = match image {
            Some(i) => i,
            None => {
                let pre = self.models.image_pre()?;
                let (c, h, w) = (
                    self.image_channels,
                    (pre.height / 8) as usize,
                    (pre.width / 8) as usize,
                );
                zero_image = ImageOut {
                    features: vec![0.0; c * h * w],
                    channels: c,
                    height: h,
                    width: w,
                    embedding: Vec::new(),
                };
                &zero_image
            }
        };
        let out = self.models.run_fusion(
            bev,
            [bev_c, self.grid.rows(), self.grid.cols()],
            img_ref,
            text,
            text_mask,
        )?;
        t = lap("fusion", t, &mut timing);

        let cells = self.grid.cells();
        let occupancy: Vec<f32> = out
            .occupancy_logits
            .iter()
            .take(cells)
            .map(|l| sigmoid(*l))
            .collect();
        let class: Vec<u8> = (0..cells)
            .map(|i| {
                (0..out.classes)
                    .max_by(|&a, &b| {
                        let (va, vb) = (out.class_logits[a * cells + i], out.class_logits[b * cells + i]);
                        va.partial_cmp(&vb).unwrap_or(std::cmp::Ordering::Equal)
                    })
                    .unwrap_or(0) as u8
            })
            .collect();
        let object_params = ObjectParams::default();
        // the arg-max class's softmax probability, in the cells objects can take (occupied, not background)
        let class_prob: Vec<f32> = (0..cells)
            .map(|i| {
                if occupancy[i] <= object_params.occupancy || class[i] == 0 {
                    return 0.0;
                }
                let top = out.class_logits[usize::from(class[i]) * cells + i];
                let sum: f32 = (0..out.classes)
                    .map(|c| (out.class_logits[c * cells + i] - top).exp())
                    .sum();
                1.0 / sum.max(1.0)
            })
            .collect();
        let objects = sensorium_fusion::objects::extract(
            &self.grid,
            &occupancy,
            &class,
            &class_prob,
            self.models.classes(),
            columns,
            object_params,
        );
        let mut embedding = out.scene_embedding;
        l2_normalise(&mut embedding);
        if self.query_maps_on {
            sensorium_fusion::query_map::similarity_maps(
                &occupancy,
                &out.class_logits,
                out.classes,
                &self.query_relevance,
                &mut self.query_maps,
            );
        } else {
            self.query_maps.clear();
        }
        let queries = self
            .queries
            .iter()
            .enumerate()
            .map(|(i, (q, e))| QueryScore {
                query: q.clone(),
                score: cosine(&embedding, e),
                map: self.query_maps.get(i).cloned().unwrap_or_default(),
            })
            .collect();
        lap("heads", t, &mut timing);

        Ok(Scene {
            seq: set.seq,
            stamp,
            frame_id: self.frame_id.clone(),
            mask: set.mask(),
            camera_stamp: set.camera.as_ref().map(|c| c.stamp),
            lidar_stamp: set.lidar.as_ref().map(|l| l.stamp),
            map_text_stamp: set.map_text.as_ref().map(|m| m.stamp),
            embedding,
            bev: SceneBev {
                resolution: self.grid.res,
                width: self.grid.cols() as u32,
                height: self.grid.rows() as u32,
                origin_x: self.grid.x_min,
                origin_y: self.grid.y_min,
                channels: out.bev_channels as u32,
                features: out.bev_features,
                occupancy,
                class,
                map_text: self.map_text.clone(),
            },
            queries,
            objects,
            timing,
            end_to_end_ms: 0.0,
        })
    }
}

impl FusionStage {
    /// The positioned annotations of `text` in the scene frame: (index in the message, x, y). An
    /// annotation without `frame_id` is in the scene frame; one in a frame the static tree does not
    /// reach is left off the raster (it still fills a text slot), with a warning once per frame name.
    fn anchors(&mut self, text: Option<&MapText>) -> Vec<(usize, f32, f32)> {
        let Some(text) = text else { return Vec::new() };
        let mut out = Vec::new();
        for (i, a) in text.annotations.iter().enumerate() {
            let Some(p) = a.position else { continue };
            let frame = a.frame_id.as_deref().unwrap_or(&self.frame_id);
            let m = if frame == self.frame_id {
                Some([1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0])
            } else {
                *self.anchor_frames.entry(frame.to_string()).or_insert_with(|| {
                    crate::calibration::transform_3x4(&self.calib, &self.frame_id, frame)
                        .map_err(|e| {
                            tracing::warn!(
                                "map annotation in frame `{frame}` cannot be placed on the grid: {e}"
                            )
                        })
                        .ok()
                })
            };
            if let Some(m) = m {
                let x = m[0] * p[0] + m[1] * p[1] + m[2] * p[2] + m[3];
                let y = m[4] * p[0] + m[5] * p[1] + m[6] * p[2] + m[7];
                out.push((i, x as f32, y as f32));
            }
        }
        out
    }
}

/// The fixed channel count (dimension 1) of an encoder's output, from its manifest.
fn output_channels(encoder: &sensorium_infer::Encoder, output: &str) -> Option<usize> {
    encoder
        .manifest()
        .outputs
        .iter()
        .find(|o| o.name == output)
        .and_then(|o| o.shape.as_ref())
        .and_then(|s| s.get(1).cloned())
        .and_then(|d| match d {
            sensorium_infer::manifest::Dim::Fixed(n) => Some(n as usize),
            sensorium_infer::manifest::Dim::Symbol(_) => None,
        })
}

/// Records the time since `t` as stage `name` (and on the `--trace` timeline); returns now.
fn lap(name: &'static str, t: Instant, timing: &mut Vec<StageTiming>) -> Instant {
    crate::trace::record(name, "stage", t);
    timing.push(StageTiming {
        stage: name.to_string(),
        ms: t.elapsed().as_secs_f64() * 1e3,
    });
    Instant::now()
}

/// Text embedding (L2-normalised), cached per string by the models.
pub fn embed_text(models: &Models, text: &str) -> Result<Vec<f32>> {
    let mut e = models.embed_text(text)?.to_vec();
    l2_normalise(&mut e);
    Ok(e)
}

/// Everything needed to turn frame sets into scenes: the three stages over one set of models.
pub struct Perception {
    models: Arc<Models>,
    calib: VehicleCalib,
    grid: BevGrid,
    pub camera: CameraStage,
    pub lidar: LidarStage,
    pub fusion: FusionStage,
}

/// What the LiDAR stage takes from a calibration: LiDAR → ego (3×4, row-major) and the projector from
/// the ego frame into the default camera (none on a LiDAR-only rig).
fn calibrated(calib: &VehicleCalib) -> Result<([f64; 12], Option<Projector>)> {
    let ego_frame = &calib.ego_frame;
    let t_ego_lidar =
        crate::calibration::transform_3x4(calib, ego_frame, &calib.lidar_frame).map_err(|e| anyhow!(e))?;
    let camera: Option<CameraCalib> = calib.camera(None).ok().cloned();
    let projector = match &camera {
        Some(cam) => Some(Projector::new(
            &calib.tree.lookup_matrix(&cam.frame_id, ego_frame)?,
            &cam.model,
            cam.image,
        )),
        None => None,
    };
    Ok((t_ego_lidar, projector))
}

fn l2_normalise(v: &mut [f32]) {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if n > 1e-12 {
        v.iter_mut().for_each(|x| *x /= n);
    }
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (na * nb).max(1e-12)
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

impl Perception {
    /// `queries`: text queries scored against every scene; `frame_id`: the scene frame.
    pub fn new(
        models: Models,
        calib: VehicleCalib,
        queries: &[String],
        frame_id: &str,
    ) -> Result<Perception> {
        let image_channels = output_channels(&models.image, "features").ok_or_else(|| {
            anyhow!(
                "{}: output `features` needs a fixed shape [1, C, H, W]",
                models.image.manifest_path().display()
            )
        })?;
        let cfg = models.pillar_config(painted_width(image_channels))?;
        let grid = cfg.grid;
        let (t_ego_lidar, projector) = calibrated(&calib)?;
        let models = Arc::new(models);
        let mut query_embeddings = Vec::new();
        for q in queries {
            query_embeddings.push((q.clone(), embed_text(&models, q)?));
        }
        let class_embeddings = models
            .classes()
            .iter()
            .map(|c| embed_text(&models, c))
            .collect::<Result<Vec<_>>>()?;
        let query_relevance = query_embeddings
            .iter()
            .map(|(_, e)| sensorium_fusion::query_map::class_relevance(e, &class_embeddings))
            .collect();
        Ok(Perception {
            camera: CameraStage {
                models: Arc::clone(&models),
            },
            lidar: LidarStage {
                models: Arc::clone(&models),
                projector,
                t_ego_lidar,
                grid,
                pillars: PillarBuilder::new(cfg),
                ego: EgoPoints::default(),
                scratch: PointsSoA::default(),
                uvd: Vec::new(),
                painted: Vec::new(),
                features: Vec::new(),
                feature_dims: None,
                painted_built: false,
                painted_valid: false,
                keep_points: true,
                paint_every_point: Arc::new(AtomicBool::new(false)),
            },
            fusion: FusionStage {
                models: Arc::clone(&models),
                grid,
                image_channels,
                queries: query_embeddings,
                query_relevance,
                query_maps: Vec::new(),
                query_maps_on: false,
                frame_id: frame_id.to_string(),
                calib: calib.clone(),
                anchor_frames: Default::default(),
                map_text: Vec::new(),
            },
            models,
            calib,
            grid,
        })
    }

    /// Computes a BEV similarity map per query for every scene (off by default: 6 × 96 × 96 floats
    /// more per scene to compute, serialize and publish).
    pub fn with_query_maps(mut self, on: bool) -> Self {
        self.fusion.query_maps_on = on;
        self
    }

    /// The loaded models (shared by the stages).
    pub fn models(&self) -> &Arc<Models> {
        &self.models
    }

    /// See [`LidarStage::painted_points`].
    pub fn painted_points(&mut self) -> Option<(&EgoPoints, &[f32], usize)> {
        self.lidar.painted_points()
    }

    pub fn grid(&self) -> &BevGrid {
        &self.grid
    }

    pub fn calibration(&self) -> &VehicleCalib {
        &self.calib
    }

    /// Switches to another calibration of the same kind of rig (a dataset whose frames come from several
    /// drives, each with its own calibration file); the models stay loaded.
    pub fn set_calibration(&mut self, calib: VehicleCalib) -> Result<()> {
        let (t_ego_lidar, projector) = calibrated(&calib)?;
        self.lidar.t_ego_lidar = t_ego_lidar;
        self.lidar.projector = projector;
        self.lidar.painted_built = false;
        self.lidar.painted_valid = false;
        self.fusion.calib = calib.clone();
        self.fusion.anchor_frames.clear();
        self.calib = calib;
        Ok(())
    }

    /// Text embedding (L2-normalised), cached per string.
    pub fn embed_text(&mut self, text: &str) -> Result<Vec<f32>> {
        embed_text(&self.models, text)
    }

    /// Runs the whole frame set: the three stages one after another on this thread.
    pub fn process(&mut self, set: &FrameSet, stamp: Stamp) -> Result<(Scene, FrameDebug)> {
        let mut timing = Vec::new();
        let image = self.camera.run(set, &mut timing)?;
        let lidar = self.lidar.run(set, image.as_ref(), &mut timing)?;
        let scene = self
            .fusion
            .run(set, stamp, image.as_ref(), lidar.bev, &lidar.columns, timing)?;
        Ok((scene, lidar.debug))
    }

    /// Cosine similarity of a scene embedding to each text (embedded through the cache).
    pub fn score_texts(&mut self, embedding: &[f32], texts: &[String]) -> Result<Vec<f32>> {
        texts
            .iter()
            .map(|t| Ok(cosine(embedding, &embed_text(&self.models, t)?)))
            .collect()
    }
}
