//! The scene representation sensorium publishes.

use crate::sensor::ModalityMask;
use crate::time::Stamp;
use serde::{Deserialize, Serialize};

/// A bird's-eye-view grid in the ego frame. Cell (row r, col c) covers
/// x in [origin_x + r*res, ...) forward and y in [origin_y + c*res, ...) left.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SceneBev {
    pub resolution: f32,
    pub width: u32,
    pub height: u32,
    pub origin_x: f32,
    pub origin_y: f32,
    /// Feature channels, channel-major: `features[c * height * width + r * width + col]`.
    pub channels: u32,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub features: Vec<f32>,
    /// Occupancy probability per cell (0..1), row-major.
    pub occupancy: Vec<f32>,
    /// Arg-max class per cell (0 = free/background), row-major.
    pub class: Vec<u8>,
    /// Map-text channel, row-major: 1 + the index of the nearest positioned map annotation anchored
    /// within a few metres of the cell (0 = none); empty when the scene had no positioned annotation.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub map_text: Vec<u8>,
}

/// Similarity of one configured text query to the scene, globally and per BEV cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryScore {
    pub query: String,
    /// Cosine similarity of the query's text embedding to the scene embedding.
    pub score: f32,
    /// Per-cell similarity map (0..1), row-major on the scene's BEV grid; empty when not computed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub map: Vec<f32>,
}

/// One object found in the scene: connected BEV cells of one class, as an oriented box in the scene frame.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SceneObject {
    /// Class name (the fusion manifest's `classes`).
    pub class: String,
    /// Mean over the object's cells of occupancy probability × class probability (0..1).
    pub score: f32,
    /// Box centre (m).
    pub x: f32,
    pub y: f32,
    /// Middle of the LiDAR points in the object's cells (0 without points).
    pub z: f32,
    /// Heading of the box's long side (rad, counter-clockwise from x, in (-π/2, π/2]).
    pub yaw: f32,
    /// Along `yaw` (m).
    pub length: f32,
    pub width: f32,
    /// Extent of the LiDAR points in the object's cells (0 without points).
    pub height: f32,
    /// LiDAR points in the object's cells.
    pub points: u32,
    /// Index of `class` in the fusion manifest's `classes` (for colours; not serialized).
    #[serde(skip)]
    pub class_id: u8,
}

/// Time spent in one stage for one scene.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageTiming {
    pub stage: String,
    pub ms: f64,
}

/// What the runtime publishes for each fused frame set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Scene {
    pub seq: u64,
    pub stamp: Stamp,
    pub frame_id: String,
    pub mask: ModalityMask,
    pub camera_stamp: Option<Stamp>,
    pub lidar_stamp: Option<Stamp>,
    pub map_text_stamp: Option<Stamp>,
    /// Global scene embedding, L2-normalised, in the text-shared space.
    pub embedding: Vec<f32>,
    pub bev: SceneBev,
    pub queries: Vec<QueryScore>,
    /// Objects found in the BEV, highest score first.
    #[serde(default)]
    pub objects: Vec<SceneObject>,
    pub timing: Vec<StageTiming>,
    /// Age of the oldest fused input when the scene was produced, in ms.
    pub end_to_end_ms: f64,
}
