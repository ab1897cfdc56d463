//! `sensorium sync`: only the synchronizer, over a bag's header stamps (parity checks).

use crate::cli::SyncArgs;
use anyhow::{bail, Context, Result};
use sensorium_bag::{ReadOptions, Recording};
use sensorium_engine::sync::{run_sync, PolicyConfig};
use std::io::Write;

pub fn run(a: SyncArgs) -> Result<i32> {
    if a.topics.len() < 2 || a.topics.len() > 9 {
        bail!("--topics: give 2 to 9 topics, got {}", a.topics.len());
    }
    let mut cfg = PolicyConfig {
        policy: a.policy.parse()?,
        streams: a.topics.len(),
        queue: a.queue as usize,
        max_interval: a.max_interval,
        ..Default::default()
    };
    if let Some(s) = a.slop {
        cfg.slop = s;
    }
    if let Some(p) = a.age_penalty {
        cfg.age_penalty = p;
    }
    if let Some(m) = a.max_age {
        cfg.max_age = vec![m];
    }
    let reader = Recording::open(&a.bag).with_context(|| a.bag.display().to_string())?;
    let types = reader.topic_types();
    for t in &a.topics {
        if !types.contains_key(t) {
            bail!("{}: no topic {t}", a.bag.display());
        }
    }
    let mut arrivals = Vec::new();
    let mut skipped = 0u64;
    for m in reader.messages(&ReadOptions::topics(a.topics.iter().cloned())) {
        let m = m?;
        let Some(stream) = a.topics.iter().position(|t| t == m.topic()) else {
            continue;
        };
        match sensorium_msgs::stamped_header(&m.conn.datatype, &m.data) {
            Ok(h) => arrivals.push((stream, h.stamp)),
            Err(e) => {
                skipped += 1;
                tracing::warn!("{} at {}: no header stamp: {e}", m.topic(), m.time);
            }
        }
    }
    let sets = run_sync(arrivals.iter().copied(), &cfg)?;
    let mut out = std::io::BufWriter::new(
        std::fs::File::create(&a.jsonl).with_context(|| format!("creating {}", a.jsonl.display()))?,
    );
    for set in &sets {
        let stamps: serde_json::Map<String, serde_json::Value> = set
            .items
            .iter()
            .filter_map(|&(stream, stamp, _)| {
                let t = a.topics.get(stream)?;
                Some((t.clone(), serde_json::json!(stamp.as_secs_f64())))
            })
            .collect();
        serde_json::to_writer(&mut out, &serde_json::json!({ "stamps": stamps }))?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    eprintln!(
        "{} messages, {} matched sets ({} policy, queue {}) -> {}{}",
        arrivals.len(),
        sets.len(),
        cfg.policy,
        cfg.queue,
        a.jsonl.display(),
        if skipped > 0 {
            format!(" ({skipped} messages without header skipped)")
        } else {
            String::new()
        }
    );
    Ok(0)
}
