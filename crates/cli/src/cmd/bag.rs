//! `sensorium bag info|read|export`.

use crate::cli::BagCommand;
use anyhow::{bail, Context, Result};
use sensorium_bag::{BagReader, ReadOptions};
use sensorium_msgs::{CompressedImage, Image, PointCloud2, RosMessage};
use std::io::Write;
use std::path::Path;

pub fn run(cmd: BagCommand) -> Result<i32> {
    match cmd {
        BagCommand::Info { bag } => {
            let reader =
                match sensorium_bag::Recording::open(&bag).with_context(|| format!("{}", bag.display()))? {
                    sensorium_bag::Recording::Ros1(r) => r,
                    sensorium_bag::Recording::Ros2(r) => {
                        print!("{}", ros2_info(&r));
                        for w in r.warnings() {
                            eprintln!("warning: {w}");
                        }
                        return Ok(0);
                    }
                };
            print!("{}", sensorium_bag::info::BagInfo::from_reader(&reader));
            let warnings = reader.warnings();
            for w in &warnings {
                eprintln!("warning: {w}");
            }
            Ok(0)
        }
        BagCommand::Export { bag, topic, out } => export(&bag, &topic, &out),
        BagCommand::Read {
            bag,
            topics,
            start,
            duration,
            prefetch,
            skip_checksums,
            no_mmap,
            json,
        } => {
            let opts = ReadOptions {
                topics: (!topics.is_empty()).then_some(topics),
                prefetch,
                skip_checksums,
                ..ReadOptions::all()
            };
            let open = sensorium_bag::OpenOptions {
                mmap: !no_mmap && sensorium_bag::OpenOptions::default().mmap,
            };
            read(&bag, open, opts, start, duration, json)
        }
    }
}

/// A ROS1 bag (its magic), rather than an MCAP file, a rosbag2 sqlite3 file or folder.
fn is_ros1_bag(path: &Path) -> bool {
    let mut magic = [0u8; 13];
    std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
        .is_ok_and(|_| &magic == b"#ROSBAG V2.0\n")
}

/// `bag read` of a ROS 2 recording: every message (of `opts.topics`, in the window) read in time order.
fn read_ros2(
    path: &Path,
    mut opts: ReadOptions,
    start: Option<f64>,
    duration: Option<f64>,
    json: bool,
) -> Result<i32> {
    let rec = sensorium_bag::Recording::open(path).with_context(|| format!("{}", path.display()))?;
    (opts.start, opts.end) = rec.window(start, duration);
    let t0 = std::time::Instant::now();
    let (mut messages, mut payload) = (0u64, 0u64);
    for m in rec.messages(&opts) {
        let m = m.with_context(|| format!("reading {}", path.display()))?;
        messages += 1;
        payload += m.data.len() as u64;
    }
    let seconds = t0.elapsed().as_secs_f64();
    let size = if path.is_dir() {
        std::fs::read_dir(path)
            .map(|d| {
                d.flatten()
                    .filter_map(|e| e.metadata().ok())
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0)
    } else {
        std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
    };
    let mb = size as f64 / 1e6;
    let warnings = rec.warnings();
    if json {
        println!(
            "{}",
            serde_json::json!({
                "bag": path.display().to_string(),
                "format": rec.format(),
                "file_mb": mb,
                "messages": messages,
                "payload_mb": payload as f64 / 1e6,
                "seconds": seconds,
                "file_mb_per_s": mb / seconds.max(1e-9),
                "warnings": warnings.iter().map(ToString::to_string).collect::<Vec<_>>(),
            })
        );
    } else {
        println!(
            "read {messages} messages ({:.1} MB payload) of {} ({}, {mb:.1} MB) in {seconds:.3} s: {:.0} MB/s",
            payload as f64 / 1e6,
            path.display(),
            rec.format(),
            mb / seconds.max(1e-9)
        );
        for w in &warnings {
            eprintln!("warning: {w}");
        }
    }
    Ok(0)
}

/// `bag read`: `opts` without its time window, which `start`/`duration` (seconds into the bag) set.
fn read(
    bag: &Path,
    open: sensorium_bag::OpenOptions,
    mut opts: ReadOptions,
    start: Option<f64>,
    duration: Option<f64>,
    json: bool,
) -> Result<i32> {
    if !is_ros1_bag(bag) {
        return read_ros2(bag, opts, start, duration, json);
    }
    let reader = BagReader::open_with(bag, open).with_context(|| format!("{}", bag.display()))?;
    (opts.start, opts.end) = reader.window(start, duration);
    let st = sensorium_bag::throughput::read_all(&reader, &opts)
        .with_context(|| format!("reading {}", bag.display()))?;
    let mb = reader.file_size() as f64 / 1e6;
    let warnings = reader.warnings();
    if json {
        println!(
            "{}",
            serde_json::json!({
                "bag": bag.display().to_string(),
                "file_mb": mb,
                "messages": st.messages,
                "payload_mb": st.payload_bytes as f64 / 1e6,
                "chunks_read": st.chunks_read,
                "chunks": reader.chunks().len(),
                "mapped": reader.is_mapped(),
                "seconds": st.seconds,
                "file_mb_per_s": mb / st.seconds.max(1e-9),
                "warnings": warnings.iter().map(ToString::to_string).collect::<Vec<_>>(),
            })
        );
    } else {
        println!(
            "read {} messages ({:.1} MB payload, {} of {} chunks) of {} ({mb:.1} MB) in {:.3} s: {:.0} MB/s",
            st.messages,
            st.payload_bytes as f64 / 1e6,
            st.chunks_read,
            reader.chunks().len(),
            bag.display(),
            st.seconds,
            mb / st.seconds.max(1e-9)
        );
        for w in &warnings {
            eprintln!("warning: {w}");
        }
    }
    Ok(0)
}

/// Writes a cloud as an N×4 float32 `.npy` (x, y, z, intensity), one row per point.
pub fn write_cloud_npy(path: &Path, cloud: &sensorium_core::PointsSoA) -> Result<()> {
    let n = cloud.len();
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({n}, 4), }}");
    let total = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - total % 64) % 64));
    header.push('\n');
    let mut buf = Vec::with_capacity(10 + header.len() + n * 16);
    buf.extend_from_slice(b"\x93NUMPY\x01\x00");
    buf.extend_from_slice(&(header.len() as u16).to_le_bytes());
    buf.extend_from_slice(header.as_bytes());
    for i in 0..n {
        for v in [cloud.x[i], cloud.y[i], cloud.z[i], cloud.intensity[i]] {
            buf.extend_from_slice(&v.to_le_bytes());
        }
    }
    std::fs::File::create(path)
        .and_then(|mut f| f.write_all(&buf))
        .with_context(|| format!("writing {}", path.display()))
}

fn export(bag: &Path, topic: &str, out: &Path) -> Result<i32> {
    let reader = sensorium_bag::Recording::open(bag).with_context(|| format!("{}", bag.display()))?;
    let types = reader.topic_types();
    let Some(datatype) = types.get(topic) else {
        let topics: Vec<&str> = types.keys().map(String::as_str).collect();
        bail!(
            "{}: no topic {topic} (topics: {})",
            bag.display(),
            topics.join(", ")
        );
    };
    // ROS 2 recordings name their types pkg/msg/Name and carry CDR
    let cdr = sensorium_msgs::ros1_name(datatype).is_some();
    let ros1 = sensorium_msgs::ros1_name(datatype).unwrap_or_else(|| datatype.clone());
    if ![PointCloud2::DATATYPE, Image::DATATYPE, CompressedImage::DATATYPE].contains(&ros1.as_str()) {
        bail!("{topic} is {datatype}: export handles sensor_msgs/PointCloud2, Image and CompressedImage");
    }
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let (mut written, mut failed) = (0u64, 0u64);
    for (i, m) in reader.messages(&ReadOptions::topics([topic])).enumerate() {
        let m = match m {
            Ok(m) => m,
            Err(e) => {
                eprintln!("warning: {e}");
                failed += 1;
                continue;
            }
        };
        let res: Result<()> = (|| {
            let stamp = sensorium_msgs::stamped_header(&m.conn.datatype, &m.data).map_or(m.time, |h| h.stamp);
            let base = out.join(format!("{i:06}_{}_{:09}", stamp.sec, stamp.nsec));
            match ros1.as_str() {
                "sensor_msgs/PointCloud2" => {
                    let soa = if cdr {
                        sensorium_msgs::pointcloud::decode_soa_cdr(&m.data)?
                    } else {
                        sensorium_msgs::pointcloud::decode_soa(&m.data)?
                    };
                    write_cloud_npy(&base.with_extension("npy"), &soa)
                }
                dt => {
                    use sensorium_msgs::CdrMessage;
                    let rgb = match (dt == Image::DATATYPE, cdr) {
                        (true, false) => Image::decode(&m.data)?.to_rgb()?,
                        (true, true) => Image::decode_cdr(&m.data)?.to_rgb()?,
                        (false, false) => CompressedImage::decode(&m.data)?.to_rgb()?,
                        (false, true) => CompressedImage::decode_cdr(&m.data)?.to_rgb()?,
                    };
                    let img = image::RgbImage::from_raw(rgb.width, rgb.height, rgb.data)
                        .context("image buffer does not match its size")?;
                    img.save(base.with_extension("png"))
                        .with_context(|| format!("writing {}", base.display()))
                }
            }
        })();
        match res {
            Ok(()) => written += 1,
            Err(e) => {
                eprintln!("warning: message {i} at {}: {e:#}", m.time);
                failed += 1;
            }
        }
    }
    println!(
        "exported {written} messages of {topic} to {} ({failed} failed)",
        out.display()
    );
    Ok(if failed > 0 && written == 0 { 1 } else { 0 })
}

/// What `ros2 bag info` prints of an MCAP file or rosbag2 folder.
fn ros2_info(r: &sensorium_bag::ros2::Ros2Bag) -> String {
    use std::fmt::Write as _;
    let files = r.files();
    let size: u64 = files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();
    let counts = r.topic_counts();
    let types = r.topic_types();
    let (start, end) = (r.start_time(), r.end_time());
    let mut s = String::new();
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    let _ = writeln!(s, "Files:             {}", names.join("\n                   "));
    let _ = writeln!(s, "Bag size:          {:.1} MiB", size as f64 / (1024.0 * 1024.0));
    let _ = writeln!(s, "Storage id:        {}", r.storage());
    if let (Some(a), Some(b)) = (start, end) {
        let _ = writeln!(s, "Duration:          {:.3}s", b.as_secs_f64() - a.as_secs_f64());
        let _ = writeln!(s, "Start:             {:.3}", a.as_secs_f64());
        let _ = writeln!(s, "End:               {:.3}", b.as_secs_f64());
    }
    let _ = writeln!(s, "Messages:          {}", counts.values().sum::<u64>());
    let width = counts.keys().map(String::len).max().unwrap_or(0);
    for (i, (topic, n)) in counts.iter().enumerate() {
        let label = if i == 0 {
            "Topic information: "
        } else {
            "                   "
        };
        let ty = types.get(topic).map_or("?", String::as_str);
        let _ = writeln!(
            s,
            "{label}Topic: {topic:<width$} | Type: {ty} | Count: {n} | Serialization Format: cdr"
        );
    }
    s
}
