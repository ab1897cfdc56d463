//! Reading a whole bag as fast as it goes (what `sensorium bag read` and the `bag_read` benchmark do), and
//! the benchmark's bag: real KITTI clouds and camera images in lz4 chunks.

use std::path::{Path, PathBuf};
use std::time::Instant;

use sensorium_core::Stamp;

use crate::{BagError, BagReader, BagWriter, Compression, ReadOptions};

/// What one pass over a bag read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReadStats {
    pub messages: u64,
    /// Payload bytes handed out (every message's serialized bytes).
    pub payload_bytes: u64,
    pub chunks_read: usize,
    pub seconds: f64,
}

/// Visits every message `opts` selects, touching each payload (its length and first byte), so the figure
/// includes reading, decompressing and slicing, not just the index. An I/O error stops the pass.
pub fn read_all(reader: &BagReader, opts: &ReadOptions) -> Result<ReadStats, BagError> {
    let t = Instant::now();
    let (mut messages, mut payload_bytes) = (0u64, 0u64);
    let mut it = reader.messages(opts);
    for m in it.by_ref() {
        let m = m?;
        messages += 1;
        payload_bytes += m.data.len() as u64 + u64::from(m.data.first().copied().unwrap_or(0) & 1);
    }
    Ok(ReadStats {
        messages,
        payload_bytes,
        chunks_read: it.chunks_read(),
        seconds: t.elapsed().as_secs_f64(),
    })
}

/// Writes (unless it is already there) a lz4 bag of at least `size_mb` MB at `path` of the real KITTI scans
/// (`velodyne/00000N.bin`, float32 x y z intensity) and camera frames (`image_2/00000N.png`) under
/// `kitti_training`, alternating at 10 Hz: the mix of a LiDAR + camera recording.
pub fn make_kitti_bag(path: &Path, size_mb: u64, kitti_training: &Path) -> Result<PathBuf, BagError> {
    if path.exists() {
        return Ok(path.to_path_buf());
    }
    let read =
        |p: PathBuf| std::fs::read(&p).map_err(|e| crate::error::io_err(&p, "reading benchmark input", e));
    let mut frames = Vec::new();
    for i in 0..3 {
        frames.push((
            read(kitti_training.join(format!("velodyne/{i:06}.bin")))?,
            read(kitti_training.join(format!("image_2/{i:06}.png")))?,
        ));
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
    // lz4 shrinks the clouds a little: the size that counts is the file's (chunks are flushed as they fill)
    let on_disk = || std::fs::metadata(&tmp).map_or(0, |m| m.len());
    for (frame, (cloud_bytes, image_bytes)) in (0u64..).zip(frames.iter().cycle()) {
        if frame.is_multiple_of(32) && on_disk() >= size_mb * 1_000_000 {
            break;
        }
        let t = Stamp::from_nanos(1_300_000_000_000_000_000 + frame * 100_000_000);
        w.write(cloud, t, cloud_bytes)?;
        w.write(image, Stamp::from_nanos(t.as_nanos() + 5_000_000), image_bytes)?;
    }
    w.finish()?;
    // on disk before anyone measures: writeback of 200 MB of dirty pages would run beside the reads
    std::fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(|e| crate::error::io_err(&tmp, "syncing", e))?;
    std::fs::rename(&tmp, path).map_err(|e| crate::error::io_err(path, "renaming", e))?;
    Ok(path.to_path_buf())
}
