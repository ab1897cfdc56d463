//! The staged pipeline under overload, deadlines at stage boundaries, failures.

use std::time::{Duration, Instant};

use sensorium_engine::pipeline::{Pipeline, PipelineConfig, ThreadBudget, DROP_FILTERED, DROP_QUEUE_FULL};
use sensorium_engine::stats::DROP_LATE;

fn config(capacity: usize, deadline_ms: u64) -> PipelineConfig {
    PipelineConfig {
        channel_capacity: capacity,
        deadline: Duration::from_millis(deadline_ms),
        threads: ThreadBudget {
            cores: 2,
            max_stage_threads: 8,
        },
        ..PipelineConfig::default()
    }
}

/// Resident memory of this process in bytes (Linux), for the flat-memory check.
fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

#[test]
fn overload_keeps_latency_bounded_and_counts_drops() {
    const FRAMES: u64 = 10_000;
    let period = Duration::from_micros(500);
    let slow = period * 3; // the "encoder" is 3x slower than the input period
    let deadline_ms = 20;
    let mut p = Pipeline::<Vec<u8>>::builder(config(2, deadline_ms))
        .unwrap()
        .stage(
            "encode",
            Box::new(move |frame: Vec<u8>| {
                std::thread::sleep(slow);
                Some(frame.len())
            }),
        )
        .unwrap()
        .stage("fuse", Box::new(|n: usize| Some(n * 2)))
        .unwrap()
        .build();

    let start = Instant::now();
    let mut delivered = 0u64;
    let mut rss_early = None;
    let mut max_queued = 0;
    for k in 0..FRAMES {
        let due = start + period * k as u32;
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        p.submit(vec![0u8; 1024]);
        while let Some(d) = p.try_recv() {
            assert_eq!(d.value, 2048);
            assert!(d.latency <= Duration::from_millis(deadline_ms), "{:?}", d.latency);
            delivered += 1;
        }
        max_queued = max_queued.max(p.queued());
        if k == 1_000 {
            rss_early = rss_bytes();
        }
    }
    let rss_late = rss_bytes();
    let report = p.finish().unwrap();

    let elapsed = start.elapsed();
    eprintln!(
        "overload: {FRAMES} frames in {elapsed:?}, delivered {delivered}, e2e {:?}, ingest {:?}, stages {:?}",
        report.end_to_end, report.ingest.dropped, report.stages
    );
    // Every frame is either delivered or counted as dropped somewhere, with a reason.
    assert_eq!(report.ingest.received, FRAMES);
    assert_eq!(delivered + report.total_dropped(), FRAMES, "{report:?}");
    assert_eq!(report.output.fused, delivered);
    // The slow stage bounds throughput to about a third; the rest is dropped, not queued.
    assert!(delivered >= FRAMES / 10, "delivered {delivered}");
    assert!(
        delivered <= FRAMES / 2,
        "delivered {delivered}: the stage is not the bottleneck?"
    );
    assert!(
        report.ingest.dropped_for(DROP_QUEUE_FULL) > FRAMES / 4,
        "{:?}",
        report.ingest
    );
    // Latency stays under the deadline instead of growing with the backlog.
    assert!(
        report.end_to_end.p99_ms < deadline_ms as f64,
        "{:?}",
        report.end_to_end
    );
    assert!(
        report.end_to_end.max_ms <= deadline_ms as f64,
        "{:?}",
        report.end_to_end
    );
    assert!(
        report.stages[0].service.p50_ms >= 1.5,
        "{:?}",
        report.stages[0].service
    );
    // Bounded channels: at most capacity items wait at the input and at the output.
    assert!(max_queued <= 4, "{max_queued}");
    if let (Some(early), Some(late)) = (rss_early, rss_late) {
        let growth = late.saturating_sub(early);
        assert!(
            growth < 4 << 20,
            "memory grew by {growth} bytes over {FRAMES} frames"
        );
    }
}

#[test]
fn late_items_are_dropped_at_the_next_stage_boundary() {
    let mut p = Pipeline::<u32>::builder(config(16, 5))
        .unwrap()
        .stage(
            "slow-on-even",
            Box::new(|x: u32| {
                if x % 2 != 1 {
                    std::thread::sleep(Duration::from_millis(8));
                }
                Some(x)
            }),
        )
        .unwrap()
        .stage(
            "drop-multiples-of-3",
            Box::new(|x: u32| (!x.is_multiple_of(3)).then_some(x)),
        )
        .unwrap()
        .build();
    let mut delivered = Vec::new();
    for x in 0..12u32 {
        p.submit(x);
        // One item at a time, read at once, so that only the slow stage makes items late
        // (an item that never comes out lets the timeout pass, longer than the slow stage).
        if let Some(d) = p.recv_timeout(Duration::from_millis(15)) {
            delivered.push(d.value);
        }
    }
    let report = p.finish().unwrap();
    // Even items took 8 ms of a 5 ms budget: dropped late before the second stage.
    assert_eq!(delivered, vec![1, 5, 7, 11]);
    assert_eq!(report.stages[0].counters.received, 12);
    assert_eq!(report.stages[1].counters.late, 6);
    assert_eq!(report.stages[1].counters.dropped_for(DROP_LATE), 6);
    assert_eq!(report.stages[1].counters.dropped_for(DROP_FILTERED), 2); // 3 and 9
    assert_eq!(report.total_dropped() + delivered.len() as u64, 12);
}

#[test]
fn a_panicking_stage_is_reported() {
    let mut p = Pipeline::<u32>::builder(config(2, 100))
        .unwrap()
        .stage(
            "boom",
            Box::new(|x: u32| {
                if x == 1 {
                    panic!("stage failure under test")
                } else {
                    Some(x)
                }
            }),
        )
        .unwrap()
        .build();
    p.submit(0);
    assert_eq!(p.recv_timeout(Duration::from_secs(5)).map(|d| d.value), Some(0));
    p.submit(1);
    let err = p.finish().unwrap_err();
    assert!(err.to_string().contains("boom"), "{err}");
}

#[test]
fn thread_budget_and_capacity_are_enforced() {
    let cfg = PipelineConfig {
        threads: ThreadBudget {
            cores: 2,
            max_stage_threads: 1,
        },
        ..config(2, 100)
    };
    let b = Pipeline::<u32>::builder(cfg)
        .unwrap()
        .stage("a", Box::new(Some))
        .unwrap();
    assert!(b.stage("b", Box::new(Some)).is_err());
    assert!(Pipeline::<u32>::builder(config(0, 100)).is_err());
    let budget = ThreadBudget {
        cores: 12,
        max_stage_threads: 8,
    };
    assert_eq!(budget.compute_threads_per_heavy_stage(2), 6);
    assert_eq!(
        ThreadBudget {
            cores: 2,
            max_stage_threads: 8
        }
        .compute_threads_per_heavy_stage(3),
        1
    );
}
