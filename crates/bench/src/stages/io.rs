//! Reading: bag files against `cat` and python rosbag, PointCloud2 decoding against `read_points`.

use super::*;

/// A serialized 120k-point x,y,z,intensity float32 cloud (every 97th point NaN).
pub fn xyzi_cloud_payload(n: usize) -> Vec<u8> {
    let mut soa = PointsSoA::with_capacity(n);
    for i in 0..n {
        let a = i as f32 * 0.001;
        let x = if i % 97 == 0 { f32::NAN } else { 40.0 * a.cos() };
        soa.push(x, 40.0 * a.sin(), (i % 64) as f32 * 0.05 - 1.0, (i % 255) as f32);
    }
    PointCloud2::from_soa(&soa, Header::new(Stamp::new(100, 0), "lidar")).to_bytes()
}

/// Bytes → packed float32 SoA in one pass over the message bytes (no copy of the cloud), the runtime's
/// path for every cloud.
pub fn decode_cloud(payload: &[u8]) -> Result<PointsSoA> {
    Ok(sensorium_msgs::pointcloud::decode_soa(payload)?)
}

// ----------------------------------------------------------------------------- bag

/// Reading a ≥ 200 MB lz4 bag of real KITTI clouds and camera images, every message, no pipeline, against
/// `cat BAG > /dev/null` from page cache and Debian's python rosbag (`read_messages(raw=True)`).
pub(super) fn bag_read(ctx: &Ctx) -> Result<Vec<Row>> {
    use sensorium_bag::throughput::{make_kitti_bag, read_all, ReadStats};
    use sensorium_bag::{BagReader, OpenOptions, ReadOptions};
    let kitti = shared_data_dir().join("kitti_object_vis/data/object/training");
    if !kitti.join("velodyne/000000.bin").is_file() {
        return Ok(vec![Row::new("bag_read_lz4").no_peer(format!(
            "KITTI frames missing under {} (SENSORIUM_DATA)",
            kitti.display()
        ))]);
    }
    let bag = make_kitti_bag(&ctx.work.join("kitti_lz4.bag"), 210, &kitti)?;
    let mb = std::fs::metadata(&bag)?.len() as f64 / 1e6;
    let name = format!("bag_read_lz4_{mb:.0}mb");
    let passes = if ctx.opts.quick { 5 } else { 11 };
    let cat = || -> Result<f64> {
        let t = Instant::now();
        let st = Command::new("cat")
            .arg(&bag)
            .stdout(std::fs::File::create("/dev/null")?)
            .status()
            .context("running cat")?;
        if !st.success() {
            bail!("cat failed: {st}");
        }
        Ok(t.elapsed().as_secs_f64() * 1e3)
    };
    cat()?; // into the page cache
            // One pass = what `sensorium bag read BAG` does: open the bag (index, mapping) and read every message
            // through a fresh reader, so mapping the file and the first use of the chunk buffers are counted, as they
            // are in a process reading a recording once (a reused reader is faster: its pages are mapped).
    let pass = |opts: &ReadOptions, open: OpenOptions| -> Result<(f64, ReadStats)> {
        let t = Instant::now();
        let reader = BagReader::open_with(&bag, open)?;
        let st = read_all(&reader, opts)?;
        Ok((t.elapsed().as_secs_f64() * 1e3, st))
    };
    let mapped = OpenOptions { mmap: true };
    let (mut cat_ms, mut ours_ms, mut one_ms, mut fast_ms, mut pread_ms) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    // the decompressor alone (chunk data already in memory), on one thread and on the reader's lanes: the
    // floor under a pass on this machine, and how well two threads scale here
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
    let decoder = BagReader::open(&bag)?;
    let (mut dec1_ms, mut decn_ms) = (Vec::new(), Vec::new());
    let mut last = None;
    let single = ReadOptions {
        prefetch: 1,
        ..ReadOptions::all()
    };
    let unverified = ReadOptions {
        skip_checksums: true,
        ..ReadOptions::all()
    };
    // interleaved, so a noisy neighbour hits all alike
    for _ in 0..passes {
        cat_ms.push(cat()?);
        let (ms, st) = pass(&ReadOptions::all(), mapped)?;
        ours_ms.push(ms);
        fast_ms.push(pass(&unverified, mapped)?.0);
        cat_ms.push(cat()?);
        one_ms.push(pass(&single, mapped)?.0);
        pread_ms.push(pass(&unverified, OpenOptions { mmap: false })?.0);
        dec1_ms.push(decoder.decompress_only(1)? * 1e3);
        decn_ms.push(decoder.decompress_only(threads)? * 1e3);
        last = Some(st);
    }
    drop(decoder);
    let st = last.ok_or_else(|| anyhow!("no pass"))?;
    let stats = |v: &[f64]| Stats::from_ms(v).ok_or_else(|| anyhow!("no samples"));
    let (ours, cat_s, one, fast, pread, dec1, decn) = (
        stats(&ours_ms)?,
        stats(&cat_ms)?,
        stats(&one_ms)?,
        stats(&fast_ms)?,
        stats(&pread_ms)?,
        stats(&dec1_ms)?,
        stats(&decn_ms)?,
    );
    let pct = |s: &Stats| 100.0 * cat_s.median_ms / s.median_ms;
    let common = format!(
        "{} messages, {:.0} MB payload, {} chunks, {threads} prefetch threads, liblz4 block decoder, chunks \
         decompressed out of a read-only mapping; a pass opens the bag and reads every message",
        st.messages,
        st.payload_bytes as f64 / 1e6,
        st.chunks_read,
    );
    let vs_cat = Row::new(format!("{name}_vs_cat"))
        .ours(ours)
        .throughput(mb / (ours.median_ms * 1e-3), "MB/s")
        .peer(
            "cat BAG > /dev/null (page cache)",
            cat_s.median_ms,
            Some(cat_s.p99_ms),
        )
        .note(format!(
            "{common}; LZ4 checksums verified (the default, as roslz4 does): {:.0}% of cat's speed (the \
             checksum is a second pass over every byte: XXH32 alone runs ~7 GB/s a core); caller's thread \
             alone {:.0} MB/s ({:.0}%)",
            pct(&ours),
            mb / (one.median_ms * 1e-3),
            pct(&one),
        ));
    let fast_vs_cat = Row::new(format!("{name}_skip_checksums_vs_cat"))
        .ours(fast)
        .throughput(mb / (fast.median_ms * 1e-3), "MB/s")
        .peer(
            "cat BAG > /dev/null (page cache)",
            cat_s.median_ms,
            Some(cat_s.p99_ms),
        )
        .note(format!(
            "{common}; `--skip-checksums` (bounds still checked): {:.0}% of cat's speed (target ≥ 80%); with \
             positioned reads instead of the mapping (`--no-mmap`) {:.0} MB/s ({:.0}%); liblz4 alone (chunk \
             data already in memory, no I/O, no parsing) {:.1} ms on 1 thread, {:.1} ms on {threads} \
             ({:.2}x): at most {:.0}% of cat's speed for any reader of this bag on this machine",
            pct(&fast),
            mb / (pread.median_ms * 1e-3),
            pct(&pread),
            dec1.median_ms,
            decn.median_ms,
            dec1.median_ms / decn.median_ms,
            pct(&decn),
        ));
    let py = peer_or_missing(ctx, "ros").and_then(|_| {
        let v = ctx.peers.run(
            Interp::Ros,
            "peers.py",
            &[
                s("read_bag"),
                s(bag.display()),
                s(if ctx.opts.quick { 1 } else { 3 }),
            ],
        )?;
        if v["messages"].as_u64() != Some(st.messages) || v["bytes"].as_u64().is_none() {
            bail!("python read {} messages, we {}", v["messages"], st.messages);
        }
        med_p99(&v)
    });
    let vs_py = with_peer(
        Row::new(format!("{name}_vs_python_rosbag"))
            .ours(ours)
            .throughput(mb / (ours.median_ms * 1e-3), "MB/s")
            .note(format!(
                "{} messages; python: rosbag.Bag.read_messages(raw=True)",
                st.messages
            )),
        "Debian python rosbag",
        py,
    );
    let _ = std::fs::remove_file(&bag);
    Ok(vec![vs_cat, fast_vs_cat, vs_py])
}

// ----------------------------------------------------------------------------- decode

pub(super) fn pointcloud2_decode(ctx: &Ctx) -> Result<Vec<Row>> {
    let payload = xyzi_cloud_payload(120_000);
    let points = decode_cloud(&payload)?.len();
    let st = time(&ctx.budget, || {
        black_box(decode_cloud(black_box(&payload)).map(|c| c.len()).unwrap_or(0));
    });
    let mb = payload.len() as f64 / 1e6;
    let row = Row::new("pointcloud2_decode_120k_xyzi")
        .ours(st)
        .throughput(mb / (st.median_ms * 1e-3), "MB/s")
        .note(format!(
            "{} bytes, {points} finite points to SoA, one core",
            payload.len()
        ));
    let path = ctx.work.join("cloud.msg");
    std::fs::write(&path, &payload)?;
    let peer = peer_or_missing(ctx, "ros").and_then(|_| {
        let v = ctx.peers.run(
            Interp::Ros,
            "peers.py",
            &[
                s("read_points"),
                s(path.display()),
                s(ctx.budget.min_iters.min(5)),
            ],
        )?;
        if v["points"].as_u64() != Some(points as u64) {
            bail!("read_points returned {} points, we {points}", v["points"]);
        }
        med_p99(&v)
    });
    Ok(vec![with_peer(
        row,
        "sensor_msgs.point_cloud2.read_points (numpy array)",
        peer,
    )])
}

// ----------------------------------------------------------------------------- camera
