//! `sensorium replay --recordings`: which recordings a folder or a list file names, in the order
//! `--shard I/N` counts them, and the folder name each one's output goes to.

use anyhow::{bail, Context, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

/// One recording of a fleet run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recording {
    /// Output folder name under `--out`: the file stem, or where stems repeat, the path (relative to
    /// the folder, or as the list writes it) without its extension, `__` for each separator; a name
    /// that would be hidden, `.`/`..` or one of the run's own files (see [`RESERVED`]) gets a `_`
    /// in front.
    pub name: String,
    /// The recording (as found: a folder's path joined with the file's, or the list's line resolved
    /// against the list's folder).
    pub path: PathBuf,
}

/// Files a fleet run writes at the top of `--out` beside the recordings' folders: no recording's
/// folder may take their names (compared without regard to case).
pub const RESERVED: &[&str] = &["report.html", "report.json", "report.html.tmp", "report.json.tmp"];

/// The recordings of `spec` (a folder: every `*.bag`, `*.mcap`, `*.db3` and rosbag2 folder below it, hidden entries skipped, symbolic
/// links to folders followed unless they lead back to a folder above them; a file: one path per
/// line, a line whose first non-blank character is `#` is a comment), sorted by path, duplicates
/// dropped. A path that is not UTF-8 or holds a control character (a tab, a line break) is an
/// error: `--dry-run` prints one recording per line, NAME and PATH separated by a tab.
pub fn list(spec: &Path) -> Result<Vec<Recording>> {
    let meta =
        std::fs::metadata(spec).with_context(|| format!("--recordings {}: not found", spec.display()))?;
    // (path, what the name falls back to when stems repeat)
    let mut found: Vec<(PathBuf, PathBuf)> = Vec::new();
    if meta.is_dir() {
        let root = std::fs::canonicalize(spec)
            .with_context(|| format!("--recordings: reading {}", spec.display()))?;
        walk(spec, Path::new(""), &mut vec![root], &mut found)?;
        if found.is_empty() {
            bail!(
                "--recordings {}: no recordings (*.bag, *.mcap, *.db3, rosbag2 folders) below it",
                spec.display()
            );
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
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
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
    for (path, _) in &found {
        match path.to_str() {
            None => bail!(
                "--recordings {}: {:?} is not UTF-8; rename it",
                spec.display(),
                path
            ),
            Some(p) if p.chars().any(char::is_control) => bail!(
                "--recordings {}: {p:?} holds a control character (a tab or a line break); rename it",
                spec.display()
            ),
            Some(_) => {}
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
        let name = safe_name(name);
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

/// `name` with a `_` in front where, as a folder under `--out`, it would be hidden, `.` or `..`,
/// or one of the run's own files ([`RESERVED`]); the recording is replayed all the same.
fn safe_name(name: String) -> String {
    if name.starts_with('.') || RESERVED.iter().any(|r| r.eq_ignore_ascii_case(&name)) {
        format!("_{name}")
    } else {
        name
    }
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

/// Every recording below `dir` (`*.bag`, `*.mcap`, `*.db3`, rosbag2 folders: those with a
/// `metadata.yaml`) into `found`, entries in name order; `chain`: the canonical paths of
/// `dir` and the folders above it, so that a symbolic link back to one of them is not followed.
fn walk(dir: &Path, rel: &Path, chain: &mut Vec<PathBuf>, found: &mut Vec<(PathBuf, PathBuf)>) -> Result<()> {
    let mut entries = std::fs::read_dir(dir)
        .with_context(|| format!("--recordings: reading {}", dir.display()))?
        .collect::<std::io::Result<Vec<_>>>()
        .with_context(|| format!("--recordings: reading {}", dir.display()))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        let kind = entry
            .file_type()
            .with_context(|| format!("--recordings: {}", path.display()))?;
        // a symbolic link counts as what it points at; a dangling one is skipped
        let is_dir =
            kind.is_dir() || (kind.is_symlink() && std::fs::metadata(&path).is_ok_and(|m| m.is_dir()));
        if is_dir && path.join("metadata.yaml").is_file() {
            found.push((path, rel.join(&name))); // a rosbag2 folder: one recording
        } else if is_dir {
            let real =
                std::fs::canonicalize(&path).with_context(|| format!("--recordings: {}", path.display()))?;
            if chain.contains(&real) {
                continue; // a link to a folder above it: a loop
            }
            chain.push(real);
            walk(&path, &rel.join(&name), chain, found)?;
            chain.pop();
        } else if path
            .extension()
            .is_some_and(|e| ["bag", "mcap", "db3"].iter().any(|x| e.eq_ignore_ascii_case(x)))
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
    fn mcap_files_and_rosbag2_folders_are_recordings_too() {
        let d = tempfile::tempdir().expect("tmp");
        for f in [
            "a.mcap",
            "b.db3",
            "ros2/c/metadata.yaml",
            "ros2/c/c_0.mcap",
            "ros2/d.bag",
        ] {
            touch(&d.path().join(f));
        }
        let r = list(d.path()).expect("list");
        let names: Vec<&str> = r.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            ["a", "b", "c", "d"],
            "the folder with metadata.yaml is one recording"
        );
        assert_eq!(r[2].path, d.path().join("ros2/c"));
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
    fn a_list_file_resolves_relative_lines_and_skips_comment_lines() {
        let d = tempfile::tempdir().expect("tmp");
        let list_file = d.path().join("fleet.txt");
        std::fs::write(
            &list_file,
            "# release 4.2\nz.bag\n\n/abs/y.bag\n   # indented comment\nz.bag\nsub/w.bag\nrun#2/take#3.bag  \n",
        )
        .expect("write");
        let r = list(&list_file).expect("list");
        let got: Vec<(String, PathBuf)> = r.into_iter().map(|r| (r.name, r.path)).collect();
        assert_eq!(
            got,
            [
                ("y".to_string(), PathBuf::from("/abs/y.bag")),
                ("take#3".to_string(), d.path().join("run#2/take#3.bag")),
                ("w".to_string(), d.path().join("sub/w.bag")),
                ("z".to_string(), d.path().join("z.bag")),
            ]
        );
    }

    #[test]
    fn names_that_would_escape_out_or_hit_the_report_get_an_underscore() {
        let d = tempfile::tempdir().expect("tmp");
        let list_file = d.path().join("fleet.txt");
        std::fs::write(
            &list_file,
            "..bag\n...bag\n.hidden.bag\nreport.html.bag\nREPORT.JSON.bag\nreport.json.tmp.bag\nreport.bag\nok.bag\n",
        )
        .expect("write");
        let r = list(&list_file).expect("list");
        let mut got: Vec<(String, String)> = r
            .iter()
            .map(|r| {
                let file = r.path.file_name().expect("file name");
                (r.name.clone(), file.to_string_lossy().into_owned())
            })
            .collect();
        got.sort();
        let want: Vec<(String, String)> = [
            ("_.", "..bag"),
            ("_..", "...bag"),
            ("_.hidden", ".hidden.bag"),
            ("_REPORT.JSON", "REPORT.JSON.bag"),
            ("_report.html", "report.html.bag"),
            ("_report.json.tmp", "report.json.tmp.bag"),
            ("ok", "ok.bag"),
            ("report", "report.bag"),
        ]
        .iter()
        .map(|(n, f)| (n.to_string(), f.to_string()))
        .collect();
        assert_eq!(got, want);
        for r in &r {
            let p = Path::new("/out").join(&r.name);
            assert_eq!(p.parent(), Some(Path::new("/out")), "{}", r.name);
            assert_eq!(p.components().count(), 3, "{}", r.name);
        }
        // a renamed name meeting a real one is the usual clash, not a silent overwrite
        std::fs::write(&list_file, "a/.x.bag\nb/_.x.bag\n").expect("write");
        assert!(format!("{:#}", list(&list_file).expect_err("clash")).contains("share"));
    }

    #[test]
    fn tabs_line_breaks_and_control_characters_in_paths_are_errors() {
        let d = tempfile::tempdir().expect("tmp");
        let list_file = d.path().join("fleet.txt");
        std::fs::write(&list_file, "ok.bag\nname\twith-tab.bag\n").expect("write");
        let e = format!("{:#}", list(&list_file).expect_err("tab"));
        assert!(e.contains("control character"), "{e}");
        std::fs::write(&list_file, "ok.bag\nbell\u{7}.bag\n").expect("write");
        assert!(list(&list_file).is_err());
        let dir = d.path().join("recs");
        touch(&dir.join("ok.bag"));
        touch(&dir.join("two\nlines.bag"));
        let e = format!("{:#}", list(&dir).expect_err("newline"));
        assert!(e.contains("control character"), "{e}");
    }

    #[test]
    fn symlinked_folders_are_followed_and_loops_are_not() {
        use std::os::unix::fs::symlink;
        let d = tempfile::tempdir().expect("tmp");
        let recs = d.path().join("recs");
        touch(&recs.join("a.bag"));
        touch(&d.path().join("elsewhere/day2/b.bag"));
        symlink(d.path().join("elsewhere"), recs.join("linked")).expect("symlink");
        symlink(&recs, recs.join("loop")).expect("symlink"); // back to the top
        symlink(d.path().join("elsewhere"), d.path().join("elsewhere/day2/up")).expect("symlink");
        symlink(d.path().join("nowhere"), recs.join("dangling")).expect("symlink");
        let r = list(&recs).expect("list");
        let got: Vec<(&str, PathBuf)> = r.iter().map(|r| (r.name.as_str(), r.path.clone())).collect();
        assert_eq!(
            got,
            [("a", recs.join("a.bag")), ("b", recs.join("linked/day2/b.bag")),]
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
