//! sensorium-core: the vocabulary every stage of the data path speaks.
//!
//! No threads, no I/O. Types here are plain data: time stamps, decoded sensor
//! buffers (owned, ready for the pipeline), map text annotations and the
//! [`Scene`] that the runtime publishes.

pub mod scene;
pub mod sensor;
pub mod time;

pub use scene::{QueryScore, Scene, SceneBev, SceneObject, StageTiming};
pub use sensor::{MapAnnotation, MapText, Modality, ModalityMask, PointsSoA, RgbImage};
pub use time::Stamp;
