//! The results: a stable JSON schema, a terminal table and the Markdown that BENCHMARKS.md's generated
//! section is made from.

use serde::{Deserialize, Serialize};
use std::path::Path;

/// One measured figure beside its peer.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Row {
    pub name: String,
    /// null in JSON where the row is not a timing (memory rows).
    #[serde(deserialize_with = "nan_if_null")]
    pub median_ms: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub p99_ms: f64,
    /// Work per second in `throughput_unit` (MB/s, Mpoints/s, frames/s, GMAC/s, MB, ...).
    pub throughput: Option<f64>,
    pub throughput_unit: String,
    /// What we compare with (None: see `note`, which says why there is no peer).
    pub peer: Option<String>,
    pub peer_median_ms: Option<f64>,
    pub peer_p99_ms: Option<f64>,
    /// ours / peer time: < 1 means sensorium is faster.
    pub ratio: Option<f64>,
    pub note: String,
}

impl Row {
    pub fn new(name: impl Into<String>) -> Row {
        Row {
            name: name.into(),
            median_ms: f64::NAN,
            p99_ms: f64::NAN,
            ..Default::default()
        }
    }

    pub fn ours(mut self, s: crate::measure::Stats) -> Row {
        self.median_ms = s.median_ms;
        self.p99_ms = s.p99_ms;
        self
    }

    pub fn throughput(mut self, value: f64, unit: &str) -> Row {
        self.throughput = value.is_finite().then_some(value);
        self.throughput_unit = unit.to_string();
        self
    }

    /// Sets the peer's figures and the ratio (ours / peer).
    pub fn peer(mut self, name: impl Into<String>, median_ms: f64, p99_ms: Option<f64>) -> Row {
        self.peer = Some(name.into());
        self.peer_median_ms = Some(median_ms);
        self.peer_p99_ms = p99_ms;
        self.ratio = (median_ms > 0.0 && self.median_ms.is_finite()).then(|| self.median_ms / median_ms);
        self
    }

    /// No peer figure: `why` is printed loudly and kept in the note.
    pub fn no_peer(mut self, why: impl AsRef<str>) -> Row {
        self.peer = None;
        self.ratio = None;
        self.push_note(&format!("no peer: {}", why.as_ref()));
        self
    }

    pub fn note(mut self, note: impl AsRef<str>) -> Row {
        self.push_note(note.as_ref());
        self
    }

    fn push_note(&mut self, n: &str) {
        if !self.note.is_empty() {
            self.note.push_str("; ");
        }
        self.note.push_str(n);
    }
}

fn nan_if_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// The machine the figures were taken on.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Machine {
    pub cpu: String,
    pub cores: usize,
    pub memory_gib: f64,
    pub os: String,
    pub kernel: String,
    pub arch: String,
    /// Build profile of the sensorium binary that ran ("release" or "debug (opt-level 1, deps 2)").
    pub profile: String,
    pub sensorium_version: String,
    pub git_commit: Option<String>,
    /// Seconds since the Unix epoch when the run started.
    pub started_unix_s: u64,
    pub mode: String,
    /// Peer versions (python, numpy, opencv, onnxruntime, pcl).
    pub peers: std::collections::BTreeMap<String, String>,
    /// [`models_digest`] of the models folder the run measured.
    #[serde(default)]
    pub models_digest: Option<String>,
}

/// The files of a models folder that decide what the encoders compute: every model's ONNX files,
/// manifest and tokenizer (`<dir>/<model>/{*.onnx, manifest.toml, tokenizer.json}`), sorted by path.
pub fn model_files(dir: &Path) -> std::io::Result<Vec<std::path::PathBuf>> {
    let mut out = Vec::new();
    for model in std::fs::read_dir(dir)? {
        let model = model?.path();
        if !model.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&model)? {
            let f = f?.path();
            let name = f.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            if f.is_file() && (name.ends_with(".onnx") || name == "manifest.toml" || name == "tokenizer.json")
            {
                out.push(f);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// md5 over the [`model_files`] of `dir`, each as its path relative to `dir`, a NUL, its length and its
/// bytes: the models a benchmark table was made with (BENCHMARKS.md states it; a test compares).
pub fn models_digest(dir: &Path) -> std::io::Result<String> {
    use md5::{Digest, Md5};
    let mut h = Md5::new();
    for f in model_files(dir)? {
        let rel = f.strip_prefix(dir).unwrap_or(&f);
        let bytes = std::fs::read(&f)?;
        h.update(rel.to_string_lossy().as_bytes());
        h.update([0u8]);
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(&bytes);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// The models digest a BENCHMARKS.md text states (`models digest `…``), if any.
pub fn stated_models_digest(doc: &str) -> Option<&str> {
    let rest = doc.split("models digest `").nth(1)?;
    rest.split('`').next()
}

/// Everything one `sensorium bench` run measured.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Report {
    pub machine: Machine,
    pub results: Vec<Row>,
}

fn fmt_ms(v: f64) -> String {
    if !v.is_finite() {
        "-".into()
    } else if v < 0.01 {
        format!("{:.2} us", v * 1e3)
    } else if v < 10.0 {
        format!("{v:.3}")
    } else {
        format!("{v:.1}")
    }
}

fn fmt_num(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

fn cells(r: &Row) -> [String; 8] {
    [
        r.name.clone(),
        fmt_ms(r.median_ms),
        fmt_ms(r.p99_ms),
        r.throughput
            .map(|t| format!("{} {}", fmt_num(t), r.throughput_unit))
            .unwrap_or_else(|| "-".into()),
        r.peer.clone().unwrap_or_else(|| "-".into()),
        r.peer_median_ms.map(fmt_ms).unwrap_or_else(|| "-".into()),
        r.ratio.map(|x| format!("{x:.3}")).unwrap_or_else(|| "-".into()),
        r.note.clone(),
    ]
}

const HEAD: [&str; 8] = [
    "stage",
    "median ms",
    "p99 ms",
    "throughput",
    "peer",
    "peer median ms",
    "ratio",
    "note",
];

impl Report {
    /// A plain-text table for the terminal (the note column last, unpadded).
    pub fn table(&self) -> String {
        let rows: Vec<[String; 8]> = self.results.iter().map(cells).collect();
        let mut w = [0usize; 7];
        for (i, h) in HEAD.iter().take(7).enumerate() {
            w[i] = h.len();
        }
        for r in &rows {
            for i in 0..7 {
                w[i] = w[i].max(r[i].chars().count());
            }
        }
        let line = |c: [&str; 8]| {
            let mut s = String::new();
            for i in 0..7 {
                let pad = w[i].saturating_sub(c[i].chars().count());
                if i == 0 || i == 3 || i == 4 {
                    s.push_str(c[i]);
                    s.push_str(&" ".repeat(pad));
                } else {
                    s.push_str(&" ".repeat(pad));
                    s.push_str(c[i]);
                }
                s.push_str("  ");
            }
            s.push_str(c[7]);
            s.trim_end().to_string()
        };
        let mut out = line(HEAD);
        out.push('\n');
        for r in &rows {
            out.push_str(&line([&r[0], &r[1], &r[2], &r[3], &r[4], &r[5], &r[6], &r[7]]));
            out.push('\n');
        }
        out
    }

    /// The Markdown table with the machine it ran on (the body of BENCHMARKS.md's generated section).
    pub fn markdown(&self) -> String {
        let m = &self.machine;
        let mut s = String::new();
        s.push_str(&format!(
            "Machine: {} ({} cores, {:.0} GiB), {} {} {}, sensorium {} ({} build{}), `sensorium bench{}`.\n",
            m.cpu,
            m.cores,
            m.memory_gib,
            m.os,
            m.arch,
            m.kernel,
            m.sensorium_version,
            m.profile,
            m.git_commit
                .as_deref()
                .map(|c| format!(", commit {}", &c[..c.len().min(10)]))
                .unwrap_or_default(),
            if m.mode == "quick" { " --quick" } else { "" },
        ));
        if !m.peers.is_empty() {
            let p: Vec<String> = m.peers.iter().map(|(k, v)| format!("{k} {v}")).collect();
            s.push_str(&format!("Peers: {}.\n", p.join(", ")));
        }
        if let Some(d) = &m.models_digest {
            s.push_str(&format!(
                "Models: the shipped `models/`, models digest `{d}` (md5 of their ONNX files, manifests and \
                 tokenizer; the test command fails when the shipped models no longer match it).\n"
            ));
        }
        s.push_str("Ratio = ours / peer time (< 1: sensorium is faster).\n\n");
        s.push_str(&format!("| {} |\n", HEAD.join(" | ")));
        s.push_str(&format!("|{}\n", "---|".repeat(HEAD.len())));
        for r in &self.results {
            let c = cells(r);
            let esc: Vec<String> = c.iter().map(|x| x.replace('|', "\\|")).collect();
            s.push_str(&format!("| {} |\n", esc.join(" | ")));
        }
        s
    }

    pub fn to_json(&self) -> serde_json::Result<String> {
        serde_json::to_string_pretty(self)
    }

    pub fn from_json(text: &str) -> serde_json::Result<Report> {
        serde_json::from_str(text)
    }
}

pub const BEGIN: &str = "<!-- bench:begin (generated by `sensorium bench --update-docs`; do not edit) -->";
pub const END: &str = "<!-- bench:end -->";

/// Replaces the text between the bench markers in `doc` with `body`; appends a marked section when
/// the markers are missing.
pub fn splice(doc: &str, body: &str) -> String {
    let block = format!("{BEGIN}\n{body}{END}");
    match (doc.find(BEGIN), doc.find(END)) {
        (Some(a), Some(b)) if b > a => format!("{}{}{}", &doc[..a], block, &doc[b + END.len()..]),
        _ => format!("{}\n{}\n", doc.trim_end(), block),
    }
}

/// Writes the generated section of BENCHMARKS.md from the report (the whole file when it does not exist
/// yet). README.md is not touched: its performance section is written by hand and links to BENCHMARKS.md.
pub fn update_docs(report: &Report, repo: &Path) -> std::io::Result<()> {
    let body = report.markdown();
    let bm = repo.join("BENCHMARKS.md");
    let head =
        "# Benchmarks\n\nThe latest `sensorium bench` run, generated from its JSON by `sensorium bench \
                --json bench.json --update-docs` (do not edit the table by hand). Rerun it on your machine: \
                the ratios, measured in one run, are what carries over between machines.\n\n";
    let old = std::fs::read_to_string(&bm).unwrap_or_else(|_| head.to_string());
    std::fs::write(&bm, splice(&old, &body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Report {
        Report {
            machine: Machine {
                cpu: "cpu".into(),
                cores: 2,
                mode: "quick".into(),
                ..Default::default()
            },
            results: vec![
                Row::new("a")
                    .ours(crate::measure::Stats {
                        median_ms: 2.0,
                        p99_ms: 3.0,
                        iters: 5,
                    })
                    .peer("p", 8.0, Some(9.0)),
                Row::new("b|c").no_peer("none exists"),
            ],
        }
    }

    #[test]
    fn ratio_is_ours_over_peer_and_json_round_trips() {
        let r = sample();
        assert_eq!(r.results[0].ratio, Some(0.25));
        assert_eq!(r.results[1].ratio, None);
        assert!(r.results[1].note.contains("no peer: none exists"));
        let j = r.to_json().unwrap();
        let v: serde_json::Value = serde_json::from_str(&j).unwrap();
        for k in [
            "name",
            "median_ms",
            "p99_ms",
            "throughput",
            "peer",
            "peer_median_ms",
            "ratio",
            "note",
        ] {
            assert!(v["results"][0].get(k).is_some(), "missing {k}");
        }
        assert!(v["machine"].is_object());
        assert_eq!(Report::from_json(&j).unwrap().results[0].ratio, Some(0.25));
    }

    #[test]
    fn markdown_escapes_pipes_and_splice_replaces_only_the_section() {
        let md = sample().markdown();
        assert!(md.contains("b\\|c"));
        assert!(md.contains("| a | 2.000 | 3.000 |"));
        let doc = format!("# T\nbefore\n{BEGIN}\nold\n{END}\nafter\n");
        let new = splice(&doc, "NEW\n");
        assert_eq!(new, format!("# T\nbefore\n{BEGIN}\nNEW\n{END}\nafter\n"));
        let appended = splice("# T\n", "X\n");
        assert!(appended.ends_with(&format!("{BEGIN}\nX\n{END}\n")));
    }

    #[test]
    fn update_docs_writes_benchmarks_md_and_leaves_readme_alone() {
        let dir = tempfile::tempdir().unwrap();
        let readme = dir.path().join("README.md");
        std::fs::write(&readme, "# R\n").unwrap();
        update_docs(&sample(), dir.path()).unwrap();
        assert_eq!(std::fs::read_to_string(&readme).unwrap(), "# R\n");
        let bm = std::fs::read_to_string(dir.path().join("BENCHMARKS.md")).unwrap();
        assert!(bm.starts_with("# Benchmarks\n"), "{bm}");
        assert!(bm.contains(BEGIN) && bm.contains("| a | 2.000 | 3.000 |"), "{bm}");
    }
}
