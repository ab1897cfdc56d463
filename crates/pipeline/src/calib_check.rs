//! `sensorium calib check`: per-frame calibration health over a recording.
//!
//! For every LiDAR sweep with a camera image close in time: the fraction of points landing in the
//! image, and an edge-alignment score — how strongly image edges (Sobel magnitude) sit under the
//! points where LiDAR depth jumps, relative to the image's mean edge strength. A bumped sensor shows
//! as a sudden change of the fraction or a drop of the edge score against the running median.

use crate::streams::{decode, Decoded, TopicMap};
use anyhow::{anyhow, Result};
use sensorium_bag::{BagReader, ReadOptions};
use sensorium_core::{PointsSoA, RgbImage, Stamp};
use sensorium_geometry::{projection_stats, VehicleCalib};
use serde::Serialize;
use std::collections::VecDeque;
use std::path::Path;

/// One frame's figures.
#[derive(Debug, Clone, Serialize)]
pub struct FrameCheck {
    pub stamp: f64,
    pub points: usize,
    pub fraction_in_image: f64,
    /// Mean edge strength under depth-discontinuity points / mean edge strength of the image.
    pub edge_score: f64,
    pub flagged: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Sobel gradient magnitude of the grey image.
fn edges(img: &RgbImage) -> Vec<f32> {
    let (w, h) = (img.width as usize, img.height as usize);
    let grey: Vec<f32> = img
        .data
        .chunks_exact(3)
        .map(|p| 0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2]))
        .collect();
    let mut out = vec![0.0f32; w * h];
    if w < 3 || h < 3 || grey.len() < w * h {
        return out;
    }
    for y in 1..h - 1 {
        for x in 1..w - 1 {
            let g = |dx: isize, dy: isize| grey[(y as isize + dy) as usize * w + (x as isize + dx) as usize];
            let gx = g(1, -1) + 2.0 * g(1, 0) + g(1, 1) - g(-1, -1) - 2.0 * g(-1, 0) - g(-1, 1);
            let gy = g(-1, 1) + 2.0 * g(0, 1) + g(1, 1) - g(-1, -1) - 2.0 * g(0, -1) - g(1, -1);
            out[y * w + x] = (gx * gx + gy * gy).sqrt();
        }
    }
    out
}

/// Edge score of one frame (see the module docs); 0 when there are no discontinuities in view.
pub fn edge_score(img: &RgbImage, cloud: &PointsSoA, uvd: &[(f64, f64, f64)]) -> f64 {
    let e = edges(img);
    let mean_all = e.iter().map(|v| f64::from(*v)).sum::<f64>() / e.len().max(1) as f64;
    let (w, h) = (img.width as f64, img.height as f64);
    let range =
        |i: usize| (cloud.x[i] * cloud.x[i] + cloud.y[i] * cloud.y[i] + cloud.z[i] * cloud.z[i]).sqrt();
    let (mut sum, mut n) = (0.0, 0usize);
    // previous point of the same laser ring (or simply the previous point without a ring field)
    let mut last_of_ring: std::collections::HashMap<u16, f32> = std::collections::HashMap::new();
    for (i, &(u, v, _)) in uvd.iter().enumerate().take(cloud.len()) {
        let ring = cloud.ring.as_ref().and_then(|r| r.get(i).copied()).unwrap_or(0);
        let r_i = range(i);
        let prev = last_of_ring.insert(ring, r_i);
        if !(u >= 0.0 && v >= 0.0 && u < w && v < h) {
            continue;
        }
        if prev.is_some_and(|p| (r_i - p).abs() > 0.5) {
            sum += f64::from(e[v as usize * img.width as usize + u as usize]);
            n += 1;
        }
    }
    if n == 0 || mean_all <= 0.0 {
        0.0
    } else {
        sum / n as f64 / mean_all
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
    let reader = BagReader::open(bag).map_err(|e| anyhow!("{}: {e}", bag.display()))?;
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
    let (mut fractions, mut scores) = (VecDeque::new(), VecDeque::new());
    let mut uvd = Vec::new();
    let mut check = |cloud: &PointsSoA, img: &RgbImage, out: &mut Vec<FrameCheck>| {
        projector.project_into(cloud, &mut uvd);
        let stats = projection_stats(&uvd, img.width, img.height);
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
        if let Some(med) = median(&scores) {
            if med > 0.0 && score < 0.7 * med {
                reason = Some(format!("edge score {score:.2} vs running median {med:.2}"));
            }
        }
        let fc = FrameCheck {
            stamp: cloud.stamp.as_secs_f64(),
            points: stats.points_total,
            fraction_in_image: stats.fraction_in_image,
            edge_score: score,
            flagged: reason.is_some(),
            reason,
        };
        each(&fc);
        for (q, v) in [
            (&mut fractions, fc.fraction_in_image),
            (&mut scores, fc.edge_score),
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
