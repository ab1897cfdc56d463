//! The engine's own overhead per frame set: per-stream ring buffers + ApproximateTime sync +
//! a 3-stage no-op pipeline (bounded channels, deadline checks, counters, histograms).
//!
//! `cargo bench -p sensorium-engine --bench overhead` prints, before criterion's figures:
//! - per-frame-set latency (p50/p99/max) of ring → sync → pipeline → delivery, one set at a
//!   time (no pipelining: the full hand-off cost of every set);
//! - the cost of the same matching done by python3-message-filters' ApproximateTimeSynchronizer
//!   (tests/python/slop_ref.py) and by our `slop` port, on the same sequence.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use criterion::{black_box, Criterion};
use sensorium_core::Stamp;
use sensorium_engine::arrivals;
use sensorium_engine::overhead::{engine_overhead, noop_pipeline};
use sensorium_engine::sync::{ApproximateTime, MatchedSet, PolicyConfig, PolicyKind, Synchronizer};
use sensorium_testkit::testdata::ros_python;

const STREAMS: usize = 3;

fn sequence() -> Vec<(usize, Stamp)> {
    arrivals::generate(arrivals::ArrivalSpec {
        streams: STREAMS,
        duration_s: 300.0,
        seed: 42,
        shared_clock: false,
    })
}

/// Seconds python3-message-filters spends matching `seq`, and its set count.
fn python_cost(seq: &[(usize, Stamp)], queue: usize, slop: f64) -> Option<(f64, usize)> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/slop_ref.py");
    let mut child = Command::new(ros_python())
        .args([
            script,
            &STREAMS.to_string(),
            &queue.to_string(),
            &format!("{slop:?}"),
            "--time",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let input = arrivals::to_text(seq);
    let mut stdin = child.stdin.take()?;
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().ok()?;
    writer.join().ok()?.ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut sets = None;
    let mut seconds = None;
    for field in text.split_whitespace() {
        if let Some(v) = field.strip_prefix("sets=") {
            sets = v.parse().ok();
        }
        if let Some(v) = field.strip_prefix("seconds=") {
            seconds = v.parse().ok();
        }
    }
    Some((seconds?, sets?))
}

fn report() {
    let seq = sequence();
    let (hist, delivered) = engine_overhead(&seq, STREAMS).expect("engine runs");
    let s = hist.summary();
    println!(
        "engine overhead per frame set (ring + approximate sync + 3 no-op stages, {} sets of {} messages): \
         p50 {:.1} us, p99 {:.1} us, max {:.1} us (target p99 <= 20 us)",
        delivered,
        seq.len(),
        s.p50_ms * 1e3,
        s.p99_ms * 1e3,
        s.max_ms * 1e3
    );
    let (queue, slop) = (10, 0.03);
    let cfg = PolicyConfig {
        policy: PolicyKind::Slop,
        streams: STREAMS,
        queue,
        slop,
        ..Default::default()
    };
    let t0 = Instant::now();
    let ours = sensorium_engine::run_sync(seq.iter().copied(), &cfg).expect("slop runs");
    let ours_s = t0.elapsed().as_secs_f64();
    match python_cost(&seq, queue, slop) {
        Some((py_s, py_sets)) => println!(
            "same matching (slop {slop} s, queue {queue}): python3-message-filters {:.1} us/set ({py_sets} sets), \
             sensorium slop {:.2} us/set ({} sets), {:.0}x",
            py_s * 1e6 / py_sets.max(1) as f64,
            ours_s * 1e6 / ours.len().max(1) as f64,
            ours.len(),
            (py_s / py_sets.max(1) as f64) / (ours_s / ours.len().max(1) as f64).max(1e-12)
        ),
        None => println!("python3-message-filters not available: no comparison"),
    }
}

fn benches(c: &mut Criterion) {
    let seq = sequence();
    c.bench_function("approximate_sync_3_streams_whole_sequence", |b| {
        b.iter(|| {
            let mut sync = ApproximateTime::new(STREAMS, 10).expect("policy");
            let mut out = Vec::new();
            for (id, &(s, t)) in seq.iter().enumerate() {
                sync.add_into(s, t, id as u64, &mut out);
            }
            black_box(out.len())
        })
    });
    let mut pipeline = noop_pipeline().expect("pipeline builds");
    let set = MatchedSet {
        items: vec![(0, Stamp::new(1, 0), 0), (1, Stamp::new(1, 0), 1)],
        missing: Vec::new(),
    };
    c.bench_function("pipeline_3_noop_stages_one_set_round_trip", |b| {
        b.iter(|| {
            pipeline.submit(set.clone());
            black_box(pipeline.recv_timeout(Duration::from_secs(1)))
        })
    });
    let _ = pipeline.finish();
}

fn main() {
    report();
    let mut c = Criterion::default().configure_from_args();
    benches(&mut c);
    c.final_summary();
}
