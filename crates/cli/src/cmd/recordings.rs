//! `sensorium replay --recordings`: which recordings a folder or a list file names, in the order
//! `--shard I/N` counts them, and the folder name each one's output goes to.

use anyhow::{bail, Context, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

/// One recording of a fleet run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recording {
    /// Output folder name under `--out`: the file stem, or where stems repeat, the path (relative to
    /// the folder, or as the list writes it) without its extension, `__` for each separator.
    pub name: String,
    /// The recording (as found: a folder's path joined with the file's, or the list's line resolved
    /// against the list's folder).
    pub path: PathBuf,
}

/// The recordings of `spec` (a folder: every `*.bag` below it, hidden entries skipped; a file: one
/// path per line, `#` starts a comment), sorted by path, duplicates dropped.
pub fn list(spec: &Path) -> Result<Vec<Recording>> {
    let meta =
        std::fs::metadata(spec).with_context(|| format!("--recordings {}: not found", spec.display()))?;
    // (path, what the name falls back to when stems repeat)
    let mut found: Vec<(PathBuf, PathBuf)> = Vec::new();
    if meta.is_dir() {
        walk(spec, Path::new(""), &mut found)?;
        if found.is_empty() {
            bail!("--recordings {}: no *.bag files below it", spec.display());
        }
    } else {
        let text = std::fs::read_to_string(spec)
            .with_context(|| format!("--recordings {}: reading the list", spec.display()))?;
        if text.starts_with("#ROSBAG") || text.contains('\0') {
            bail!(
                "--recordings {}: a recording, not a folder or a list of recordings (replay one recording with `sensorium replay {}`)",
                spec.display(),
                spec.display()
            );
        }
        let base = spec.parent().unwrap_or(Path::new(""));
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or_default().trim();
            if line.is_empty() {
                continue;
            }
            let written = PathBuf::from(line);
            let path = if written.is_absolute() {
                written.clone()
            } else {
                base.join(&written)
            };
            found.push((path, written));
        }
        if found.is_empty() {
            bail!("--recordings {}: the list names no recordings", spec.display());
        }
    }
    found.sort_by(|a, b| a.0.as_os_str().cmp(b.0.as_os_str()));
    found.dedup_by(|a, b| a.0 == b.0);

    let stem = |p: &Path| {
        p.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let mut stems: BTreeMap<String, usize> = BTreeMap::new();
    for (p, _) in &found {
        *stems.entry(stem(p)).or_default() += 1;
    }
    let mut names = BTreeSet::new();
    let mut out = Vec::with_capacity(found.len());
    for (path, rel) in found {
        let s = stem(&path);
        let name = if stems.get(&s).copied().unwrap_or(0) > 1 {
            long_name(&rel)
        } else {
            s
        };
        if name.is_empty() || !names.insert(name.clone()) {
            bail!(
                "--recordings {}: two recordings would share the output folder {name:?} ({}); rename one",
                spec.display(),
                path.display()
            );
        }
        out.push(Recording { name, path });
    }
    Ok(out)
}

/// `a/b/drive.bag` → `a__b__drive` (root, `.` and leading `..` components dropped).
fn long_name(rel: &Path) -> String {
    let parts: Vec<String> = rel
        .with_extension("")
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect();
    parts.join("__")
}

fn walk(dir: &Path, rel: &Path, found: &mut Vec<(PathBuf, PathBuf)>) -> Result<()> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("--recordings: reading {}", dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("--recordings: reading {}", dir.display()))?;
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        let kind = entry
            .file_type()
            .with_context(|| format!("--recordings: {}", path.display()))?;
        if kind.is_dir() {
            walk(&path, &rel.join(&name), found)?;
        } else if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("bag"))
            && std::fs::metadata(&path).is_ok_and(|m| m.is_file())
        {
            found.push((path, rel.join(&name)));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(p: &Path) {
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, b"#ROSBAG V2.0\n").expect("write");
    }

    #[test]
    fn a_folder_lists_its_bags_sorted_with_stems_as_names() {
        let d = tempfile::tempdir().expect("tmp");
        for f in [
            "b.bag",
            "a.bag",
            "x/c.BAG",
            ".hidden/d.bag",
            "notes.txt",
            "x/.e.bag",
        ] {
            touch(&d.path().join(f));
        }
        let r = list(d.path()).expect("list");
        let names: Vec<&str> = r.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert_eq!(r[2].path, d.path().join("x/c.BAG"));
    }

    #[test]
    fn repeated_stems_are_named_by_their_paths() {
        let d = tempfile::tempdir().expect("tmp");
        for f in ["day1/drive.bag", "day2/drive.bag", "other.bag"] {
            touch(&d.path().join(f));
        }
        let names: Vec<String> = list(d.path())
            .expect("list")
            .into_iter()
            .map(|r| r.name)
            .collect();
        assert_eq!(names, ["day1__drive", "day2__drive", "other"]);
    }

    #[test]
    fn a_list_file_resolves_relative_lines_and_skips_comments() {
        let d = tempfile::tempdir().expect("tmp");
        let list_file = d.path().join("fleet.txt");
        std::fs::write(
            &list_file,
            "# release 4.2\nz.bag\n\n/abs/y.bag  # absolute\nz.bag\nsub/w.bag\n",
        )
        .expect("write");
        let r = list(&list_file).expect("list");
        let got: Vec<(String, PathBuf)> = r.into_iter().map(|r| (r.name, r.path)).collect();
        assert_eq!(
            got,
            [
                ("y".to_string(), PathBuf::from("/abs/y.bag")),
                ("w".to_string(), d.path().join("sub/w.bag")),
                ("z".to_string(), d.path().join("z.bag")),
            ]
        );
    }

    #[test]
    fn empty_or_missing_specs_are_errors() {
        let d = tempfile::tempdir().expect("tmp");
        assert!(list(d.path()).is_err());
        assert!(list(&d.path().join("missing")).is_err());
        let empty = d.path().join("empty.txt");
        std::fs::write(&empty, "# nothing\n").expect("write");
        assert!(list(&empty).is_err());
        let bag = d.path().join("one.bag");
        touch(&bag);
        let e = list(&bag).expect_err("a bag is not a list");
        assert!(format!("{e:#}").contains("sensorium replay"), "{e:#}");
    }
}
