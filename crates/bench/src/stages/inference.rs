//! The encoders (fp32/int8, 1 and N threads, tract and onnxruntime) against onnxruntime, and the machine's gemm peak.

use super::*;

pub(super) fn load_models(ctx: &Ctx) -> Result<Models> {
    Models::load(
        &ctx.opts.models,
        &sensorium_pipeline::models::Selection {
            backend: Some(sensorium_infer::Backend::Tract),
            ..sensorium_pipeline::models::Selection::new(Some("int8"), 1)
        },
    )
}

pub(super) const ENCODERS: [&str; 4] = ["image_encoder", "point_encoder", "text_encoder", "fusion"];

pub(super) fn encoders(ctx: &Ctx) -> Result<Vec<Row>> {
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

pub(super) fn encoder_row(
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
