//! The scratch file a target writes its input to (in /dev/shm where there is one), one per process.
use std::path::PathBuf;
use std::sync::OnceLock;

/// `sensorium-fuzz-NAME-PID` in /dev/shm, else the temp dir; the same path for the whole run.
pub fn path(name: &str) -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir = if std::path::Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        dir.join(format!("sensorium-fuzz-{name}-{}", std::process::id()))
    })
}
