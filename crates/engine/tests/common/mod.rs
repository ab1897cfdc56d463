pub use sensorium_engine::arrivals;
