//! Where the runtime finds its bundled data (the models, the sample recording, calibration) at run time,
//! whether it runs from a checkout (`target/release/sensorium`), from a folder copied to a board
//! (`/opt/sensorium/sensorium` beside `models/`) or from an installed prefix (`<prefix>/bin/sensorium` with
//! `<prefix>/share/sensorium/`). Nothing is compiled in: a binary built on one machine finds its data on
//! another.

use std::path::{Path, PathBuf};

/// The environment variable that names the data folder outright.
pub const HOME_VAR: &str = "SENSORIUM_HOME";

/// A folder that holds the bundled models.
fn is_root(dir: &Path) -> bool {
    dir.join("models").is_dir()
}

/// Candidate data folders, in the order they are tried: `$SENSORIUM_HOME`; the executable's folder and
/// its ancestors (a checkout's `target/<profile>/`, a board's copy), each also with `share/sensorium`
/// (an installed prefix); the working directory and its ancestors.
pub fn candidates() -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(h) = std::env::var_os(HOME_VAR).filter(|h| !h.is_empty()) {
        out.push(PathBuf::from(h));
    }
    if let Ok(exe) = std::env::current_exe() {
        let exe = std::fs::canonicalize(&exe).unwrap_or(exe);
        // target/<triple>/<profile>/sensorium is five folders below the checkout
        for dir in exe.ancestors().skip(1).take(6) {
            out.push(dir.to_path_buf());
            out.push(dir.join("share/sensorium"));
        }
    }
    if let Ok(cwd) = std::env::current_dir() {
        out.extend(cwd.ancestors().take(4).map(Path::to_path_buf));
    }
    out
}

/// The first candidate that holds `models/`.
pub fn data_root() -> Option<PathBuf> {
    candidates().into_iter().find(|d| is_root(d))
}

/// `rel` relative to the working directory when it exists there, else under the data folder when it
/// exists there, else `rel` itself, so that an error names the path the user would expect.
pub fn bundled(rel: &str) -> PathBuf {
    let p = PathBuf::from(rel);
    if p.exists() {
        return p;
    }
    data_root()
        .map(|r| r.join(rel))
        .filter(|p| p.exists())
        .unwrap_or(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_with_models_is_a_data_root() {
        let d = tempfile::tempdir().expect("tmp");
        assert!(!is_root(d.path()));
        std::fs::create_dir_all(d.path().join("models")).expect("mkdir");
        assert!(is_root(d.path()));
    }

    #[test]
    fn the_checkout_is_found_from_the_test_binary_or_the_working_directory() {
        // cargo runs unit tests from target/<profile>/deps with the crate folder as working directory;
        // either way the checkout, which holds models/, is among the candidates
        let root = data_root().expect("a data root");
        assert!(root.join("models").is_dir(), "{}", root.display());
        assert!(bundled("tests/fixtures/sample.bag").is_file());
        assert_eq!(
            bundled("no/such/file"),
            PathBuf::from("no/such/file"),
            "a missing file stays as given"
        );
    }
}
