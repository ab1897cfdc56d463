//! `rosbag info`: a summary of a bag, printed in the layout of ROS's `rosbag info` (times in UTC).

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

use sensorium_core::Stamp;

use crate::compression::Compression;
use crate::error::BagWarning;
use crate::reader::BagReader;

/// Chunks, bytes in the file and bytes uncompressed for one compression kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompressionStat {
    pub compression: Compression,
    pub chunks: usize,
    pub compressed: u64,
    pub uncompressed: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicInfo {
    pub topic: String,
    pub messages: u64,
    /// Type of the topic's first connection.
    pub datatype: String,
    pub connections: usize,
}

/// What `rosbag info` reports.
#[derive(Debug, Clone, PartialEq)]
pub struct BagInfo {
    pub path: String,
    pub version: String,
    /// Earliest and latest record time (the true extremes, also for bags with unsorted chunks).
    pub start: Option<Stamp>,
    pub end: Option<Stamp>,
    pub size: u64,
    pub messages: u64,
    pub chunk_count: usize,
    /// By chunk count, most first (as rosbag orders them).
    pub compression: Vec<CompressionStat>,
    /// (datatype, md5sum), sorted by datatype.
    pub types: Vec<(String, String)>,
    pub topics: Vec<TopicInfo>,
    /// False when the index was rebuilt from the chunks.
    pub indexed: bool,
    pub warnings: Vec<BagWarning>,
}

impl BagInfo {
    pub fn from_reader(reader: &BagReader) -> BagInfo {
        let mut stats: BTreeMap<Compression, CompressionStat> = BTreeMap::new();
        for c in reader.chunks() {
            let s = stats.entry(c.compression).or_insert(CompressionStat {
                compression: c.compression,
                chunks: 0,
                compressed: 0,
                uncompressed: 0,
            });
            s.chunks += 1;
            s.compressed += c.compressed_size;
            s.uncompressed += c.uncompressed_size;
        }
        let mut compression: Vec<CompressionStat> = stats.into_values().collect();
        // rosbag: reversed(sorted((count, name))).
        compression.sort_by(|a, b| (b.chunks, b.compression.name()).cmp(&(a.chunks, a.compression.name())));

        let mut types: Vec<(String, String)> = Vec::new();
        for c in reader.connections() {
            if !types.iter().any(|(t, _)| *t == c.datatype) {
                types.push((c.datatype.clone(), c.md5sum.clone()));
            }
        }
        types.sort();

        let per_conn = reader.connection_counts();
        let mut topics: BTreeMap<&str, TopicInfo> = BTreeMap::new();
        for c in reader.connections() {
            let t = topics.entry(&c.topic).or_insert_with(|| TopicInfo {
                topic: c.topic.clone(),
                messages: 0,
                datatype: c.datatype.clone(),
                connections: 0,
            });
            t.messages += per_conn.get(&c.id).copied().unwrap_or(0);
            t.connections += 1;
        }

        BagInfo {
            path: reader.path().display().to_string(),
            version: reader.version().to_string(),
            start: reader.start_time(),
            end: reader.end_time(),
            size: reader.file_size(),
            messages: reader.message_count(),
            chunk_count: reader.chunks().len(),
            compression,
            types,
            topics: topics.into_values().collect(),
            indexed: reader.is_indexed(),
            warnings: reader.warnings(),
        }
    }

    pub fn duration_secs(&self) -> f64 {
        match (self.start, self.end) {
            (Some(s), Some(e)) => to_sec(e) - to_sec(s),
            _ => 0.0,
        }
    }
}

/// rospy's `Time.to_sec()`: `secs + nsecs / 1e9`.
fn to_sec(t: Stamp) -> f64 {
    f64::from(t.sec) + f64::from(t.nsec) / 1e9
}

/// rosbag's `_human_readable_size`.
pub fn human_size(size: f64) -> String {
    let mut size = size;
    for suffix in ["KB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"] {
        size /= 1024.0;
        if size < 1024.0 {
            return format!("{size:.1} {suffix}");
        }
    }
    "-".into()
}

/// rosbag's `_time_to_str` (`%b %d %Y %H:%M:%S.ff`), in UTC.
pub fn time_to_str(secs: f64) -> String {
    let whole = secs.trunc();
    let frac = format!("{:.2}", secs - whole);
    let frac = frac.get(1..).unwrap_or(".00");
    let t = secs.floor() as i64;
    let days = t.div_euclid(86_400);
    let rem = t.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.get((m as usize).wrapping_sub(1)).copied().unwrap_or("???");
    format!(
        "{month} {d:02} {y} {:02}:{:02}:{:02}{frac}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 → (year, month, day) in the proleptic Gregorian calendar (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Python's `%` on floats (result has the sign of the divisor).
fn py_mod(a: f64, b: f64) -> f64 {
    let r = a % b;
    if r != 0.0 && (r < 0.0) != (b < 0.0) {
        r + b
    } else {
        r
    }
}

fn duration_str(duration: f64) -> String {
    let dur_secs = py_mod(duration, 60.0);
    let mut dur_mins = (duration / 60.0).trunc() as i64;
    let dur_hrs = dur_mins / 60;
    if dur_hrs > 0 {
        dur_mins %= 60;
        format!(
            "{dur_hrs}hr {dur_mins}:{:02}s ({}s)",
            dur_secs as i64, duration as i64
        )
    } else if dur_mins > 0 {
        format!("{dur_mins}:{:02}s ({}s)", dur_secs as i64, duration as i64)
    } else {
        format!("{duration:.1}s")
    }
}

impl fmt::Display for BagInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rows: Vec<(&str, String)> = vec![("path", self.path.clone())];
        rows.push(("version", self.version.clone()));
        match (self.start, self.end) {
            (Some(start), Some(end)) if self.chunk_count > 0 => {
                let (s, e) = (to_sec(start), to_sec(end));
                let duration = e - s;
                rows.push(("duration", duration_str(duration)));
                rows.push(("start", format!("{} ({s:.2})", time_to_str(s))));
                rows.push(("end", format!("{} ({e:.2})", time_to_str(e))));
                rows.push(("size", human_size(self.size as f64)));
                rows.push(("messages", self.messages.to_string()));
                let parts: Vec<String> = self
                    .compression
                    .iter()
                    .map(|c| match c.compression {
                        Compression::None => format!("none [{}/{} chunks]", c.chunks, self.chunk_count),
                        _ => format!(
                            "{} [{}/{} chunks; {:.2}%]",
                            c.compression,
                            c.chunks,
                            self.chunk_count,
                            100.0 * c.compressed as f64 / c.uncompressed as f64
                        ),
                    })
                    .collect();
                rows.push(("compression", parts.join(", ")));
                if self
                    .compression
                    .iter()
                    .any(|c| c.compression != Compression::None)
                {
                    let unc: u64 = self.compression.iter().map(|c| c.uncompressed).sum();
                    let comp: u64 = self.compression.iter().map(|c| c.compressed).sum();
                    let (us, cs) = (human_size(unc as f64), human_size(comp as f64));
                    let w = us.len().max(cs.len());
                    if duration > 0.0 {
                        let (ur, cr) = (
                            human_size(unc as f64 / duration),
                            human_size(comp as f64 / duration),
                        );
                        let rw = ur.len().max(cr.len());
                        rows.push(("uncompressed", format!("{us:>w$} @ {ur:>rw$}/s")));
                        let pct = 100.0 * comp as f64 / unc as f64;
                        rows.push(("compressed", format!("{cs:>w$} @ {cr:>rw$}/s ({pct:.2}%)")));
                    } else {
                        rows.push(("uncompressed", format!("{us:>w$}")));
                        rows.push(("compressed", format!("{cs:>w$}")));
                    }
                }
                let tw = self.types.iter().map(|(t, _)| t.len()).max().unwrap_or(0);
                for (i, (t, md5)) in self.types.iter().enumerate() {
                    rows.push((if i == 0 { "types" } else { "" }, format!("{t:<tw$} [{md5}]")));
                }
                let topw = self.topics.iter().map(|t| t.topic.len()).max().unwrap_or(0);
                let cw = self
                    .topics
                    .iter()
                    .map(|t| t.messages.to_string().len())
                    .max()
                    .unwrap_or(0);
                for (i, t) in self.topics.iter().enumerate() {
                    let mut s = format!(
                        "{:<topw$}   {:>cw$} {}",
                        t.topic,
                        t.messages,
                        if t.messages > 1 { "msgs" } else { "msg " }
                    );
                    let _ = write!(s, "    : {:<tw$}", t.datatype);
                    if t.connections > 1 {
                        let _ = write!(s, " ({} connections)", t.connections);
                    }
                    rows.push((if i == 0 { "topics" } else { "" }, s));
                }
            }
            _ => rows.push(("size", human_size(self.size as f64))),
        }
        let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 1;
        let mut out = String::new();
        for (k, v) in &rows {
            let key = if k.is_empty() {
                String::new()
            } else {
                format!("{k}:")
            };
            let _ = writeln!(out, "{key:<width$} {v}");
        }
        f.write_str(out.trim_end())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_formatting_helpers() {
        assert_eq!(human_size(4117.0), "4.0 KB");
        assert_eq!(human_size(868400.0), "848.0 KB");
        assert_eq!(human_size(2462343.0), "2.3 MB");
        assert_eq!(time_to_str(1396293887.84), "Mar 31 2014 19:24:47.84");
        assert_eq!(time_to_str(2.0), "Jan 01 1970 00:00:02.00");
        assert_eq!(time_to_str(951782400.5), "Feb 29 2000 00:00:00.50");
        assert_eq!(duration_str(21.7), "21.7s");
        assert_eq!(duration_str(-1.0), "-1.0s");
        assert_eq!(duration_str(125.0), "2:05s (125s)");
        assert_eq!(duration_str(3725.0), "1hr 2:05s (3725s)");
    }
}
