#![no_main]
//! The ROS 2 recording reader on arbitrary files (MCAP: magic, records, chunks with their compression and
//! CRC, summary; anything else is tried as a ROS1 bag): open, the census `bag info` prints, and reading
//! every message. Nothing may panic or allocate past libFuzzer's malloc limit.
use libfuzzer_sys::fuzz_target;
use sensorium_bag::{ReadOptions, Recording};

#[path = "scratch.rs"]
mod scratch;

fuzz_target!(|data: &[u8]| {
    let path = scratch::path("ros2.mcap");
    if std::fs::write(path, data).is_err() {
        return;
    }
    let Ok(rec) = Recording::open(path) else { return };
    let _ = (rec.topic_counts(), rec.topic_types(), rec.start_time(), rec.end_time(), rec.warnings());
    let n = rec.messages(&ReadOptions::all()).filter(|m| m.is_ok()).count();
    let (from, to) = rec.window(Some(0.01), Some(0.05));
    let windowed = rec
        .messages(&ReadOptions {
            start: from,
            end: to,
            ..ReadOptions::all()
        })
        .filter(|m| m.is_ok())
        .count();
    assert!(windowed <= n);
});
