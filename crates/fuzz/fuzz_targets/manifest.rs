#![no_main]
//! The model manifest (`manifest.toml`) parser and its checks, compiled from the real source file
//! crates/infer/src/manifest.rs: sensorium-infer itself pulls tract, whose build under AddressSanitizer
//! takes longer than every other target together, and the manifest code needs only serde and toml. The
//! shim below gives it the two error variants it uses, as crates/infer/src/error.rs defines them.
use libfuzzer_sys::fuzz_target;
use std::path::Path;

#[allow(dead_code)]
mod error {
    use std::path::PathBuf;
    #[derive(Debug)]
    pub enum InferError {
        Io { path: PathBuf, op: &'static str, source: std::io::Error },
        Manifest { path: PathBuf, message: String },
        UnknownVariant { path: PathBuf, variant: String, known: String },
    }
    impl InferError {
        pub(crate) fn io(path: impl Into<PathBuf>, op: &'static str, source: std::io::Error) -> Self {
            InferError::Io { path: path.into(), op, source }
        }
    }
    pub type Result<T> = std::result::Result<T, InferError>;
}

#[allow(dead_code)]
#[path = "../../infer/src/manifest.rs"]
mod manifest;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let path = Path::new("fuzz/manifest.toml");
    let Ok(m) = manifest::Manifest::parse(text, path) else { return };
    let dir = Path::new("fuzz");
    let _ = m.model_file(dir, None, path);
    for v in &m.variants {
        assert!(m.model_file(dir, Some(&v.name), path).is_ok());
    }
    assert!(m.model_file(dir, Some("fp32"), path).is_err(), "fp32 is reserved");
    // what we write, we read back
    if let Ok(again) = toml::to_string(&m) {
        assert!(manifest::Manifest::parse(&again, path).is_ok(), "re-parsing our own manifest:\n{again}");
    }
});
