//! sensorium-fusion: from synchronized sensor data to a [`sensorium_core::Scene`].
//!
//! The geometry-dependent, model-independent half of fusion lives here, exactly as
//! `docs/MODEL_SPEC.md` specifies it (the Python recipe implements the same spec):
//! - [`grid`]: the BEV grid (extent, resolution, cell indexing);
//! - [`paint`]: sampling the image encoder's feature map at projected LiDAR points;
//! - [`pillars`]: PointPillars-style pillar tensor building and scattering back to BEV;
//! - [`map_raster`]: the map-text BEV channel (positioned annotations on the grid);
//! - [`metrics`]: scoring scenes against simulator ground truth;
//! - [`query_map`]: per-query BEV similarity maps from the class head;
//! - [`render`]: PNG rendering of a scene beside its camera image.

pub mod grid;
pub mod map_raster;
pub mod metrics;
pub mod objects;
pub mod paint;
pub mod pillars;
pub mod query_map;
pub mod render;

pub use grid::BevGrid;
pub use pillars::{PillarBuilder, PillarConfig};
