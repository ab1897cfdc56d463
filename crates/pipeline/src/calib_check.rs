//! `sensorium calib check`: per-frame calibration health over a recording.
//!
//! For every LiDAR sweep with a camera image close in time:
//! - the fraction of points landing in the image (a bumped LiDAR moves it);
//! - alignment by mutual information (Pandey et al., "Automatic targetless extrinsic calibration of a 3D
//!   lidar and camera by maximizing mutual information", AAAI 2012): with a right calibration, the
//!   intensity of each point and the grey level of the pixel it projects to are most dependent. The MI
//!   (16×16 equalised bins) is computed for every image shift (du, dv) in ±[`SEARCH_PX`]; the shift where
//!   it peaks is the frame's `offset_px` (about (0, 0) on a calibrated rig; a 2° yaw bump at fx = 450
//!   reads ≈ 16 px), `alignment` = MI at zero shift / peak MI;
//! - an edge score: local-contrast image edges under the points where depth jumps along a ring.
//!
//! A frame is flagged when its fraction moves by more than `threshold` from the running median of the
//! last 10 frames, or its MI offset jumps by more than [`OFFSET_JUMP_PX`] from the running median offset
//! with the zero-shift MI below [`MIN_ALIGNMENT`] of the peak:
//! a sudden change is a bumped sensor; a constant offset is a calibration to redo (printed, not flagged).

use crate::streams::{decode, Decoded, TopicMap};
use anyhow::{anyhow, Result};
use sensorium_bag::{ReadOptions, Recording};
use sensorium_core::{PointsSoA, RgbImage, Stamp};
use sensorium_geometry::{projection_stats, VehicleCalib};
use serde::Serialize;
use std::collections::VecDeque;
use std::path::Path;

/// Largest image shift searched (pixels, each axis).
pub const SEARCH_PX: i32 = 24;
/// Step of the shift search (pixels).
const SEARCH_STEP: i32 = 2;
/// Box-filter radius applied to the edge image (pixels).
const SMOOTH_PX: usize = 3;
/// Radius of the window the edge strength is normalised by (pixels).
const NORM_PX: usize = 24;
/// An offset jump flags a frame only when shifting gains this much MI (zero-shift MI / best below it):
/// on real frames (KITTI) the peak wanders by a few pixels with alignment 0.89–0.98, a bumped camera
/// in the simulator drops to 0.55–0.69.
const MIN_ALIGNMENT: f64 = 0.85;
/// Fewest in-image points the alignment is measured on.
const MIN_POINTS: usize = 50;
/// A change of the best offset by more than this from the running median flags the frame (pixels).
pub const OFFSET_JUMP_PX: f64 = 6.0;

/// One frame's figures.
#[derive(Debug, Clone, Serialize)]
pub struct FrameCheck {
    pub stamp: f64,
    pub points: usize,
    pub fraction_in_image: f64,
    /// Mean local-contrast edge strength under depth-discontinuity points / mean of the image.
    pub edge_score: f64,
    /// Mutual information (nats) of point intensity and image grey level at the calibrated projection.
    pub mi: f64,
    /// `mi` / the best MI over image shifts within ±24 px (1 = the calibration is the best fit).
    pub alignment: f64,
    /// The image shift (u, v) in pixels with the best MI: where the image content sits relative to
    /// where the calibration projects the points.
    pub offset_px: [f64; 2],
    pub flagged: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Sobel gradient magnitude of the grey image, box-filtered with radius [`SMOOTH_PX`].
fn edges(img: &RgbImage) -> Vec<f32> {
    let (w, h) = (img.width as usize, img.height as usize);
    let mut out = vec![0.0f32; w * h];
    if w < 3 || h < 3 || img.data.len() < w * h * 3 {
        return out;
    }
    let grey: Vec<f32> = img
        .data
        .chunks_exact(3)
        .map(|p| 0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2]))
        .collect();
    for y in 1..h - 1 {
        for x in 1..w - 1 {
            let g = |dx: isize, dy: isize| grey[(y as isize + dy) as usize * w + (x as isize + dx) as usize];
            let gx = g(1, -1) + 2.0 * g(1, 0) + g(1, 1) - g(-1, -1) - 2.0 * g(-1, 0) - g(-1, 1);
            let gy = g(-1, 1) + 2.0 * g(0, 1) + g(1, 1) - g(-1, -1) - 2.0 * g(0, -1) - g(1, -1);
            out[y * w + x] = (gx * gx + gy * gy).sqrt();
        }
    }
    // local contrast: edges relative to the mean edge strength around them, so that textured
    // regions (facades, foliage) do not pull the alignment towards them
    let mut local = out.clone();
    box_filter(&mut local, w, h, NORM_PX);
    let global = local.iter().map(|v| f64::from(*v)).sum::<f64>() as f32 / local.len().max(1) as f32;
    box_filter(&mut out, w, h, SMOOTH_PX);
    for (e, l) in out.iter_mut().zip(&local) {
        *e /= l + 0.25 * global + 1e-6;
    }
    out
}

/// In-place separable box filter (mean over a (2r+1)² window, clamped at the borders).
fn box_filter(v: &mut [f32], w: usize, h: usize, r: usize) {
    let mut line = Vec::new();
    let run = |get: &dyn Fn(usize) -> f32, n: usize, line: &mut Vec<f32>| {
        line.clear();
        let mut acc = 0.0f64;
        let mut prefix = Vec::with_capacity(n + 1);
        prefix.push(0.0f64);
        for i in 0..n {
            acc += f64::from(get(i));
            prefix.push(acc);
        }
        for i in 0..n {
            let (a, b) = (i.saturating_sub(r), (i + r + 1).min(n));
            line.push(((prefix[b] - prefix[a]) / (b - a) as f64) as f32);
        }
    };
    for y in 0..h {
        let row: Vec<f32> = v[y * w..(y + 1) * w].to_vec();
        run(&|i| row[i], w, &mut line);
        v[y * w..(y + 1) * w].copy_from_slice(&line);
    }
    for x in 0..w {
        let col: Vec<f32> = (0..h).map(|y| v[y * w + x]).collect();
        run(&|i| col[i], h, &mut line);
        for (y, val) in line.iter().enumerate() {
            v[y * w + x] = *val;
        }
    }
}

/// Edge score of one frame: the mean local-contrast edge strength under the points where LiDAR depth
/// jumps along a ring (object outlines), relative to the image mean; 0 when no depth edge is in view.
pub fn edge_score(img: &RgbImage, cloud: &PointsSoA, uvd: &[(f64, f64, f64)]) -> f64 {
    let e = edges(img);
    let (w, h) = (img.width as usize, img.height as usize);
    let mean_all = e.iter().map(|v| f64::from(*v)).sum::<f64>() / e.len().max(1) as f64;
    let range =
        |i: usize| (cloud.x[i] * cloud.x[i] + cloud.y[i] * cloud.y[i] + cloud.z[i] * cloud.z[i]).sqrt();
    let (mut sum, mut n) = (0.0f64, 0usize);
    let mut last_of_ring: std::collections::HashMap<u16, (f32, Option<usize>)> =
        std::collections::HashMap::new();
    for (i, &(u, v, _)) in uvd.iter().enumerate().take(cloud.len()) {
        let ring = cloud.ring.as_ref().and_then(|r| r.get(i).copied()).unwrap_or(0);
        let r_i = range(i);
        let here =
            (u >= 0.0 && v >= 0.0 && u < w as f64 && v < h as f64).then(|| v as usize * w + u as usize);
        if let Some((r_p, at_p)) = last_of_ring.insert(ring, (r_i, here)) {
            if (r_i - r_p).abs() > 0.5 {
                // the nearer side of the jump is the object's outline
                if let Some(at) = if r_i < r_p { here } else { at_p } {
                    sum += f64::from(e[at]);
                    n += 1;
                }
            }
        }
    }
    if n == 0 || mean_all <= 0.0 {
        0.0
    } else {
        sum / n as f64 / mean_all
    }
}

/// Alignment of one frame by mutual information (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Alignment {
    /// Mutual information (nats) between point intensity and image grey level at zero shift.
    pub mi: f64,
    /// MI at zero shift / best MI over the search window (1 = the calibration is the best fit).
    pub alignment: f64,
    /// The image shift (u, v) in pixels with the highest MI.
    pub offset_px: [f64; 2],
    /// Points in the image (what the MI is measured on).
    pub points: usize,
}

/// Mutual information between LiDAR intensity and image grey level at the projected points, for every
/// image shift in ±[`SEARCH_PX`] (step [`SEARCH_STEP`]): the shift where it peaks is the frame's offset.
pub fn mi_alignment(img: &RgbImage, cloud: &PointsSoA, uvd: &[(f64, f64, f64)]) -> Alignment {
    const B: usize = 16;
    let none = |points| Alignment {
        mi: 0.0,
        alignment: 1.0,
        offset_px: [0.0, 0.0],
        points,
    };
    let (w, h) = (img.width as i32, img.height as i32);
    if w < 1 || h < 1 || img.data.len() < (w * h * 3) as usize {
        return none(0);
    }
    // grey level, equalised into B equally populated bins
    let grey: Vec<u8> = img
        .data
        .chunks_exact(3)
        .map(|p| ((299 * u32::from(p[0]) + 587 * u32::from(p[1]) + 114 * u32::from(p[2])) / 1000) as u8)
        .collect();
    let mut hist = [0usize; 256];
    for g in &grey {
        hist[*g as usize] += 1;
    }
    let mut lut = [0u8; 256];
    let mut acc = 0usize;
    for (i, c) in hist.iter().enumerate() {
        lut[i] = ((acc + c / 2) * B / grey.len().max(1)).min(B - 1) as u8;
        acc += c;
    }
    let gbin: Vec<u8> = grey.iter().map(|g| lut[*g as usize]).collect();
    // intensity of the in-image points, equalised the same way (by rank): any intensity unit works
    let mut pts: Vec<(i32, i32, f32)> = Vec::new();
    for (i, &(u, v, _)) in uvd.iter().enumerate().take(cloud.len()) {
        if u >= 0.0 && v >= 0.0 && u < f64::from(w) && v < f64::from(h) {
            pts.push((u as i32, v as i32, cloud.intensity.get(i).copied().unwrap_or(0.0)));
        }
    }
    if pts.len() < MIN_POINTS {
        return none(pts.len());
    }
    let mut sorted: Vec<f32> = pts.iter().map(|p| p.2).collect();
    sorted.sort_by(f32::total_cmp);
    let cuts: Vec<f32> = (1..B).map(|k| sorted[k * sorted.len() / B]).collect();
    let ibin: Vec<u8> = pts
        .iter()
        .map(|p| cuts.partition_point(|c| *c <= p.2) as u8)
        .collect();
    let mi = |du: i32, dv: i32| -> f64 {
        let mut joint = [[0u32; B]; B];
        let mut n = 0usize;
        for (p, ib) in pts.iter().zip(&ibin) {
            let (x, y) = (p.0 + du, p.1 + dv);
            if x >= 0 && y >= 0 && x < w && y < h {
                joint[*ib as usize][gbin[(y * w + x) as usize] as usize] += 1;
                n += 1;
            }
        }
        if n * 2 < pts.len() {
            return 0.0; // shifted mostly out of the image
        }
        let n = n as f64;
        let (mut pi, mut pg) = ([0.0f64; B], [0.0f64; B]);
        for (a, row) in joint.iter().enumerate() {
            for (b, c) in row.iter().enumerate() {
                let c = f64::from(*c) / n;
                pi[a] += c;
                pg[b] += c;
            }
        }
        let mut m = 0.0;
        for (a, row) in joint.iter().enumerate() {
            for (b, c) in row.iter().enumerate() {
                let c = f64::from(*c) / n;
                if c > 0.0 {
                    m += c * (c / (pi[a] * pg[b])).ln();
                }
            }
        }
        m
    };
    let zero = mi(0, 0);
    let (mut best, mut at) = (zero, (0, 0));
    let mut dv = -SEARCH_PX;
    while dv <= SEARCH_PX {
        let mut du = -SEARCH_PX;
        while du <= SEARCH_PX {
            let r = mi(du, dv);
            // strictly better by a margin: a flat landscape reads as "no offset"
            if r > best * 1.0001 {
                best = r;
                at = (du, dv);
            }
            du += SEARCH_STEP;
        }
        dv += SEARCH_STEP;
    }
    Alignment {
        mi: zero,
        alignment: if best > 0.0 { zero / best } else { 1.0 },
        offset_px: [f64::from(at.0), f64::from(at.1)],
        points: pts.len(),
    }
}

fn median(v: &VecDeque<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let mut s: Vec<f64> = v.iter().copied().collect();
    s.sort_by(f64::total_cmp);
    Some(s[s.len() / 2])
}

/// Checks every sweep of `bag` against `calib`; `threshold` is the allowed absolute change of the
/// in-image fraction against the running median of the last 10 frames.
pub fn check_bag(
    bag: &Path,
    topics: &TopicMap,
    calib: &VehicleCalib,
    threshold: f64,
    mut each: impl FnMut(&FrameCheck),
) -> Result<Vec<FrameCheck>> {
    let reader = Recording::open(bag).map_err(|e| anyhow!("{}: {e}", bag.display()))?;
    let cam = calib.camera(None)?;
    let projector = calib.projector(cam)?;
    let ro = ReadOptions::topics([
        topics.camera.clone(),
        topics.camera_compressed.clone(),
        topics.lidar.clone(),
    ]);
    let mut images: VecDeque<RgbImage> = VecDeque::new();
    let mut pending: VecDeque<PointsSoA> = VecDeque::new();
    let mut out = Vec::new();
    let (mut fractions, mut offsets_u, mut offsets_v) = (VecDeque::new(), VecDeque::new(), VecDeque::new());
    let mut uvd = Vec::new();
    let mut check = |cloud: &PointsSoA, img: &RgbImage, out: &mut Vec<FrameCheck>| {
        projector.project_into(cloud, &mut uvd);
        let stats = projection_stats(&uvd, img.width, img.height);
        let al = mi_alignment(img, cloud, &uvd);
        let score = edge_score(img, cloud, &uvd);
        let mut reason = None;
        if let Some(med) = median(&fractions) {
            if (stats.fraction_in_image - med).abs() > threshold {
                reason = Some(format!(
                    "in-image fraction {:.3} vs running median {med:.3}",
                    stats.fraction_in_image
                ));
            }
        }
        if let (Some(mu), Some(mv)) = (median(&offsets_u), median(&offsets_v)) {
            let jump = ((al.offset_px[0] - mu).powi(2) + (al.offset_px[1] - mv).powi(2)).sqrt();
            if jump > OFFSET_JUMP_PX && al.alignment < MIN_ALIGNMENT && al.points >= MIN_POINTS {
                let r = format!(
                    "image content moved to ({:+.0}, {:+.0}) px from the projection, running median offset ({mu:+.0}, {mv:+.0}); alignment {:.2}",
                    al.offset_px[0], al.offset_px[1], al.alignment
                );
                reason = Some(match reason {
                    Some(prev) => format!("{prev}; {r}"),
                    None => r,
                });
            }
        }
        let fc = FrameCheck {
            stamp: cloud.stamp.as_secs_f64(),
            points: stats.points_total,
            fraction_in_image: stats.fraction_in_image,
            edge_score: score,
            mi: al.mi,
            alignment: al.alignment,
            offset_px: al.offset_px,
            flagged: reason.is_some(),
            reason,
        };
        each(&fc);
        for (q, v) in [
            (&mut fractions, fc.fraction_in_image),
            (&mut offsets_u, fc.offset_px[0]),
            (&mut offsets_v, fc.offset_px[1]),
        ] {
            if q.len() >= 10 {
                q.pop_front();
            }
            q.push_back(v);
        }
        out.push(fc);
    };
    // the image closest in time to a cloud, if within 100 ms
    let closest = |images: &VecDeque<RgbImage>, s: Stamp| -> Option<usize> {
        let (i, d) = images
            .iter()
            .enumerate()
            .map(|(i, im)| (i, s.diff_nanos(im.stamp).abs()))
            .min_by_key(|x| x.1)?;
        (d < 100_000_000).then_some(i)
    };
    for m in reader.messages(&ro) {
        let m = m?;
        let Some(role) = topics.role_of(m.topic()) else {
            continue;
        };
        let decoded = match decode(role, m.topic(), &m.conn.datatype, &m.data) {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!("{e}");
                continue;
            }
        };
        match decoded {
            Decoded::Camera(img) => {
                let newest = img.stamp;
                if images.len() >= 4 {
                    images.pop_front();
                }
                images.push_back(img);
                // clouds older than this image can no longer get a closer one
                while pending.front().is_some_and(|c| c.stamp <= newest) {
                    if let Some(c) = pending.pop_front() {
                        if let Some(i) = closest(&images, c.stamp) {
                            check(&c, &images[i], &mut out);
                        }
                    }
                }
            }
            Decoded::Lidar(cloud) => {
                if pending.len() >= 4 {
                    pending.pop_front();
                }
                pending.push_back(cloud);
            }
            _ => {}
        }
    }
    for c in pending {
        if let Some(i) = closest(&images, c.stamp) {
            check(&c, &images[i], &mut out);
        }
    }
    Ok(out)
}
