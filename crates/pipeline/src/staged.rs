//! The perception stages on their own threads, pipelined: camera (preprocessing + image encoder) →
//! LiDAR (crop, projection, painting, pillars, point encoder) → fusion (map text, fusion, heads), joined
//! by the engine's bounded channels ([`sensorium_engine::pipeline::Pipeline`]). While frame set t is
//! fused, t+1 is painted and encoded and t+2's image is encoded. LiDAR follows the camera because
//! painting needs the same set's image features (PointPainting); the LiDAR preprocessing of set t+1 thus
//! overlaps the image encoder of set t+2, not of t+1.
//!
//! The engine's rules hold: ingest never blocks (a full input drops its oldest set, `queue_full`), a set
//! past its deadline is dropped at the next stage boundary (`late`), every drop is counted by reason in
//! the [`PipelineReport`], and what waits is bounded by the channel capacity. Scenes are the same as
//! [`Perception::process`] gives (same stages, same order within a set); only the timing differs.

use crate::models::{ImageOut, Models};
use crate::perception::{FrameDebug, FrameSet, LidarOut, Perception};
use anyhow::{anyhow, Result};
use sensorium_core::{Scene, StageTiming, Stamp};
use sensorium_engine::deadline::Deadline;
use sensorium_engine::pipeline::{Delivered, Pipeline, PipelineConfig, PipelineReport};
use sensorium_fusion::BevGrid;
use std::sync::Arc;
use std::time::Instant;

/// A frame set travelling through the stages.
struct Job {
    set: FrameSet,
    stamp: Stamp,
    timing: Vec<StageTiming>,
    image: Option<ImageOut>,
    lidar: Option<LidarOut>,
    error: Option<String>,
}

/// A frame set out of the last stage: its scene, or the error of the stage that failed.
pub struct Done {
    pub set: FrameSet,
    pub result: std::result::Result<(Scene, FrameDebug), String>,
}

/// [`Perception`]'s three stages on three threads.
pub struct StagedPerception {
    pipeline: Pipeline<Job, Done>,
    models: Arc<Models>,
    grid: BevGrid,
}

impl StagedPerception {
    /// Moves the stages of `p` onto their threads. `config.channel_capacity` bounds every channel;
    /// `config.deadline` is the default budget of [`StagedPerception::submit`].
    pub fn start(p: Perception, config: PipelineConfig) -> Result<StagedPerception> {
        let models = Arc::clone(p.models());
        let grid = *p.grid();
        let Perception {
            mut camera,
            mut lidar,
            mut fusion,
            ..
        } = p;
        let pipeline = Pipeline::<Job>::builder(config)
            .map_err(|e| anyhow!(e))?
            .stage(
                "camera",
                Box::new(move |mut job: Job| {
                    if job.error.is_none() {
                        match camera.run(&job.set, &mut job.timing) {
                            Ok(image) => job.image = image,
                            Err(e) => job.error = Some(format!("camera stage: {e:#}")),
                        }
                    }
                    Some(job)
                }),
            )
            .map_err(|e| anyhow!(e))?
            .stage(
                "lidar",
                Box::new(move |mut job: Job| {
                    if job.error.is_none() {
                        match lidar.run(&job.set, job.image.as_ref(), &mut job.timing) {
                            Ok(out) => job.lidar = Some(out),
                            Err(e) => job.error = Some(format!("LiDAR stage: {e:#}")),
                        }
                    }
                    Some(job)
                }),
            )
            .map_err(|e| anyhow!(e))?
            .stage(
                "fusion",
                Box::new(move |job: Job| {
                    let Job {
                        set,
                        stamp,
                        timing,
                        image,
                        lidar,
                        error,
                    } = job;
                    let result = match (error, lidar) {
                        (Some(e), _) => Err(e),
                        (None, None) => Err("LiDAR stage output missing".to_string()),
                        (None, Some(l)) => fusion
                            .run(&set, stamp, image.as_ref(), l.bev, &l.columns, timing)
                            .map(|scene| (scene, l.debug))
                            .map_err(|e| format!("fusion stage: {e:#}")),
                    };
                    Some(Done { set, result })
                }),
            )
            .map_err(|e| anyhow!(e))?
            .build();
        Ok(StagedPerception {
            pipeline,
            models,
            grid,
        })
    }

    /// Submits a frame set; latency counts from `origin`, it is dropped as late past `deadline`.
    /// Never blocks: a full input drops its oldest set (`queue_full`).
    pub fn submit(&mut self, set: FrameSet, stamp: Stamp, origin: Instant, deadline: Deadline) {
        let job = Job {
            set,
            stamp,
            timing: Vec::new(),
            image: None,
            lidar: None,
            error: None,
        };
        self.pipeline.submit_with(job, origin, deadline);
    }

    /// A finished set if one is ready.
    pub fn try_recv(&mut self) -> Option<Delivered<Done>> {
        self.pipeline.try_recv()
    }

    /// The next finished set, waiting for it; `None` after [`StagedPerception::close`] once all are out.
    pub fn recv(&mut self) -> Option<Delivered<Done>> {
        self.pipeline.recv()
    }

    /// No more input: the stages finish what they hold.
    pub fn close(&mut self) {
        self.pipeline.close_input();
    }

    /// Joins the stage threads; counters and latencies of every stage.
    pub fn finish(self) -> Result<PipelineReport> {
        self.pipeline.finish().map_err(|e| anyhow!(e))
    }

    pub fn models(&self) -> &Arc<Models> {
        &self.models
    }

    pub fn grid(&self) -> &BevGrid {
        &self.grid
    }
}
