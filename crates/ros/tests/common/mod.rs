//! Helpers shared by the sensorium-ros integration tests.
#![allow(dead_code, unused_imports)]

pub use sensorium_testkit::rosnode::{msg_dir, peer, ros_python_ok};
use std::path::PathBuf;

/// The repository root, resolved through symlinks (the crate may be built from another workspace).
pub fn repo() -> PathBuf {
    let here = std::fs::canonicalize(env!("CARGO_MANIFEST_DIR"))
        .unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into());
    here.join("../..")
}
