//! `sensorium bench`: every stage beside its peer, a table on stdout, `--json`, `--update-docs`.

use crate::cli::BenchArgs;
use crate::cmd::replay::{overrides, resolve, sample_bag, threads};
use crate::settings;
use anyhow::{Context, Result};

pub fn run(a: BenchArgs) -> Result<i32> {
    let l = settings::load(a.pipeline.config.as_deref(), &overrides(&a.pipeline))?;
    let opts = sensorium_bench::Options {
        quick: a.quick,
        models: resolve(&l.settings.models.dir),
        bag: a.bag.clone().unwrap_or_else(sample_bag),
        exe: std::env::current_exe().context("locating the sensorium executable")?,
        threads: threads(&l),
        soak_s: a.soak_seconds,
        install_peers: !a.no_install,
        only: a.only.clone(),
    };
    let started = std::time::Instant::now();
    let report = match &a.from_json {
        Some(p) => {
            let text = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            sensorium_bench::Report::from_json(&text)
                .with_context(|| format!("{}: not a sensorium bench report", p.display()))?
        }
        None => sensorium_bench::run(&opts)?,
    };
    println!("{}", report.table());
    println!(
        "ratio = ours / peer time (< 1: sensorium is faster); {} results in {:.0} s ({} mode, {} build)",
        report.results.len(),
        started.elapsed().as_secs_f64(),
        report.machine.mode,
        report.machine.profile
    );
    if let (Some(p), None) = (&a.json, &a.from_json) {
        std::fs::write(p, report.to_json()?).with_context(|| format!("writing {}", p.display()))?;
        println!("wrote {}", p.display());
    }
    if a.update_docs {
        let repo = crate::paths::data_root()
            .ok_or_else(|| anyhow::anyhow!("--update-docs: no checkout found (run from the repository)"))?;
        sensorium_bench::report::update_docs(&report, &repo)?;
        println!("updated BENCHMARKS.md");
    }
    let missing = report
        .results
        .iter()
        .filter(|r| r.ratio.is_none() && r.note.contains("failed"))
        .count();
    if a.strict && (!sensorium_bench::all_ran(&report) || missing > 0) {
        eprintln!("bench: {missing} figures lack their peer because it failed, or a stage failed (--strict)");
        return Ok(1);
    }
    Ok(0)
}
