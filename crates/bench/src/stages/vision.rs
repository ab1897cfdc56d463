//! Camera and geometry: JPEG decoding and preprocessing against OpenCV, projection against `cv2.projectPoints`, pillars and painting against PCL.

use super::*;

pub(super) fn jpeg_decode(ctx: &Ctx) -> Result<Vec<Row>> {
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

pub(super) fn image_preprocess(ctx: &Ctx) -> Result<Vec<Row>> {
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

pub(super) const KITTI_D: [f64; 5] = [-0.05, 0.01, 0.001, -0.001, 0.0005];

pub(super) fn projection(ctx: &Ctx) -> Result<Vec<Row>> {
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

/// Azimuth step of the 64-beam LiDAR in the ≈ 120 k-point benches (pillarize_paint, full_pipeline_10hz):
/// ~124k points a sweep, against ~111k at the simulator's default 0.2°.
pub(super) const AZIMUTH_RES_120K_DEG: f64 = 0.18;

pub(super) fn pillarize_paint(ctx: &Ctx) -> Result<Vec<Row>> {
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
pub(super) fn write_pcd(path: &Path, c: &PointsSoA, t: &[f64; 12]) -> Result<()> {
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
