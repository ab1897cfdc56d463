//! The engine and the whole pipeline: engine overhead and sync against message_filters, the simulator, end to end and at sensor rate against a Python node, the node soak.

use super::*;

pub(super) fn engine(ctx: &Ctx) -> Result<Vec<Row>> {
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
pub(super) fn python_sync_cost(
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

pub(super) fn sim_frame_set(ctx: &Ctx) -> Result<Vec<Row>> {
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
pub(super) fn full_pipeline_10hz(ctx: &Ctx) -> Result<Vec<Row>> {
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
pub(super) fn replay_at_rate(
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
pub(super) fn run_with_peak_rss(mut cmd: Command) -> Result<(std::process::Output, f64)> {
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
pub(super) fn replay_once(ctx: &Ctx, backend: &str, stages: &str) -> Result<(Stats, f64, f64, f64)> {
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

pub(super) fn end_to_end(ctx: &Ctx) -> Result<Vec<Row>> {
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

pub(super) fn node_soak(ctx: &Ctx) -> Result<Vec<Row>> {
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
