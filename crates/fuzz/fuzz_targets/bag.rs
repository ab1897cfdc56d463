#![no_main]
//! The bag reader on arbitrary files: open (magic, bag header, index or the rebuilt index of an unindexed or
//! damaged bag), `bag info`, and reading every message, by topic and by time window, in time order.
//! Nothing may panic, allocate past libFuzzer's malloc limit (a chunk or record claiming gigabytes), or
//! return messages out of time order (unless a damaged chunk info makes that unavoidable, which it warns
//! about).
use libfuzzer_sys::fuzz_target;
use sensorium_bag::info::BagInfo;
use sensorium_bag::{BagReader, ReadOptions};

#[path = "scratch.rs"]
mod scratch;

fn read(reader: &BagReader, opts: &ReadOptions) -> usize {
    let mut n = 0;
    let mut last = None;
    for m in reader.messages(opts) {
        let Ok(m) = m else { continue };
        if let Some(t) = last {
            // In time order, unless a damaged chunk info said otherwise and the reader warned about it.
            assert!(
                m.time >= t
                    || reader.warnings().iter().any(|w| w.message.contains("out of time order")),
                "messages out of time order without a warning"
            );
        }
        last = Some(m.time);
        assert!(m.data.len() <= reader.file_size() as usize * 2 + (64 << 20));
        n += 1;
    }
    n
}

fuzz_target!(|data: &[u8]| {
    let path = scratch::path("bag.bag");
    if std::fs::write(path, data).is_err() {
        return;
    }
    let Ok(reader) = BagReader::open(path) else { return };
    let info = BagInfo::from_reader(&reader);
    let _ = format!("{info}");
    let _ = reader.warnings();
    let all = read(&reader, &ReadOptions { prefetch: 1, ..ReadOptions::all() });
    let _ = read(&reader, &ReadOptions { prefetch: 2, skip_checksums: true, ..ReadOptions::all() });
    if let Some(c) = reader.connections().first() {
        let one = read(&reader, &ReadOptions { prefetch: 1, ..ReadOptions::topics([c.topic.clone()]) });
        assert!(one <= all);
    }
    let (start, end) = reader.window(Some(0.5), Some(1.0));
    let _ = read(&reader, &ReadOptions { start, end, prefetch: 1, ..ReadOptions::all() });
});
