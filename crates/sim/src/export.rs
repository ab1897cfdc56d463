//! `--export-training DIR`: the same scenes as arrays for the Python recipe (format: crates/sim/README.md).

use crate::config::SimConfig;
use crate::error::SimError;
use crate::npy::{f32_bytes, npy_bytes, Dtype};
use crate::truth::{map_text_json, GridSpec, GRID_COLS, GRID_ROWS};
use crate::world::CLASS_NAMES;
use crate::Simulator;
use serde_json::json;
use std::path::Path;

/// What an export wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportReport {
    pub frames: u32,
    pub points: u64,
    pub boxes: u64,
    pub bytes: u64,
}

fn write(path: &Path, data: &[u8], bytes: &mut u64) -> Result<(), SimError> {
    std::fs::write(path, data).map_err(|e| SimError::io(path, e))?;
    *bytes += data.len() as u64;
    Ok(())
}

/// Encodes an RGB8 buffer as PNG.
pub fn png_bytes(width: u32, height: u32, rgb: &[u8]) -> Result<Vec<u8>, SimError> {
    let mut out = Vec::new();
    let enc = image::codecs::png::PngEncoder::new(&mut out);
    image::ImageEncoder::write_image(enc, rgb, width, height, image::ExtendedColorType::Rgb8).map_err(
        |e| SimError::Encode {
            what: "PNG".into(),
            detail: e.to_string(),
        },
    )?;
    Ok(out)
}

/// Writes `frames` frame sets (LiDAR sweeps with the camera at the same instant) under `dir`.
pub fn export_training(
    cfg: &SimConfig,
    frames: u32,
    seed: u64,
    dir: &Path,
) -> Result<ExportReport, SimError> {
    let mut sim = Simulator::new(cfg, seed, frames)?;
    std::fs::create_dir_all(dir.join("frames")).map_err(|e| SimError::io(dir, e))?;
    let mut rep = ExportReport {
        frames: 0,
        points: 0,
        boxes: 0,
        bytes: 0,
    };
    let cam = &sim.renderer.cam;
    let meta = json!({
        "camera": {
            "width": cam.width, "height": cam.height, "K": cam.k(), "D": cam.d,
            "distortion_model": "plumb_bob",
        },
        "T_base_lidar": sim.t_base_lidar().to_matrix(),
        "T_optical_lidar": sim.t_optical_lidar().to_matrix(),
        "classes": CLASS_NAMES,
        "grid": GridSpec::default(),
        "frames": frames,
        "seed": seed,
        "lidar": {"beams": cfg.lidar.beams, "rate_hz": cfg.lidar.rate_hz},
        "frame_ids": {"base": cfg.frames.base, "lidar": cfg.frames.lidar, "camera_optical": cfg.frames.camera_optical},
    });
    let meta_text = serde_json::to_string_pretty(&meta).map_err(|e| SimError::Encode {
        what: "meta.json".into(),
        detail: e.to_string(),
    })?;
    write(&dir.join("meta.json"), meta_text.as_bytes(), &mut rep.bytes)?;
    let t0 = cfg.timing.start_time;
    for i in 0..frames {
        let stamp = t0 + sim.sweep_time(i);
        let fs = sim.frame_set(i, stamp);
        let fdir = dir.join("frames").join(format!("{i:06}"));
        std::fs::create_dir_all(&fdir).map_err(|e| SimError::io(&fdir, e))?;
        write(
            &fdir.join("image.png"),
            &png_bytes(fs.image.width, fs.image.height, &fs.image.rgb)?,
            &mut rep.bytes,
        )?;
        let p = &fs.sweep.points;
        let ring = p.ring.as_deref().unwrap_or(&[]);
        let mut flat = Vec::with_capacity(p.len() * 5);
        for k in 0..p.len() {
            flat.extend_from_slice(&[
                p.x[k],
                p.y[k],
                p.z[k],
                p.intensity[k],
                f32::from(ring.get(k).copied().unwrap_or(0)),
            ]);
        }
        write(
            &fdir.join("points.npy"),
            &npy_bytes(Dtype::F32, &[p.len(), 5], &f32_bytes(&flat)),
            &mut rep.bytes,
        )?;
        write(
            &fdir.join("occupancy.npy"),
            &npy_bytes(Dtype::U8, &[GRID_ROWS, GRID_COLS], &fs.truth.occupancy),
            &mut rep.bytes,
        )?;
        write(
            &fdir.join("class.npy"),
            &npy_bytes(Dtype::U8, &[GRID_ROWS, GRID_COLS], &fs.truth.class_grid),
            &mut rep.bytes,
        )?;
        let boxes = serde_json::to_string(
            &json!({"stamp": stamp, "frame_id": cfg.frames.base, "boxes": fs.truth.boxes}),
        )
        .map_err(|e| SimError::Encode {
            what: "boxes.json".into(),
            detail: e.to_string(),
        })?;
        write(&fdir.join("boxes.json"), boxes.as_bytes(), &mut rep.bytes)?;
        write(
            &fdir.join("caption.txt"),
            format!("{}\n", fs.truth.caption).as_bytes(),
            &mut rep.bytes,
        )?;
        write(
            &fdir.join("map_text.json"),
            map_text_json(&fs.map_text).as_bytes(),
            &mut rep.bytes,
        )?;
        rep.frames += 1;
        rep.points += p.len() as u64;
        rep.boxes += fs.truth.boxes.len() as u64;
    }
    Ok(rep)
}
