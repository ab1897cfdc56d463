//! The measured stages, each returning its rows (ours beside the peer, same inputs, same run).

use crate::measure::{time, Budget, Stats};
use crate::peers::{med_p99, pcl_voxel_grid, Interp, Peers};
use crate::report::Row;
use crate::system::{cpu_seconds, status_mib};
use anyhow::{anyhow, bail, Context, Result};
use nalgebra::{Isometry3, Matrix3, Point3, Translation3, UnitQuaternion};
use sensorium_core::{PointsSoA, RgbImage, Stamp};
use sensorium_engine::arrivals::{self, ArrivalSpec};
use sensorium_engine::sync::{PolicyConfig, PolicyKind};
use sensorium_fusion::paint::{painted_width, FeatureMap, Sampler};
use sensorium_fusion::pillars::EgoPoints;
use sensorium_fusion::PillarBuilder;
use sensorium_geometry::cloudfile::load_cloud;
use sensorium_geometry::{CameraModel, Distortion, ImageKind, Projector, VehicleCalib};
use sensorium_infer::check::read_npy;
use sensorium_infer::{Backend, Encoder, LoadOptions};
use sensorium_msgs::{CompressedImage, Header, PointCloud2, RosMessage};
use sensorium_pipeline::models::Models;
use sensorium_sim::npy::{npy_bytes, Dtype};
use sensorium_sim::{SimConfig, Simulator};
use sensorium_testkit::rosmaster::{Killed, RosMaster};
use sensorium_testkit::testdata::shared_data_dir;
use std::hint::black_box;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Shared state of one run.
pub struct Ctx {
    pub opts: crate::Options,
    pub budget: Budget,
    pub peers: Peers,
    pub work: PathBuf,
    /// N of "1 and N threads".
    pub threads: usize,
}

type Stage = fn(&Ctx) -> Result<Vec<Row>>;

/// Every stage, in report order.
pub const ALL: &[(&str, Stage)] = &[
    ("bag_read", bag_read),
    ("pointcloud2_decode", pointcloud2_decode),
    ("jpeg_decode", jpeg_decode),
    ("image_preprocess", image_preprocess),
    ("projection", projection),
    ("pillarize_paint", pillarize_paint),
    ("encoders", encoders),
    ("engine", engine),
    ("sim_frame_set", sim_frame_set),
    ("end_to_end", end_to_end),
    ("full_pipeline_10hz", full_pipeline_10hz),
    ("node_soak", node_soak),
];

fn s(x: impl ToString) -> String {
    x.to_string()
}

/// Attaches the peer's figures, or says why there are none.
fn with_peer(row: Row, peer: &str, result: Result<(f64, f64)>) -> Row {
    match result {
        Ok((m, p)) => row.peer(peer, m, Some(p)),
        Err(e) => {
            eprintln!("bench: WARNING {}: peer {peer} failed: {e:#}", row.name);
            row.no_peer(format!("{peer} failed: {e:#}"))
        }
    }
}

fn peer_or_missing(ctx: &Ctx, key: &str) -> Result<()> {
    match ctx.peers.unavailable(key) {
        Some(why) => Err(anyhow!(why)),
        None => Ok(()),
    }
}

// ----------------------------------------------------------------------------- PointCloud2

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
fn bag_read(ctx: &Ctx) -> Result<Vec<Row>> {
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

fn pointcloud2_decode(ctx: &Ctx) -> Result<Vec<Row>> {
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

/// A rendered 1280×720 sim frame and its 64-beam sweep (~115k points), with the calibration the sim
/// writes for it.
pub struct SimFrame {
    pub rgb: RgbImage,
    pub cloud: PointsSoA,
    pub calib: VehicleCalib,
}

fn sim_frame(ctx: &Ctx) -> Result<SimFrame> {
    make_sim_frame(&ctx.work)
}

/// Renders the bench's sim frame (seed 7, sweep 2) and writes its calibration under `work`.
pub fn make_sim_frame(work: &Path) -> Result<SimFrame> {
    make_sim_frame_with(work, SimConfig::default())
}

/// [`make_sim_frame`] with another simulator configuration.
pub fn make_sim_frame_with(work: &Path, cfg: SimConfig) -> Result<SimFrame> {
    let mut sim = Simulator::new(&cfg, 7, 4)?;
    let fs = sim.frame_set(2, 0.0);
    let dir = work.join("sim_calib");
    sensorium_sim::write_calibration(&cfg, &dir)?;
    let calib = VehicleCalib::load(&dir)?;
    Ok(SimFrame {
        rgb: RgbImage {
            stamp: Stamp::new(1, 0),
            frame_id: "camera".into(),
            width: fs.image.width,
            height: fs.image.height,
            data: fs.image.rgb,
        },
        cloud: fs.sweep.points,
        calib,
    })
}

pub fn jpeg_of(img: &RgbImage) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut buf, 90).encode(
        &img.data,
        img.width,
        img.height,
        image::ExtendedColorType::Rgb8,
    )?;
    Ok(buf)
}

fn jpeg_decode(ctx: &Ctx) -> Result<Vec<Row>> {
    let f = sim_frame(ctx)?;
    let jpeg = jpeg_of(&f.rgb)?;
    let msg = CompressedImage {
        header: Header::new(Stamp::new(1, 0), "camera"),
        format: "rgb8; jpeg compressed bgr8".into(),
        data: jpeg.clone(),
    };
    let check = msg.to_rgb()?;
    if (check.width, check.height) != (1280, 720) {
        bail!("decoded {}x{}, expected 1280x720", check.width, check.height);
    }
    let st = time(&ctx.budget, || {
        black_box(msg.to_rgb().map(|i| i.data.len()).unwrap_or(0));
    });
    let path = ctx.work.join("frame.jpg");
    std::fs::write(&path, &jpeg)?;
    let row = Row::new("jpeg_decode_1280x720")
        .ours(st)
        .throughput(1280.0 * 720.0 / 1e6 / (st.median_ms * 1e-3), "Mpx/s")
        .note(format!(
            "sensor_msgs/CompressedImage → RGB8, {} byte JPEG (q90, sim frame), one core; cv2 gives BGR",
            jpeg.len()
        ));
    let peer = peer_or_missing(ctx, "opencv").and_then(|_| {
        med_p99(&ctx.peers.run(
            Interp::Ros,
            "peers.py",
            &[
                s("imdecode"),
                s(path.display()),
                s(ctx.budget.iters_for(st.median_ms)),
            ],
        )?)
    });
    Ok(vec![with_peer(row, "cv2.imdecode", peer)])
}

fn image_preprocess(ctx: &Ctx) -> Result<Vec<Row>> {
    let f = sim_frame(ctx)?;
    let models = load_models(ctx)?;
    let pre = models.image_pre()?.clone();
    let st = time(&ctx.budget, || {
        black_box(
            sensorium_infer::image::preprocess(&f.rgb, &pre)
                .map(|v| v.len())
                .unwrap_or(0),
        );
    });
    let path = ctx.work.join("frame_rgb.npy");
    std::fs::write(
        &path,
        npy_bytes(
            Dtype::U8,
            &[f.rgb.height as usize, f.rgb.width as usize, 3],
            &f.rgb.data,
        ),
    )?;
    let row = Row::new(format!(
        "image_resize_normalise_1280x720_to_{}x{}",
        pre.width, pre.height
    ))
    .ours(st)
    .throughput(1280.0 * 720.0 / 1e6 / (st.median_ms * 1e-3), "Mpx/s")
    .note("bilinear resize + mean/std + HWC→CHW float32, one core");
    let peer = peer_or_missing(ctx, "opencv").and_then(|_| {
        med_p99(&ctx.peers.run(
            Interp::Ros,
            "peers.py",
            &[
                s("resize"),
                s(path.display()),
                s(pre.width),
                s(pre.height),
                s(ctx.budget.iters_for(st.median_ms)),
            ],
        )?)
    });
    Ok(vec![with_peer(row, "cv2.resize + numpy normalise", peer)])
}

// ----------------------------------------------------------------------------- geometry

const KITTI_D: [f64; 5] = [-0.05, 0.01, 0.001, -0.001, 0.0005];

fn projection(ctx: &Ctx) -> Result<Vec<Row>> {
    let bin = shared_data_dir().join("kitti_object_vis/data/object/training/velodyne/000001.bin");
    let (cloud, source) = match load_cloud(&bin) {
        Ok(c) => (c, "KITTI 000001"),
        Err(_) => (sim_frame(ctx)?.cloud, "sim 64-beam sweep (KITTI data not found)"),
    };
    let k = Matrix3::new(721.5377, 0.0, 609.5593, 0.0, 721.5377, 172.854, 0.0, 0.0, 1.0);
    let model = CameraModel::new(1242, 375, k, Distortion::PlumbBob, KITTI_D.to_vec())?;
    // KITTI-like LiDAR → camera: x forward → z, y left → −x, z up → −y
    let iso = Isometry3::from_parts(
        Translation3::new(0.0, -0.08, -0.27),
        UnitQuaternion::from_euler_angles(-std::f64::consts::FRAC_PI_2, 0.0, -std::f64::consts::FRAC_PI_2)
            .inverse(),
    );
    let proj = Projector::from_isometry(&iso, &model, ImageKind::Raw);
    let mut out = Vec::with_capacity(cloud.len());
    let st = time(&ctx.budget, || {
        proj.project_into(black_box(&cloud), &mut out);
        black_box(out.len());
    });
    // camera-frame points for cv2.projectPoints (identity pose): the same arithmetic input
    let mut cam = Vec::with_capacity(cloud.len() * 3);
    for i in 0..cloud.len() {
        let p = iso
            * Point3::new(
                f64::from(cloud.x[i]),
                f64::from(cloud.y[i]),
                f64::from(cloud.z[i]),
            );
        cam.extend_from_slice(&[p.x as f32, p.y as f32, p.z as f32]);
    }
    let path = ctx.work.join("cam_points.npy");
    let bytes: Vec<u8> = cam.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(&path, npy_bytes(Dtype::F32, &[cloud.len(), 3], &bytes))?;
    let row = Row::new(format!("projection_plumb_bob_{}_points_1242x375", cloud.len()))
        .ours(st)
        .throughput(cloud.len() as f64 / 1e6 / (st.median_ms * 1e-3), "Mpoints/s")
        .note(format!(
            "{source}; transform + distortion + in-image test, one core"
        ));
    let peer = peer_or_missing(ctx, "opencv").and_then(|_| {
        let mut args = vec![s("project"), s(path.display())];
        for v in [721.5377, 721.5377, 609.5593, 172.854] {
            args.push(s(v));
        }
        args.extend(KITTI_D.iter().map(s));
        args.push(s(ctx.budget.iters_for(st.median_ms * 50.0)));
        med_p99(&ctx.peers.run(Interp::Ros, "peers.py", &args)?)
    });
    Ok(vec![with_peer(row, "cv2.projectPoints", peer)])
}

fn load_models(ctx: &Ctx) -> Result<Models> {
    Models::load(
        &ctx.opts.models,
        &sensorium_pipeline::models::Selection {
            backend: Some(sensorium_infer::Backend::Tract),
            ..sensorium_pipeline::models::Selection::new(Some("int8"), 1)
        },
    )
}

/// Azimuth step of the 64-beam LiDAR in the ≈ 120 k-point benches (pillarize_paint, full_pipeline_10hz):
/// ~124k points a sweep, against ~111k at the simulator's default 0.2°.
const AZIMUTH_RES_120K_DEG: f64 = 0.18;

fn pillarize_paint(ctx: &Ctx) -> Result<Vec<Row>> {
    let mut cfg = SimConfig::default();
    cfg.lidar.azimuth_res_deg = AZIMUTH_RES_120K_DEG;
    let f = make_sim_frame_with(&ctx.work, cfg)?;
    let models = load_models(ctx)?;
    let channels = 32;
    let cfg = models.pillar_config(painted_width(channels))?;
    let grid = cfg.grid;
    let calib = &f.calib;
    let t_ego_lidar =
        sensorium_pipeline::calibration::transform_3x4(calib, &calib.ego_frame, &calib.lidar_frame)
            .map_err(|e| anyhow!(e))?;
    let cam = calib.camera(None)?;
    let proj = Projector::new(
        &calib.tree.lookup_matrix(&cam.frame_id, &calib.ego_frame)?,
        &cam.model,
        cam.image,
    );
    let (fh, fw) = (24usize, 40usize);
    let features: Vec<f32> = (0..channels * fh * fw).map(|i| (i % 97) as f32 * 0.01).collect();
    let fm = FeatureMap {
        data: &features,
        channels,
        height: fh,
        width: fw,
    };
    let mut ego = EgoPoints::default();
    let mut scratch = PointsSoA::default();
    let mut uvd = Vec::new();
    let mut builder = PillarBuilder::new(cfg);
    let c = &f.cloud;
    let mut run = || {
        ego.crop_from(&grid, &c.x, &c.y, &c.z, &c.intensity, &t_ego_lidar);
        std::mem::swap(&mut scratch.x, &mut ego.x);
        std::mem::swap(&mut scratch.y, &mut ego.y);
        std::mem::swap(&mut scratch.z, &mut ego.z);
        proj.project_into(&scratch, &mut uvd);
        std::mem::swap(&mut scratch.x, &mut ego.x);
        std::mem::swap(&mut scratch.y, &mut ego.y);
        std::mem::swap(&mut scratch.z, &mut ego.z);
        // what the pipeline's LiDAR stage does: the features are sampled for the slotted points only
        let sampler = Sampler::new(fm, f.rgb.width, f.rgb.height);
        builder.build_sampled(&ego, &uvd, sampler.as_ref());
        builder.used()
    };
    let used = run();
    let st = time(&ctx.budget, || {
        black_box(run());
    });
    // where the time goes: each part alone, on the state the whole run left
    let crop = time(&ctx.budget, || {
        ego.crop_from(&grid, &c.x, &c.y, &c.z, &c.intensity, &t_ego_lidar);
        black_box(ego.len());
    });
    for (a, b) in [
        (&mut scratch.x, &mut ego.x),
        (&mut scratch.y, &mut ego.y),
        (&mut scratch.z, &mut ego.z),
    ] {
        a.clone_from(b);
    }
    let project = time(&ctx.budget, || {
        proj.project_into(&scratch, &mut uvd);
        black_box(uvd.len());
    });
    let sampler = Sampler::new(fm, f.rgb.width, f.rgb.height);
    let build = time(&ctx.budget, || {
        builder.build_sampled(&ego, &uvd, sampler.as_ref());
        black_box(builder.used());
    });
    // the peer grids the same points (in the ego frame) into 0.5 m pillars spanning the z range
    let pcd = ctx.work.join("cloud.pcd");
    write_pcd(&pcd, c, &t_ego_lidar)?;
    let row = Row::new(format!("pillarize_paint_{}_points", c.len()))
        .ours(st)
        .throughput(c.len() as f64 / 1e6 / (st.median_ms * 1e-3), "Mpoints/s")
        .note(format!(
            "ego transform + crop + projection + painting ({channels} ch, sampled for the points given a pillar slot) + pillar tensor ({used} pillars), one core \
             (medians alone: crop {:.2} ms, projection of the {} kept points {:.2} ms, pillars + painting {:.2} ms); \
             PCL only grids (centroid per voxel), ours does more",
            crop.median_ms,
            ego.len(),
            project.median_ms,
            build.median_ms
        ));
    let peer = peer_or_missing(ctx, "pcl").and_then(|_| {
        let runs = if ctx.opts.quick { 3 } else { 10 };
        let (times, _pts) = pcl_voxel_grid(&pcd, [grid.res as f64, grid.res as f64, 1000.0], runs)?;
        let st = Stats::from_ms(&times).ok_or_else(|| anyhow!("no PCL timings"))?;
        Ok((st.median_ms, st.p99_ms))
    });
    Ok(vec![with_peer(row, "PCL VoxelGrid (pcl_voxel_grid)", peer)])
}

/// Binary PCD (x y z intensity float32) of the cloud transformed by `t` (row-major 3×4).
fn write_pcd(path: &Path, c: &PointsSoA, t: &[f64; 12]) -> Result<()> {
    let n = c.len();
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    write!(
        f,
        "# .PCD v0.7\nVERSION 0.7\nFIELDS x y z intensity\nSIZE 4 4 4 4\nTYPE F F F F\nCOUNT 1 1 1 1\n\
         WIDTH {n}\nHEIGHT 1\nVIEWPOINT 0 0 0 1 0 0 0\nPOINTS {n}\nDATA binary\n"
    )?;
    for i in 0..n {
        let (x, y, z) = (f64::from(c.x[i]), f64::from(c.y[i]), f64::from(c.z[i]));
        let e = [
            t[0] * x + t[1] * y + t[2] * z + t[3],
            t[4] * x + t[5] * y + t[6] * z + t[7],
            t[8] * x + t[9] * y + t[10] * z + t[11],
        ];
        for v in [e[0] as f32, e[1] as f32, e[2] as f32, c.intensity[i]] {
            f.write_all(&v.to_le_bytes())?;
        }
    }
    f.flush()?;
    Ok(())
}

// ----------------------------------------------------------------------------- encoders

const ENCODERS: [&str; 4] = ["image_encoder", "point_encoder", "text_encoder", "fusion"];

fn encoders(ctx: &Ctx) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    let onnx_ok = peer_or_missing(ctx, "onnxruntime");
    // the machine's measured peak: onnxruntime's MLAS gemm, 1024³, f32 and u8×s8
    let mut thread_set = vec![1usize];
    if ctx.threads > 1 {
        thread_set.push(ctx.threads);
    }
    let mut peak = std::collections::BTreeMap::new();
    for &t in &thread_set {
        for dtype in ["f32", "u8"] {
            let name = format!(
                "machine_peak_{}_gemm_1024_{t}t",
                if dtype == "f32" { "f32" } else { "int8" }
            );
            let r = onnx_ok.as_ref().map_err(|e| anyhow!("{e}")).and_then(|_| {
                ctx.peers.run(
                    Interp::Venv,
                    "peers.py",
                    &[
                        s("gemm"),
                        s(dtype),
                        s(1024),
                        s(t),
                        s(if ctx.opts.quick { 5 } else { 20 }),
                    ],
                )
            });
            match r {
                Ok(v) => {
                    let (m, p) = med_p99(&v)?;
                    let g = v["gmacs_per_s"].as_f64().unwrap_or(f64::NAN);
                    peak.insert((dtype, t), g);
                    rows.push(
                        Row::new(name)
                            .ours(Stats {
                                median_ms: m,
                                p99_ms: p,
                                iters: 1,
                            })
                            .throughput(g, "GMAC/s")
                            .no_peer(
                                "this row is the reference: onnxruntime (MLAS) MatMul measured here, the \
                                 denominator of each encoder's peak fraction",
                            ),
                    );
                }
                Err(e) => rows.push(Row::new(name).note(format!("failed: {e:#}"))),
            }
        }
    }
    let (mut best_ours, mut best_peer) = (f64::INFINITY, f64::INFINITY);
    for model in ENCODERS {
        let dir = ctx.opts.models.join(model);
        if !dir.join("manifest.toml").is_file() {
            rows.push(Row::new(model).no_peer(format!("{} has no manifest.toml", dir.display())));
            continue;
        }
        let inputs_dir = dir.join("golden/inputs");
        for variant in ["fp32", "int8"] {
            let file = if variant == "fp32" {
                dir.join("model.onnx")
            } else {
                dir.join(format!("model.{variant}.onnx"))
            };
            if !file.is_file() {
                continue;
            }
            let macs = onnx_ok
                .as_ref()
                .ok()
                .and_then(|_| {
                    ctx.peers
                        .run(
                            Interp::Venv,
                            "peers.py",
                            &[s("macs"), s(file.display()), s(inputs_dir.display())],
                        )
                        .ok()
                })
                .and_then(|v| v["macs"].as_u64());
            for &t in &thread_set {
                let peer = onnx_ok.as_ref().map_err(|e| anyhow!("{e}")).and_then(|_| {
                    med_p99(&ctx.peers.run(
                        Interp::Venv,
                        "peers.py",
                        &[
                            s("ort"),
                            s(file.display()),
                            s(inputs_dir.display()),
                            s(t),
                            s(ctx.budget.iters_for(5.0)),
                        ],
                    )?)
                });
                for backend in [Backend::Tract, Backend::OnnxRuntime] {
                    let name = match backend {
                        Backend::Tract => format!("encoder_{model}_{variant}_{t}t"),
                        Backend::OnnxRuntime => format!("encoder_{model}_{variant}_{t}t_onnxruntime"),
                    };
                    let row = encoder_row(ctx, &dir, &inputs_dir, variant, t, backend, &name);
                    let mut row = match row {
                        Ok(r) => r,
                        Err(e) => {
                            rows.push(Row::new(name).note(format!("failed: {e:#}")));
                            continue;
                        }
                    };
                    if let Some(m) = macs {
                        let g = m as f64 / (row.median_ms * 1e-3) / 1e9;
                        row = row.throughput(g, "GMAC/s");
                        let pk = peak
                            .get(&(if variant == "fp32" { "f32" } else { "u8" }, t))
                            .copied();
                        let frac = pk.map(|p| g / p);
                        row = row.note(format!(
                            "{:.1} MMAC{}",
                            m as f64 / 1e6,
                            frac.map(|f| format!(", {:.1}% of measured {variant} peak", f * 100.0))
                                .unwrap_or_default()
                        ));
                    }
                    if model == "image_encoder" && variant == "int8" {
                        best_ours = best_ours.min(row.median_ms);
                        if let Ok((m, _)) = &peer {
                            best_peer = best_peer.min(*m);
                        }
                    }
                    rows.push(with_peer(
                        row,
                        &format!("onnxruntime CPU (Python), {t} thread(s)"),
                        peer.as_ref().map(|p| *p).map_err(|e| anyhow!("{e:#}")),
                    ));
                }
            }
        }
    }
    // what `models tune` picks for the int8 image encoder (fastest backend and thread count of ours)
    // against onnxruntime's best thread count
    let row = Row::new("encoder_image_encoder_int8_tuned_best").ours(Stats {
        median_ms: best_ours,
        p99_ms: best_ours,
        iters: 1,
    });
    rows.push(if best_ours.is_finite() && best_peer.is_finite() {
        with_peer(
            row.note("fastest of our int8 image encoder rows (tract / onnxruntime backend, each thread count): the choice `sensorium models tune` makes; target ratio <= 1.0"),
            "onnxruntime CPU (Python), fastest thread count",
            Ok((best_peer, best_peer)),
        )
    } else {
        row.note("failed: an int8 image encoder row or its peer is missing")
    });
    Ok(rows)
}

fn encoder_row(
    ctx: &Ctx,
    dir: &Path,
    inputs_dir: &Path,
    variant: &str,
    t: usize,
    backend: Backend,
    name: &str,
) -> Result<Row> {
    let opts = LoadOptions {
        backend,
        variant: (variant != "fp32").then(|| variant.to_string()),
        threads: t,
        ..Default::default()
    };
    let enc = Encoder::load(dir, &opts)?;
    let inputs = enc
        .manifest()
        .inputs
        .iter()
        .map(|i| read_npy(&inputs_dir.join(format!("{}.npy", i.name))))
        .collect::<Result<Vec<_>, _>>()?;
    enc.run(inputs.clone())?;
    let st = time(&ctx.budget, || {
        black_box(enc.run(inputs.clone()).map(|o| o.len()).unwrap_or(0));
    });
    Ok(Row::new(name).ours(st).note(format!(
        "{backend}, golden inputs, load {:.0} ms",
        enc.load_info().load_ms
    )))
}

// ----------------------------------------------------------------------------- engine

fn engine(ctx: &Ctx) -> Result<Vec<Row>> {
    let streams = 3;
    let seq = arrivals::generate(ArrivalSpec {
        streams,
        duration_s: if ctx.opts.quick { 120.0 } else { 600.0 },
        seed: 42,
        shared_clock: false,
    });
    let (hist, delivered) = sensorium_engine::overhead::engine_overhead(&seq, streams)?;
    let sm = hist.summary();
    // python3-message-filters on the same sequence: cost per matched set
    let (queue, slop) = (10usize, 0.03f64);
    let py = peer_or_missing(ctx, "ros").and_then(|_| python_sync_cost(ctx, &seq, streams, queue, slop));
    let mut rows = Vec::new();
    let overhead = Row::new("engine_overhead_per_frame_set")
        .ours(Stats {
            median_ms: sm.p50_ms,
            p99_ms: sm.p99_ms,
            iters: delivered,
        })
        .throughput(1e3 / sm.p50_ms.max(1e-9) / 1e3, "k sets/s")
        .note(format!(
            "ring + approximate sync + 3 no-op stages (channels, deadlines, counters), {delivered} sets of {} messages; \
             target p99 <= 0.020 ms",
            seq.len()
        ));
    rows.push(with_peer(
        overhead,
        "python3-message-filters ApproximateTimeSynchronizer (matching only)",
        py.as_ref().map(|&(m, _)| (m, m)).map_err(|e| anyhow!("{e:#}")),
    ));
    let cfg = PolicyConfig {
        policy: PolicyKind::Slop,
        streams,
        queue,
        slop,
        ..Default::default()
    };
    let mut sets = 0usize;
    let st = time(&ctx.budget, || {
        sets = sensorium_engine::run_sync(seq.iter().copied(), &cfg)
            .map(|v| v.len())
            .unwrap_or(0);
    });
    let per_set = st.median_ms / sets.max(1) as f64;
    let row = Row::new("sync_slop_per_matched_set")
        .ours(Stats {
            median_ms: per_set,
            p99_ms: st.p99_ms / sets.max(1) as f64,
            iters: st.iters,
        })
        .throughput(sets as f64 / (st.median_ms * 1e-3) / 1e3, "k sets/s")
        .note(format!(
            "same policy and sequence (queue {queue}, slop {slop} s): {sets} sets"
        ));
    let row = match &py {
        Ok((m, py_sets)) if *py_sets == sets => {
            row.peer("python3-message-filters ApproximateTimeSynchronizer", *m, None)
        }
        Ok((_, py_sets)) => row.no_peer(format!(
            "message_filters matched {py_sets} sets, we {sets}: not the same work"
        )),
        Err(e) => row.no_peer(format!("{e:#}")),
    };
    rows.push(row);
    Ok(rows)
}

/// (ms per matched set, sets) of python3-message-filters' ApproximateTimeSynchronizer on `seq`.
fn python_sync_cost(
    ctx: &Ctx,
    seq: &[(usize, Stamp)],
    streams: usize,
    queue: usize,
    slop: f64,
) -> Result<(f64, usize)> {
    let script = sensorium_testkit::testdata::repo_root().join("crates/engine/tests/python/slop_ref.py");
    let mut child = Command::new(&ctx.peers.ros_python)
        .arg(script)
        .args([s(streams), s(queue), format!("{slop:?}"), s("--time")])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let input = arrivals::to_text(seq);
    let mut stdin = child.stdin.take().ok_or_else(|| anyhow!("no stdin"))?;
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output()?;
    writer.join().map_err(|_| anyhow!("writer panicked"))??;
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |k: &str| {
        text.split_whitespace()
            .find_map(|f| f.strip_prefix(k))
            .and_then(|v| v.parse::<f64>().ok())
    };
    let (sets, secs) = field("sets=")
        .zip(field("seconds="))
        .ok_or_else(|| anyhow!("slop_ref.py: {text} {}", String::from_utf8_lossy(&out.stderr)))?;
    Ok((secs * 1e3 / sets.max(1.0), sets as usize))
}

// ----------------------------------------------------------------------------- simulator

fn sim_frame_set(ctx: &Ctx) -> Result<Vec<Row>> {
    let cfg = SimConfig::default();
    let frames = if ctx.opts.quick { 4 } else { 20 };
    let mut sim = Simulator::new(&cfg, 7, frames)?;
    let mut i = 0u32;
    let mut points = 0usize;
    let budget = Budget {
        max_iters: frames as usize,
        ..ctx.budget
    };
    let st = time(&budget, || {
        let fs = sim.frame_set(i % frames, 0.0);
        points = fs.sweep.points.len();
        i += 1;
    });
    Ok(vec![Row::new("sim_frame_set_1280x720_64beam")
        .ours(st)
        .throughput(1e3 / st.median_ms, "frame sets/s")
        .no_peer(format!(
            "no simulator peer for this scene generator; render + ray-cast ({points} points) + truth + map text, \
             one core; target <= 50 ms"
        ))])
}

// ----------------------------------------------------------------------------- end to end, memory

/// The full pipeline at sensor rate on the sizing: a simulated drive with a 1280×720 JPEG camera
/// and a 64-beam LiDAR at 0.18° azimuth (≈ 120 k points a sweep), both 10 Hz, plus map text, played by
/// `sensorium replay --rate 1.0` (the bag's clock: drops and deadlines as on a vehicle) with the int8
/// models on `threads` cores; beside it the Python baseline node (numpy + onnxruntime) over the same bag
/// as fast as it goes (its throughput says whether it could keep 10 Hz).
fn full_pipeline_10hz(ctx: &Ctx) -> Result<Vec<Row>> {
    use sensorium_bag::{BagReader, ReadOptions};
    let secs = if ctx.opts.quick { 4 } else { 10 };
    let bag = ctx.work.join("full_10hz.bag");
    let sim_cfg = ctx.work.join("full_10hz_sim.toml");
    std::fs::write(
        &sim_cfg,
        format!("[lidar]\nazimuth_res_deg = {AZIMUTH_RES_120K_DEG}\n"),
    )?;
    let st = Command::new(&ctx.opts.exe)
        .args(["sim", "--frames", &s(secs * 10), "--seed", "11", "--config"])
        .arg(&sim_cfg)
        .arg("--out")
        .arg(&bag)
        .output()?;
    if !st.status.success() {
        bail!("sensorium sim failed: {}", String::from_utf8_lossy(&st.stderr));
    }
    // points per sweep, as recorded
    let reader = BagReader::open(&bag)?;
    let mut points = Vec::new();
    for m in reader.messages(&ReadOptions::topics(["/lidar/points"])) {
        let m = m?;
        let pc = sensorium_msgs::PointCloud2Ref::decode(&m.data)?;
        points.push(pc.width as usize * pc.height as usize);
    }
    let mean_points = points.iter().sum::<usize>() as f64 / points.len().max(1) as f64;
    let peer = peer_or_missing(ctx, "baseline").and_then(|_| {
        ctx.peers.run(
            Interp::Ros,
            "baseline_node.py",
            &[
                s(bag.display()),
                s(ctx.opts.models.display()),
                s("int8"),
                s(ctx.threads),
            ],
        )
    });
    let mut rows = Vec::new();
    // tract's x86 int8 kernels are slower than its fp32 ones (the encoder rows): its fp32 variant is
    // measured too, as `sensorium models tune` would pick it on this machine
    for (backend, variant) in [("tract", "int8"), ("tract", "fp32"), ("onnxruntime", "int8")] {
        let row = match replay_at_rate(ctx, &bag, backend, variant, secs, mean_points) {
            Ok(r) => r,
            Err(e) => {
                rows.push(
                    Row::new(format!("full_pipeline_10hz_{backend}_{variant}"))
                        .note(format!("failed: {e:#}")),
                );
                continue;
            }
        };
        rows.push(match &peer {
            Ok(p) => {
                let (m, p99) = med_p99(p)?;
                let fps = p["fps"].as_f64().unwrap_or(0.0);
                row.peer(
                    "Python node: rosbag + numpy (recipe preprocessing) + onnxruntime, as fast as it goes",
                    m,
                    Some(p99),
                )
                .note(format!(
                    "python: {:.0} frame sets at {fps:.2}/s (per-set latency, {} 10 Hz)",
                    p["frames"].as_f64().unwrap_or(0.0),
                    if fps >= 10.0 { "could keep" } else { "cannot keep" }
                ))
            }
            Err(e) => row.no_peer(format!("Python baseline node failed: {e:#}")),
        });
    }
    Ok(rows)
}

/// One `sensorium replay --rate 1.0 --policy slop` of the 10 Hz bag on `backend` with the `variant`
/// model files, as a row.
fn replay_at_rate(
    ctx: &Ctx,
    bag: &Path,
    backend: &str,
    variant: &str,
    secs: u32,
    mean_points: f64,
) -> Result<Row> {
    let summary = ctx
        .work
        .join(format!("full_10hz_summary_{backend}_{variant}.json"));
    let out = Command::new(&ctx.opts.exe)
        .arg("replay")
        .arg(bag)
        .args([
            "--rate",
            "1.0",
            "--policy",
            "slop",
            "--quiet",
            "--variant",
            variant,
            "--backend",
            backend,
            "--threads",
            &s(ctx.threads),
        ])
        .arg("--models")
        .arg(&ctx.opts.models)
        .arg("--summary-json")
        .arg(&summary)
        .output()?;
    if !out.status.success() {
        bail!(
            "sensorium replay --rate 1.0 --backend {backend} failed: {}",
            String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or("")
        );
    }
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&summary)?)?;
    let e2e = &v["end_to_end_ms"];
    let fused = v["framesets_fused"].as_f64().unwrap_or(0.0);
    let sweeps = v["received"]["lidar"].as_f64().unwrap_or(0.0);
    let dropped: u64 = v["dropped"]
        .as_object()
        .map(|o| {
            o.iter()
                .filter(|(k, _)| !k.starts_with("sync_pending_at_end"))
                .filter_map(|(_, n)| n.as_u64())
                .sum()
        })
        .unwrap_or(0);
    let wall = v["wall_s"].as_f64().unwrap_or(f64::NAN);
    let p99 = e2e["p99"].as_f64().unwrap_or(f64::NAN);
    let all3 = v["modalities"]["camera+lidar+map_text"].as_f64().unwrap_or(0.0);
    let proc = &v["latency_ms"]["total"];
    let kept_up = fused + 2.0 >= sweeps;
    Ok(Row::new(format!(
        "full_pipeline_10hz_1280x720_{:.0}k_points_{backend}_{variant}",
        mean_points / 1e3
    ))
    .ours(Stats {
        median_ms: e2e["p50"].as_f64().unwrap_or(f64::NAN),
        p99_ms: p99,
        iters: fused as usize,
    })
    .throughput(fused / wall, "frame sets/s")
    .note(format!(
        "sensorium replay --rate 1.0 --policy slop --backend {backend} --variant {variant} (bag clock, sets \
         emitted as soon as they match) of a {secs} s sim drive: 1280x720 camera + {mean_points:.0} points/sweep \
         (64 beams) at 10 Hz + map text at 1 Hz, {} threads; fused {fused:.0} of {sweeps:.0} sweeps ({all3:.0} with all three \
         modalities), {dropped} dropped; median/p99 = end-to-end latency (oldest input to scene; processing \
         alone p50 {:.1} / p99 {:.1} ms); target every sweep at 10 Hz: {}, p99 <= 100 ms: {}",
        ctx.threads,
        proc["p50"].as_f64().unwrap_or(f64::NAN),
        proc["p99"].as_f64().unwrap_or(f64::NAN),
        if kept_up { "met" } else { "NOT met" },
        if p99 <= 100.0 { "met" } else { "NOT met" }
    )))
}

/// Runs a child to completion, sampling its peak RSS (VmHWM) until it exits.
fn run_with_peak_rss(mut cmd: Command) -> Result<(std::process::Output, f64)> {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
    let pid = child.id();
    let mut peak = 0.0f64;
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let out_t = std::thread::spawn(move || {
        let mut b = Vec::new();
        if let Some(mut s) = stdout {
            let _ = std::io::Read::read_to_end(&mut s, &mut b);
        }
        b
    });
    let err_t = std::thread::spawn(move || {
        let mut b = Vec::new();
        if let Some(mut s) = stderr {
            let _ = std::io::Read::read_to_end(&mut s, &mut b);
        }
        b
    });
    let status = loop {
        if let Some(h) = status_mib(pid, "VmHWM:") {
            peak = peak.max(h);
        }
        if let Some(st) = child.try_wait()? {
            break st;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = out_t.join().unwrap_or_default();
    let stderr = err_t.join().unwrap_or_default();
    Ok((
        std::process::Output {
            status,
            stdout,
            stderr,
        },
        peak,
    ))
}

/// One `sensorium replay --fast` of the bench bag with the int8 models on `backend`: its end-to-end
/// stats, frame sets, wall seconds and peak RSS.
/// `sensorium replay --fast` with `engine.stages` = `stages` (`inline`: per-set latency, comparable with
/// the sequential Python node; `pipelined`: stage threads, throughput).
fn replay_once(ctx: &Ctx, backend: &str, stages: &str) -> Result<(Stats, f64, f64, f64)> {
    let summary = ctx.work.join(format!("replay-summary-{backend}-{stages}.json"));
    let mut cmd = Command::new(&ctx.opts.exe);
    cmd.env("SENSORIUM__ENGINE__STAGES", stages);
    cmd.arg("replay")
        .arg(&ctx.opts.bag)
        .args([
            "--fast",
            "--quiet",
            "--variant",
            "int8",
            "--backend",
            backend,
            "--threads",
        ])
        .arg(s(ctx.threads))
        .arg("--models")
        .arg(&ctx.opts.models)
        .arg("--summary-json")
        .arg(&summary);
    let (out, peak_mb) = run_with_peak_rss(cmd)?;
    if !out.status.success() {
        bail!(
            "sensorium replay --backend {backend} failed: {}",
            String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or("")
        );
    }
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&summary)?)?;
    let e2e = &v["end_to_end_ms"];
    let frames = v["framesets_fused"].as_f64().unwrap_or(0.0);
    let wall = v["wall_s"].as_f64().unwrap_or(f64::NAN);
    if frames < 1.0 {
        bail!("replay --backend {backend} fused no frame set");
    }
    let ours = Stats {
        median_ms: e2e["p50"].as_f64().unwrap_or(f64::NAN),
        p99_ms: e2e["p99"].as_f64().unwrap_or(f64::NAN),
        iters: frames as usize,
    };
    Ok((ours, frames, wall, peak_mb))
}

fn end_to_end(ctx: &Ctx) -> Result<Vec<Row>> {
    let (ours, frames, wall, peak_mb) = replay_once(ctx, "tract", "inline")?;
    // the stage threads (replay's default with --fast): wall time per frame set, i.e. throughput
    let piped = replay_once(ctx, "tract", "pipelined").map(|(st, frames, wall, _)| {
        Row::new("end_to_end_replay_int8_pipelined")
            .ours(Stats {
                median_ms: wall * 1e3 / frames.max(1.0),
                p99_ms: st.p99_ms,
                iters: st.iters,
            })
            .throughput(frames / wall, "frame sets/s")
            .note(format!(
                "same as end_to_end_replay_int8 on the camera/LiDAR/fusion stage threads (engine.stages = pipelined, \
                 encoders with threads / 3 each): median = wall time per frame set (1 / throughput), p99 = one set's \
                 latency through the stages; {frames:.0} frame sets"
            ))
    });
    let bag_name = ctx
        .opts
        .bag
        .file_name()
        .map(|f| f.to_string_lossy().to_string())
        .unwrap_or_default();
    let row = Row::new("end_to_end_replay_int8")
        .ours(ours)
        .throughput(frames / wall, "frame sets/s")
        .note(format!(
            "sensorium replay {bag_name} --fast --backend tract, stages inline, {frames:.0} frame sets (decode → sync → \
             encoders → fusion → scene), {} threads",
            ctx.threads
        ));
    let ort_row = replay_once(ctx, "onnxruntime", "inline").map(|(st, frames, wall, _)| {
        Row::new("end_to_end_replay_int8_onnxruntime")
            .ours(st)
            .throughput(frames / wall, "frame sets/s")
            .note(format!(
                "sensorium replay {bag_name} --fast --backend onnxruntime (same engine as the peer: the ratio is \
                 the pipeline around it), {frames:.0} frame sets, {} threads",
                ctx.threads
            ))
    });
    let peer = peer_or_missing(ctx, "baseline").and_then(|_| {
        ctx.peers.run(
            Interp::Ros,
            "baseline_node.py",
            &[
                s(ctx.opts.bag.display()),
                s(ctx.opts.models.display()),
                s("int8"),
                s(ctx.threads),
            ],
        )
    });
    let mut rows = Vec::new();
    let (row, py_rss) = match peer {
        Ok(v) => {
            let (m, p) = med_p99(&v)?;
            (
                row.peer(
                    "Python node: rosbag + numpy (recipe preprocessing) + onnxruntime",
                    m,
                    Some(p),
                )
                .note(format!(
                    "python: {:.0} frame sets at {:.2}/s",
                    v["frames"].as_f64().unwrap_or(0.0),
                    v["fps"].as_f64().unwrap_or(0.0)
                )),
                v["peak_rss_mb"].as_f64(),
            )
        }
        Err(e) => (row.no_peer(format!("Python baseline node failed: {e:#}")), None),
    };
    let peer_ms = row.peer_median_ms.zip(row.peer_p99_ms);
    rows.push(row);
    rows.push(match (piped, peer_ms) {
        (Ok(r), Some((m, p))) => r.peer(
            "Python node: rosbag + numpy (recipe preprocessing) + onnxruntime",
            m,
            Some(p),
        ),
        (Ok(r), None) => r.no_peer("the Python baseline node failed (see end_to_end_replay_int8)"),
        (Err(e), _) => Row::new("end_to_end_replay_int8_pipelined").note(format!("failed: {e:#}")),
    });
    rows.push(match (ort_row, peer_ms) {
        (Ok(r), Some((m, p))) => r.peer(
            "Python node: rosbag + numpy (recipe preprocessing) + onnxruntime",
            m,
            Some(p),
        ),
        (Ok(r), None) => r.no_peer("the Python baseline node failed (see end_to_end_replay_int8)"),
        (Err(e), _) => Row::new("end_to_end_replay_int8_onnxruntime").note(format!("failed: {e:#}")),
    });
    let mut mem = Row::new("peak_rss_replay_mb")
        .throughput(peak_mb, "MB peak RSS")
        .note(format!("sensorium replay of {bag_name} (VmHWM)"));
    match py_rss {
        Some(p) if p > 0.0 => {
            mem.peer = Some("Python node peak RSS (ru_maxrss), same bag and models".into());
            mem.ratio = Some(peak_mb / p);
            mem = mem.note(format!("python {p:.0} MB; ratio is of peak RSS"));
        }
        _ => mem = mem.no_peer("the Python node did not run"),
    }
    rows.push(mem);
    Ok(rows)
}

fn node_soak(ctx: &Ctx) -> Result<Vec<Row>> {
    let soak_s = ctx.opts.soak_s.unwrap_or(if ctx.opts.quick { 30 } else { 600 });
    let name = format!("node_soak_rss_{soak_s}s");
    if soak_s == 0 {
        return Ok(vec![Row::new(name).no_peer("soak skipped (--soak-seconds 0)")]);
    }
    if !RosMaster::available() {
        return Ok(vec![
            Row::new(name).no_peer("roscore not installed (Debian's ros-core)")
        ]);
    }
    let home = ctx.work.join("ros");
    let ros = RosMaster::start(&home, Duration::from_secs(60)).context("starting roscore")?;
    let mut node = ros.command(&ctx.opts.exe);
    let node = Killed::new(
        node.arg("node")
            .args(["--models"])
            .arg(&ctx.opts.models)
            .args(["--variant", "int8", "--threads"])
            .arg(s(ctx.threads))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(home.join("node.log"))?)
            .spawn()
            .context("starting sensorium node")?,
        "sensorium node",
    );
    let mut play = ros.command("rosbag");
    let _play = Killed::new(
        play.args(["play", "-l", "-q", "-d", "3"])
            .arg(&ctx.opts.bag)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting rosbag play")?,
        "rosbag play",
    );
    let pid = node.id();
    let warm = Duration::from_secs(10.min(soak_s / 3));
    std::thread::sleep(warm);
    let (cpu0, rss0) = (
        cpu_seconds(pid).unwrap_or(0.0),
        status_mib(pid, "VmRSS:").unwrap_or(0.0),
    );
    let mut samples = Vec::new();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(soak_s) {
        std::thread::sleep(Duration::from_secs(1));
        match status_mib(pid, "VmRSS:") {
            Some(r) => samples.push(r),
            None => bail!(
                "the node exited during the soak (see {})",
                home.join("node.log").display()
            ),
        }
    }
    let cpu = cpu_seconds(pid).unwrap_or(0.0) - cpu0;
    let peak = status_mib(pid, "VmHWM:").unwrap_or(f64::NAN);
    let n = samples.len().max(1);
    let tail = n.div_ceil(10);
    let first: f64 = samples.iter().take(tail).sum::<f64>() / tail as f64;
    let last: f64 = samples.iter().rev().take(tail).sum::<f64>() / tail as f64;
    let growth = (last - first) / first.max(1e-9) * 100.0;
    if cpu < 0.5 {
        bail!("the node used {cpu:.2} s of CPU during the soak: it processed nothing");
    }
    Ok(vec![Row::new(name)
        .throughput(peak, "MB peak RSS")
        .no_peer(format!(
            "soak of the ROS node itself; rosbag play -l of the sample; RSS after warm-up {rss0:.0} MB, first 10% \
             {first:.0} MB, last 10% {last:.0} MB ({growth:+.1}%), node CPU {cpu:.0} s"
        ))])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bench_cloud_decodes_to_the_finite_points() {
        let payload = xyzi_cloud_payload(1000);
        let soa = decode_cloud(&payload).unwrap();
        // every 97th point has x = NaN and is dropped
        assert_eq!(soa.len(), 1000 - 1000usize.div_ceil(97));
        assert!(soa.x.iter().all(|x| x.is_finite()));
    }

    #[test]
    fn pcd_header_and_size_match_the_cloud() {
        let mut c = PointsSoA::default();
        c.push(1.0, 2.0, 3.0, 4.0);
        c.push(5.0, 6.0, 7.0, 8.0);
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("c.pcd");
        let t = [1.0, 0.0, 0.0, 10.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0];
        write_pcd(&p, &c, &t).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains("POINTS 2\nDATA binary\n"));
        let body = &bytes[bytes.len() - 32..];
        assert_eq!(f32::from_le_bytes(body[0..4].try_into().unwrap()), 11.0);
        assert_eq!(f32::from_le_bytes(body[28..32].try_into().unwrap()), 8.0);
    }
}
