//! Replay's sinks: `scenes.jsonl`, PNG renderings and the `--record` bag of what the node publishes.

use crate::perception::{FrameDebug, FrameSet};
use crate::summary::Summary;
use anyhow::{Context, Result};
use sensorium_fusion::BevGrid;
use std::io::Write;
use std::path::{Path, PathBuf};

/// `replay --record`: the published topics written to a bag (ROS1) or, for a path ending in `.mcap`, an
/// MCAP file with ROS 2 types and definitions (`sensorium_msgs/msg/Scene`, `nav_msgs/msg/OccupancyGrid`,
/// …). A write error (disk full) stops the recording with an error in the summary; the pipeline goes
/// on and what was written so far stays readable.
pub struct Recorder {
    writer: Option<sensorium_msgs::record::RecordWriter>,
    /// Connection (ROS1) or channel (MCAP) ids of scene, occupancy, markers and scene JSON.
    ids: [u32; 4],
    seq: u32,
}

impl Recorder {
    pub fn create(path: &std::path::Path) -> Result<Recorder> {
        use sensorium_msgs::{MarkerArray, OccupancyGrid, RosMessage, StringMsg};
        // what the node publishes (`~scene`, `~occupancy`, `~markers` under the node name `sensorium`),
        // plus the scene as JSON for tools without the sensorium_msgs package
        let topics: [(&str, &str, &str, String); 4] = [
            (
                "/sensorium/scene",
                sensorium_msgs::scene::DATATYPE,
                sensorium_msgs::scene::md5sum(),
                sensorium_msgs::scene::definition().to_string(),
            ),
            (
                "/sensorium/occupancy",
                OccupancyGrid::DATATYPE,
                OccupancyGrid::MD5SUM,
                OccupancyGrid::DEFINITION.to_string(),
            ),
            (
                "/sensorium/markers",
                MarkerArray::DATATYPE,
                MarkerArray::MD5SUM,
                MarkerArray::DEFINITION.to_string(),
            ),
            (
                "/sensorium/scene_json",
                StringMsg::DATATYPE,
                StringMsg::MD5SUM,
                StringMsg::DEFINITION.to_string(),
            ),
        ];
        use sensorium_msgs::record::{RecordFormat, RecordWriter};
        let format = RecordFormat::of_path(path, sensorium_bag::Compression::Lz4);
        let mut out =
            RecordWriter::create(path, format).with_context(|| format!("creating {}", path.display()))?;
        let mut ids = [0u32; 4];
        for (slot, (topic, datatype, md5, def)) in ids.iter_mut().zip(topics) {
            *slot = out.add(sensorium_bag::ConnectionSpec {
                topic: topic.to_string(),
                datatype: datatype.to_string(),
                md5sum: md5.to_string(),
                message_definition: def,
                callerid: None,
                latching: false,
            })?;
        }
        Ok(Recorder {
            writer: Some(out),
            ids,
            seq: 0,
        })
    }

    pub fn write(&mut self, scene: &sensorium_core::Scene, summary: &mut Summary) {
        use sensorium_msgs::{RosMessage, StringMsg};
        let Some(w) = self.writer.as_mut() else { return };
        self.seq += 1;
        let grid = crate::publish::occupancy_grid(scene, self.seq).to_bytes();
        let mut light = scene.clone();
        light.bev.features.clear();
        // the JSON copy is for tooling: the per-query maps travel in the Scene message only
        light.queries.iter_mut().for_each(|q| q.map.clear());
        let json = StringMsg {
            data: serde_json::to_string(&light).unwrap_or_default(),
        }
        .to_bytes();
        let body = sensorium_msgs::scene::encode(scene, self.seq, false);
        let markers = crate::publish::scene_markers(scene, self.seq).to_bytes();
        let [scene_id, grid_id, markers_id, json_id] = self.ids;
        let res = w
            .write(scene_id, scene.stamp, &body)
            .and_then(|()| w.write(grid_id, scene.stamp, &grid))
            .and_then(|()| w.write(markers_id, scene.stamp, &markers))
            .and_then(|()| w.write(json_id, scene.stamp, &json));
        if let Err(e) = res {
            summary.error(format!("recording stopped: {e}"));
            summary.drop_reason("record_error");
            if let Some(w) = self.writer.take() {
                let _ = w.finish();
            }
        }
    }

    pub fn finish(&mut self, summary: &mut Summary) {
        if let Some(w) = self.writer.take() {
            if let Err(e) = w.finish() {
                summary.error(format!("finishing the recording: {e}"));
            }
        }
    }
}

/// One line of `scenes.jsonl`: the scene (without the BEV feature tensor) and what its LiDAR stage saw.
#[derive(serde::Serialize)]
struct SceneLine<'a> {
    #[serde(flatten)]
    scene: &'a sensorium_core::Scene,
    /// LiDAR points inside the grid (after the ego transform and crop).
    lidar_points: usize,
    /// Of those, the points that landed in the camera image and sampled its features.
    painted_points: usize,
}

/// Where replay writes each scene: JSON lines and every k-th scene as PNG into `out_dir`, and the
/// published messages into the `--record` bag.
pub struct ReplaySinks {
    out_dir: Option<PathBuf>,
    render_every: u64,
    grid: BevGrid,
    /// Class names for the PNG legend.
    classes: Vec<String>,
    jsonl: Option<std::io::BufWriter<std::fs::File>>,
    recorder: Option<Recorder>,
}

impl ReplaySinks {
    pub fn create(
        out_dir: Option<&Path>,
        render_every: u64,
        record: Option<&Path>,
        grid: BevGrid,
        classes: Vec<String>,
    ) -> Result<Self> {
        let recorder = record.map(Recorder::create).transpose()?;
        if let Some(dir) = out_dir {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let jsonl = match out_dir {
            Some(dir) => Some(std::io::BufWriter::new(
                std::fs::File::create(dir.join("scenes.jsonl"))
                    .with_context(|| format!("{}/scenes.jsonl", dir.display()))?,
            )),
            None => None,
        };
        Ok(ReplaySinks {
            out_dir: out_dir.map(Path::to_path_buf),
            render_every,
            grid,
            classes,
            jsonl,
            recorder,
        })
    }

    /// Do renderings need the cropped LiDAR points of each set?
    pub fn wants_points(&self) -> bool {
        self.out_dir.is_some() && self.render_every > 0
    }

    /// One scene to every sink.
    pub fn write(
        &mut self,
        set: &FrameSet,
        scene: &sensorium_core::Scene,
        dbg: &FrameDebug,
        summary: &mut Summary,
    ) -> Result<()> {
        if let Some(dir) = &self.out_dir {
            if self.render_every > 0 && scene.seq.is_multiple_of(self.render_every) {
                // the heat map of the query the scene matches best
                let heat = scene
                    .queries
                    .iter()
                    .filter(|q| !q.map.is_empty())
                    .max_by(|a, b| a.score.total_cmp(&b.score))
                    .map(|q| q.map.as_slice());
                let mut bev =
                    sensorium_fusion::render::render_bev(scene, &self.grid, Some(&dbg.ego_points), heat);
                sensorium_fusion::render::annotate::legend(&mut bev, &self.grid, &self.classes);
                let img = sensorium_fusion::render::side_by_side(set.camera.as_ref(), &bev);
                let path = dir.join(format!("scene_{:06}.png", scene.seq));
                img.save(&path)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
        }
        if let Some(r) = self.recorder.as_mut() {
            r.write(scene, summary);
        }
        if let Some(w) = self.jsonl.as_mut() {
            let mut s = scene.clone();
            s.bev.features.clear();
            serde_json::to_writer(
                &mut *w,
                &SceneLine {
                    scene: &s,
                    lidar_points: dbg.ego_points.len(),
                    painted_points: dbg.painted_points,
                },
            )?;
            w.write_all(b"\n")?;
        }
        Ok(())
    }

    /// Closes the recording and flushes the JSON lines.
    pub fn finish(&mut self, summary: &mut Summary) -> Result<()> {
        if let Some(r) = self.recorder.as_mut() {
            r.finish(summary);
        }
        if let Some(w) = self.jsonl.as_mut() {
            w.flush()?;
        }
        Ok(())
    }
}
