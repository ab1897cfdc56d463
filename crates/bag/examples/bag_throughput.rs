//! Read throughput of `BagReader` against `cat BAG > /dev/null` (page cache) and python's rosbag.
//!
//! usage: cargo run --release -p sensorium-bag --example bag_throughput -- [BAG] [--python] [--size-mb N]
//!
//! Without BAG, writes (once) a ≥ 200 MB lz4 bag of real KITTI clouds and camera images from the shared data
//! folder to $TMPDIR/sensorium_bench_lz4.bag. Every message is visited and its bytes summed, so the figure
//! includes reading, decompression and slicing, not just the index.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use sensorium_bag::{BagReader, BagWriter, Compression, ReadOptions};
use sensorium_core::testdata::{ros_python, shared_data_dir};
use sensorium_core::Stamp;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let python = args.iter().any(|a| a == "--python");
    let size_mb: u64 = match args.iter().position(|a| a == "--size-mb") {
        Some(i) => args.get(i + 1).ok_or("--size-mb needs a number")?.parse()?,
        None => 210,
    };
    let bag = match args
        .iter()
        .find(|a| !a.starts_with("--") && a.parse::<u64>().is_err())
    {
        Some(p) => PathBuf::from(p),
        None => make_bench_bag(size_mb)?,
    };
    let size = std::fs::metadata(&bag)?.len() as f64 / 1e6;

    // Warm the page cache, then time a plain sequential read (what `cat BAG > /dev/null` does).
    cat(&bag)?;
    let t = Instant::now();
    cat(&bag)?;
    let cat_s = t.elapsed().as_secs_f64();

    let mut best = f64::MAX;
    let mut stats = (0u64, 0u64);
    for _ in 0..3 {
        let t = Instant::now();
        let reader = BagReader::open(&bag)?;
        let (mut n, mut bytes) = (0u64, 0u64);
        for m in reader.messages(&ReadOptions::all()) {
            let m = m?;
            n += 1;
            bytes += m.data.len() as u64 + u64::from(m.data.first().copied().unwrap_or(0) & 1);
        }
        best = best.min(t.elapsed().as_secs_f64());
        stats = (n, bytes);
    }
    println!(
        "bag: {} ({size:.1} MB, {} messages, {:.1} MB payload)",
        bag.display(),
        stats.0,
        stats.1 as f64 / 1e6
    );
    println!("cat (page cache):   {:8.1} MB/s  ({cat_s:.3} s)", size / cat_s);
    println!(
        "sensorium-bag:      {:8.1} MB/s  ({best:.3} s)  = {:.0}% of cat",
        size / best,
        100.0 * cat_s / best
    );
    if python {
        let script = "import sys, rosbag\nn=0\nb=0\nfor _, m, _ in rosbag.Bag(sys.argv[1]).read_messages(raw=True):\n    n+=1\n    b+=len(m[1])\nprint(n, b)";
        let t = Instant::now();
        let out = Command::new(ros_python())
            .args(["-c", script])
            .arg(&bag)
            .output()?;
        let py_s = t.elapsed().as_secs_f64();
        if out.status.success() {
            println!(
                "python rosbag:      {:8.1} MB/s  ({py_s:.3} s)  sensorium is {:.1}x faster ({})",
                size / py_s,
                py_s / best,
                String::from_utf8_lossy(&out.stdout).trim()
            );
        } else {
            println!("python rosbag failed: {}", String::from_utf8_lossy(&out.stderr));
        }
    }
    Ok(())
}

fn cat(path: &Path) -> std::io::Result<u64> {
    let mut f = std::fs::File::open(path)?;
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            return Ok(total);
        }
        total += n as u64;
    }
}

/// A bag of real KITTI scans (PointCloud2-sized float payloads) and PNG camera frames, lz4 chunks.
fn make_bench_bag(size_mb: u64) -> Result<PathBuf, Box<dyn std::error::Error>> {
    let path = std::env::temp_dir().join(format!("sensorium_bench_lz4_{size_mb}mb.bag"));
    if path.exists() {
        return Ok(path);
    }
    let root = shared_data_dir().join("kitti_object_vis/data/object/training");
    let mut clouds = Vec::new();
    let mut images = Vec::new();
    for i in 0..3 {
        clouds.push(std::fs::read(root.join(format!("velodyne/{i:06}.bin")))?);
        images.push(std::fs::read(root.join(format!("image_2/{i:06}.png")))?);
    }
    let tmp = path.with_extension("partial");
    let mut w = BagWriter::create(&tmp, Compression::Lz4)?;
    let cloud = w.add_connection(
        "/kitti/velo/pointcloud",
        "sensor_msgs/PointCloud2",
        "1158d486dd51d683ce2f1be655c3c181",
        "",
    )?;
    let image = w.add_connection(
        "/kitti/camera_color_left/image_raw/compressed",
        "sensor_msgs/CompressedImage",
        "8f7a12909da2c9d3332d540a0977563f",
        "",
    )?;
    let mut written = 0u64;
    let mut frame = 0u32;
    while written < size_mb * 1_000_000 {
        let k = frame as usize % 3;
        let t = Stamp::from_nanos(1_300_000_000_000_000_000 + u64::from(frame) * 100_000_000);
        w.write(cloud, t, &clouds[k])?;
        w.write(image, Stamp::from_nanos(t.as_nanos() + 5_000_000), &images[k])?;
        written += (clouds[k].len() + images[k].len()) as u64;
        frame += 1;
    }
    w.finish()?;
    std::fs::rename(&tmp, &path)?;
    Ok(path)
}
