//! Decoded sensor data, owned and laid out for the pipeline.

use crate::time::Stamp;
use serde::{Deserialize, Serialize};

/// The input modalities sensorium fuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Modality {
    Camera,
    Lidar,
    MapText,
}

impl Modality {
    pub const ALL: [Modality; 3] = [Modality::Camera, Modality::Lidar, Modality::MapText];

    pub fn bit(self) -> u8 {
        match self {
            Modality::Camera => 1,
            Modality::Lidar => 2,
            Modality::MapText => 4,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Modality::Camera => "camera",
            Modality::Lidar => "lidar",
            Modality::MapText => "map_text",
        }
    }
}

/// Which modalities went into a scene (bit 0 camera, bit 1 LiDAR, bit 2 map text).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModalityMask(pub u8);

impl ModalityMask {
    pub fn with(self, m: Modality) -> Self {
        ModalityMask(self.0 | m.bit())
    }
    pub fn contains(self, m: Modality) -> bool {
        self.0 & m.bit() != 0
    }
    pub fn names(self) -> Vec<&'static str> {
        Modality::ALL
            .iter()
            .filter(|m| self.contains(**m))
            .map(|m| m.name())
            .collect()
    }
}

/// An 8-bit RGB image, rows packed (stride = 3 * width).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RgbImage {
    pub stamp: Stamp,
    pub frame_id: String,
    pub width: u32,
    pub height: u32,
    pub data: Vec<u8>,
}

impl RgbImage {
    /// The pixel at (x, y) or `None` outside the image.
    pub fn pixel(&self, x: u32, y: u32) -> Option<[u8; 3]> {
        if x >= self.width || y >= self.height {
            return None;
        }
        let i = (y as usize * self.width as usize + x as usize) * 3;
        let p = self.data.get(i..i + 3)?;
        Some([p[0], p[1], p[2]])
    }
}

/// A point cloud as structure-of-arrays float32 buffers (NaN points removed).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PointsSoA {
    pub stamp: Stamp,
    pub frame_id: String,
    pub x: Vec<f32>,
    pub y: Vec<f32>,
    pub z: Vec<f32>,
    pub intensity: Vec<f32>,
    /// Laser ring index, when the cloud carries a `ring` field.
    pub ring: Option<Vec<u16>>,
    /// Per-point time offset in seconds, when the cloud carries a `time`/`t` field.
    pub time: Option<Vec<f32>>,
}

impl PointsSoA {
    pub fn len(&self) -> usize {
        self.x.len()
    }
    pub fn is_empty(&self) -> bool {
        self.x.is_empty()
    }
    pub fn with_capacity(n: usize) -> Self {
        PointsSoA {
            x: Vec::with_capacity(n),
            y: Vec::with_capacity(n),
            z: Vec::with_capacity(n),
            intensity: Vec::with_capacity(n),
            ..Default::default()
        }
    }
    pub fn push(&mut self, x: f32, y: f32, z: f32, intensity: f32) {
        self.x.push(x);
        self.y.push(y);
        self.z.push(z);
        self.intensity.push(intensity);
    }
}

/// One map-text annotation, optionally anchored at a position in `frame_id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MapAnnotation {
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<[f64; 3]>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frame_id: Option<String>,
}

/// The set of annotations carried by one map-text message.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MapText {
    #[serde(skip)]
    pub stamp: Stamp,
    pub annotations: Vec<MapAnnotation>,
}
