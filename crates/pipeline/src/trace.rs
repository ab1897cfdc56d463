//! A timeline of one run for `--trace OUT`: every perception stage (the same laps the scene's `timing`
//! reports), message decoding and the sinks, each as a complete event on the thread that ran it, written
//! as Chrome trace JSON (`chrome://tracing`, <https://ui.perfetto.dev>). Off unless [`enable`] is called;
//! then each event costs a clock read and a short lock. At most [`MAX_EVENTS`] are kept (a long run keeps
//! its first ones and says how many it left out).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

/// Events kept at most (about 100 MB of JSON).
pub const MAX_EVENTS: usize = 1_000_000;

static ON: AtomicBool = AtomicBool::new(false);
static DROPPED: AtomicU64 = AtomicU64::new(0);

struct Event {
    name: &'static str,
    cat: &'static str,
    start_us: f64,
    dur_us: f64,
    tid: u64,
    seq: Option<u64>,
}

struct Timeline {
    epoch: Instant,
    events: Vec<Event>,
    /// thread id → its name
    threads: BTreeMap<u64, String>,
}

fn timeline() -> &'static Mutex<Timeline> {
    static T: OnceLock<Mutex<Timeline>> = OnceLock::new();
    T.get_or_init(|| {
        Mutex::new(Timeline {
            epoch: Instant::now(),
            events: Vec::new(),
            threads: BTreeMap::new(),
        })
    })
}

/// A small number per thread, in order of first use.
fn thread_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    thread_local!(static ID: u64 = NEXT.fetch_add(1, Ordering::Relaxed));
    ID.with(|id| *id)
}

/// Starts recording (the timeline's zero is the first call).
pub fn enable() {
    let _ = timeline();
    ON.store(true, Ordering::SeqCst);
}

pub fn enabled() -> bool {
    ON.load(Ordering::Relaxed)
}

thread_local!(static FRAMESET: std::cell::Cell<Option<u64>> = const { std::cell::Cell::new(None) });

/// The frame set this thread works on from now (its events name it).
pub fn frameset(seq: Option<u64>) {
    FRAMESET.with(|f| f.set(seq));
}

/// Records `name` (category `cat`: stage, decode, sink) from `start` to now on this thread, with the
/// frame set it works on ([`frameset`]).
pub fn record(name: &'static str, cat: &'static str, start: Instant) {
    if !enabled() {
        return;
    }
    let seq = FRAMESET.with(std::cell::Cell::get);
    let end = Instant::now();
    let tid = thread_id();
    let mut t = timeline().lock().unwrap_or_else(|e| e.into_inner());
    if t.events.len() >= MAX_EVENTS {
        DROPPED.fetch_add(1, Ordering::Relaxed);
        return;
    }
    let start_us = start.saturating_duration_since(t.epoch).as_secs_f64() * 1e6;
    let dur_us = end.saturating_duration_since(start).as_secs_f64() * 1e6;
    t.threads.entry(tid).or_insert_with(|| {
        std::thread::current()
            .name()
            .map_or_else(|| format!("thread-{tid}"), str::to_string)
    });
    t.events.push(Event {
        name,
        cat,
        start_us,
        dur_us,
        tid,
        seq,
    });
}

/// Writes the timeline as Chrome trace JSON; returns the number of events written.
pub fn write(path: &Path) -> std::io::Result<usize> {
    let t = timeline().lock().unwrap_or_else(|e| e.into_inner());
    let mut events: Vec<serde_json::Value> = t
        .threads
        .iter()
        .map(|(tid, name)| {
            serde_json::json!({"name": "thread_name", "ph": "M", "pid": 1, "tid": tid, "args": {"name": name}})
        })
        .collect();
    for e in &t.events {
        let mut v = serde_json::json!({
            "name": e.name, "cat": e.cat, "ph": "X", "pid": 1, "tid": e.tid,
            "ts": e.start_us, "dur": e.dur_us,
        });
        if let Some(seq) = e.seq {
            v["args"] = serde_json::json!({ "frameset": seq });
        }
        events.push(v);
    }
    let doc = serde_json::json!({
        "traceEvents": events,
        "displayTimeUnit": "ms",
        "otherData": {"events_left_out": DROPPED.load(Ordering::Relaxed)},
    });
    std::fs::write(path, serde_json::to_vec(&doc)?)?;
    Ok(t.events.len())
}
