//! `sensorium models check|tune`.

use crate::cli::{ModelsCheckArgs, ModelsCommand, ModelsProfileArgs, ModelsTuneArgs};
use anyhow::{anyhow, bail, Context, Result};
use sensorium_infer::{backends_available, check_models_with, tune, Backend, CheckOptions};

pub fn run(cmd: ModelsCommand) -> Result<i32> {
    match cmd {
        ModelsCommand::Check(a) => check(a),
        ModelsCommand::Tune(a) => tune_cmd(a),
        ModelsCommand::Profile(a) => profile_cmd(a),
    }
}

fn profile_cmd(a: ModelsProfileArgs) -> Result<i32> {
    let dir = crate::cmd::replay::resolve(&a.dir);
    let mut dirs: Vec<std::path::PathBuf> = if dir.join("manifest.toml").is_file() {
        vec![dir.clone()]
    } else {
        std::fs::read_dir(&dir)
            .with_context(|| format!("listing {}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.join("manifest.toml").is_file())
            .collect()
    };
    dirs.sort();
    if dirs.is_empty() {
        bail!(
            "{}: no model folders (subfolders with manifest.toml)",
            dir.display()
        );
    }
    let opts = sensorium_infer::LoadOptions {
        variant: (a.variant != "fp32").then(|| a.variant.clone()),
        threads: a.threads,
        use_cache: false,
        ..Default::default()
    };
    let mut all = Vec::new();
    let mut failed = false;
    for d in dirs {
        match sensorium_infer::profile::profile(&d, &opts, a.runs) {
            Ok(p) => {
                if !a.json {
                    println!(
                        "{} ({} thread(s), {} runs): {:.3} ms per run",
                        p.model_file.display(),
                        p.threads,
                        p.runs,
                        p.total_ms
                    );
                    for o in p.ops.iter().take(12) {
                        println!(
                            "  {:>5.1}%  {:>9.3} ms  {:>3} node(s)  {}",
                            o.share * 100.0,
                            o.ms,
                            o.nodes,
                            o.op
                        );
                    }
                    println!("  slowest nodes:");
                    for n in p.nodes.iter().take(5) {
                        println!("    {:>9.3} ms  {}  {}  → {}", n.ms, n.op, n.name, n.outputs);
                    }
                }
                all.push(p);
            }
            Err(e) => {
                failed = true;
                eprintln!("FAIL {e}");
            }
        }
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&all)?);
    }
    Ok(i32::from(failed))
}

fn parse_backend(s: &str) -> Result<Backend> {
    s.parse::<Backend>().map_err(|e| anyhow!("--backend: {e}"))
}

fn tune_cmd(a: ModelsTuneArgs) -> Result<i32> {
    let dir = crate::cmd::replay::resolve(&a.dir);
    let mut opts = tune::TuneOptions {
        runs: a.runs.max(1),
        ..Default::default()
    };
    if !a.threads.is_empty() {
        opts.threads = a.threads.iter().map(|t| (*t).max(1)).collect();
    }
    if !a.backend.is_empty() {
        opts.backends = a
            .backend
            .iter()
            .map(|b| parse_backend(b))
            .collect::<Result<_>>()?;
    }
    for (b, status) in backends_available() {
        match status {
            Ok(what) => eprintln!("backend {b}: {what}"),
            Err(why) => eprintln!("backend {b}: unavailable: {why}"),
        }
    }
    eprintln!("machine: {}", tune::machine_description());
    let results = tune::tune_models(&dir, &opts)?;
    if results.is_empty() {
        bail!(
            "{}: no model folders (subfolders with manifest.toml)",
            dir.display()
        );
    }
    let mut ok = Vec::new();
    let mut failed = false;
    for r in results {
        match r {
            Ok(t) => ok.push(t),
            Err(e) => {
                failed = true;
                eprintln!("FAIL {e}");
            }
        }
    }
    let file = if a.dry_run {
        None
    } else {
        Some(tune::save(a.cache_dir.as_deref(), &ok).context("writing the tune file")?)
    };
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "machine": tune::machine_description(),
                "tune_file": file,
                "models": ok,
            }))?
        );
    } else {
        for t in &ok {
            println!("{} ({})", t.name, t.dir.display());
            for c in &t.candidates {
                let mark = if Some(c) == t.choice.as_ref() { "*" } else { " " };
                println!(
                    " {mark} {:<12} {:<6} {} thread(s)  {}  {}",
                    c.backend.name(),
                    c.variant,
                    c.threads,
                    c.median_ms
                        .map(|m| format!("{m:>9.3} ms"))
                        .unwrap_or_else(|| "    failed".into()),
                    if c.pass {
                        "parity ok".to_string()
                    } else {
                        format!("PARITY FAILED {}", c.error.as_deref().unwrap_or(""))
                    }
                );
            }
            for u in &t.unavailable {
                println!("   (not tried: {u})");
            }
            match &t.choice {
                Some(c) => println!(
                    "  choice: {} {} {} thread(s), {:.3} ms",
                    c.backend,
                    c.variant,
                    c.threads,
                    c.median_ms.unwrap_or(f64::NAN)
                ),
                None => println!("  choice: none (no candidate passed parity)"),
            }
        }
        match &file {
            Some(f) => println!("tune file: {} (replay and node use it for `auto`)", f.display()),
            None => println!("dry run: tune file not written"),
        }
    }
    let no_choice = ok.iter().any(|t| t.choice.is_none());
    Ok(if failed || no_choice { 1 } else { 0 })
}

fn check(a: ModelsCheckArgs) -> Result<i32> {
    let dir = crate::cmd::replay::resolve(&a.dir);
    let opts = CheckOptions {
        backend: parse_backend(&a.backend)?,
        threads: a.threads.max(1),
        runtime: a.device.clone(),
        ..Default::default()
    };
    let reports = check_models_with(&dir, &opts)?;
    if reports.is_empty() {
        bail!(
            "{}: no model folders (subfolders with manifest.toml)",
            dir.display()
        );
    }
    let pass = reports.iter().all(|r| r.pass);
    if a.json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
    } else {
        for r in &reports {
            println!(
                "{} {} ({})",
                if r.pass { "PASS" } else { "FAIL" },
                r.name,
                r.dir.display()
            );
            if let Some(e) = &r.error {
                println!("  error: {e}");
            }
            for v in &r.variants {
                println!(
                    "  {:<6} {:<40} {} on {} cold start {:.0} ms (cached {}), median {:.2} ms over {} runs, {} thread(s)",
                    v.variant,
                    v.model_file.display(),
                    v.backend,
                    v.runtime,
                    v.cold_start_ms,
                    if v.cold_start_cached_ms.is_finite() {
                        format!("{:.0} ms", v.cold_start_cached_ms)
                    } else {
                        "no cache".to_string()
                    },
                    v.latency_median_ms,
                    v.runs,
                    v.threads
                );
                if let Some(e) = &v.error {
                    println!("    error: {e}");
                }
                for o in &v.outputs {
                    println!("    {}", serde_json::to_string(o)?);
                }
            }
        }
    }
    Ok(if pass { 0 } else { 1 })
}
