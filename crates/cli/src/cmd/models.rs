//! `sensorium models check|tune`.

use crate::cli::{ModelsCheckArgs, ModelsCommand};
use anyhow::{bail, Result};
use sensorium_infer::{check_models_with, CheckOptions};

pub fn run(cmd: ModelsCommand) -> Result<i32> {
    match cmd {
        ModelsCommand::Check(a) => check(a),
        ModelsCommand::Tune(a) => bail!("models tune {}: not available in this build yet", a.dir.display()),
    }
}

fn check(a: ModelsCheckArgs) -> Result<i32> {
    let dir = crate::cmd::replay::resolve(&a.dir);
    let reports = check_models_with(&dir, &CheckOptions::default())?;
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
                    "  {:<6} {:<40} cold start {:.0} ms (cached {:.0} ms), median {:.2} ms over {} runs, {} thread(s)",
                    v.variant,
                    v.model_file.display(),
                    v.cold_start_ms,
                    v.cold_start_cached_ms,
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
