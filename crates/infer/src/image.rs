//! Image preprocessing (MODEL_SPEC "image encoder"): resize + normalise + HWC→CHW in
//! one pass over the output.
//!
//! Resampling is separable and computed in f32, exactly as OpenCV does it on float32
//! images: `Bilinear` = `cv2.resize(img.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)`
//! (half-pixel centres, edges clamped); `Area` = `cv2.INTER_AREA` (pixel-area averaging when
//! shrinking, OpenCV's area-bilinear when enlarging). On uint8 images OpenCV rounds to
//! integers and uses 11-bit fixed-point weights; that differs from this by ≤ 1/255 after /255.

use sensorium_core::RgbImage;

use crate::error::{InferError, Result};
use crate::manifest::{ChannelOrder, ImagePre, Interpolation, ResizeMode};

/// Source taps of one axis: for output index i, `idx[i*k..(i+1)*k]` with `w[..]` weights.
#[derive(Debug, Clone)]
struct Taps {
    k: usize,
    idx: Vec<usize>,
    w: Vec<f32>,
}

fn linear_taps(src: usize, dst: usize, offset: usize, count: usize, area_mode: bool) -> Taps {
    let scale = src as f64 / dst as f64;
    let mut idx = Vec::with_capacity(count * 2);
    let mut w = Vec::with_capacity(count * 2);
    let last = src as i64 - 1;
    for d in offset..offset + count {
        let (mut sx, mut fx) = if area_mode {
            let sx = (d as f64 * scale).floor() as i64;
            let fx = ((d + 1) as f64 - (sx + 1) as f64 / scale) as f32;
            (sx, if fx <= 0.0 { 0.0 } else { fx - fx.floor() })
        } else {
            let f = ((d as f64 + 0.5) * scale - 0.5) as f32;
            let sx = f.floor();
            (sx as i64, f - sx)
        };
        if sx < 0 {
            sx = 0;
            fx = 0.0;
        }
        if sx >= last {
            sx = last;
            fx = 0.0;
        }
        let sx1 = (sx + 1).min(last);
        idx.extend([sx as usize, sx1 as usize]);
        w.extend([1.0 - fx, fx]);
    }
    Taps { k: 2, idx, w }
}

fn area_taps(src: usize, dst: usize, offset: usize, count: usize) -> Taps {
    let scale = src as f64 / dst as f64;
    let mut per: Vec<Vec<(usize, f32)>> = Vec::with_capacity(count);
    for d in offset..offset + count {
        let fsx1 = d as f64 * scale;
        let fsx2 = fsx1 + scale;
        let cell = scale.min(src as f64 - fsx1);
        let mut sx2 = fsx2.floor() as i64;
        sx2 = sx2.min(src as i64 - 1);
        let sx1 = (fsx1.ceil() as i64).min(sx2);
        let mut t = Vec::new();
        if sx1 as f64 - fsx1 > 1e-3 && sx1 >= 1 {
            t.push(((sx1 - 1) as usize, ((sx1 as f64 - fsx1) / cell) as f32));
        }
        for s in sx1..sx2 {
            t.push((s as usize, (1.0 / cell) as f32));
        }
        if fsx2 - sx2 as f64 > 1e-3 {
            t.push((
                sx2 as usize,
                ((fsx2 - sx2 as f64).min(1.0).min(cell) / cell) as f32,
            ));
        }
        per.push(t);
    }
    let k = per.iter().map(Vec::len).max().unwrap_or(1).max(1);
    let mut idx = Vec::with_capacity(count * k);
    let mut w = Vec::with_capacity(count * k);
    for t in per {
        let pad = t.first().map(|p| p.0).unwrap_or(0);
        for j in 0..k {
            let (i, wt) = t.get(j).copied().unwrap_or((pad, 0.0));
            idx.push(i);
            w.push(wt);
        }
    }
    Taps { k, idx, w }
}

fn axis_taps(interp: Interpolation, area_down: bool, src: usize, dst: usize, off: usize, n: usize) -> Taps {
    match interp {
        Interpolation::Bilinear => linear_taps(src, dst, off, n, false),
        Interpolation::Area if area_down => area_taps(src, dst, off, n),
        Interpolation::Area => linear_taps(src, dst, off, n, true),
    }
}

/// Where the resized image lands in the output: resized size, crop offset into the
/// resized image, placement offset in the output and the covered output size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    pub resized: (usize, usize),
    pub crop: (usize, usize),
    pub offset: (usize, usize),
    pub size: (usize, usize),
}

/// How an image of `src` (w, h) is mapped onto the `pre` target.
pub fn placement(src: (usize, usize), pre: &ImagePre) -> Placement {
    let (w, h) = (pre.width as usize, pre.height as usize);
    let (sw, sh) = (src.0 as f64, src.1 as f64);
    match pre.resize {
        ResizeMode::Stretch => Placement {
            resized: (w, h),
            crop: (0, 0),
            offset: (0, 0),
            size: (w, h),
        },
        ResizeMode::Letterbox => {
            let s = (w as f64 / sw).min(h as f64 / sh);
            let rw = ((sw * s).round() as usize).clamp(1, w);
            let rh = ((sh * s).round() as usize).clamp(1, h);
            Placement {
                resized: (rw, rh),
                crop: (0, 0),
                offset: ((w - rw) / 2, (h - rh) / 2),
                size: (rw, rh),
            }
        }
        ResizeMode::Crop => {
            let s = (w as f64 / sw).max(h as f64 / sh);
            let rw = ((sw * s).round() as usize).max(w);
            let rh = ((sh * s).round() as usize).max(h);
            Placement {
                resized: (rw, rh),
                crop: ((rw - w) / 2, (rh - h) / 2),
                offset: (0, 0),
                size: (w, h),
            }
        }
    }
}

/// Resizes, normalises ((x/255 - mean) / std) and lays out CHW in model channel order:
/// returns `3 * height * width` floats for an `[1, 3, H, W]` input.
pub fn preprocess(img: &RgbImage, pre: &ImagePre) -> Result<Vec<f32>> {
    let mut out = vec![0.0f32; 3 * pre.width as usize * pre.height as usize];
    let scale: [f32; 3] = std::array::from_fn(|c| 1.0 / (255.0 * pre.std[c]));
    let bias: [f32; 3] = std::array::from_fn(|c| -pre.mean[c] / pre.std[c]);
    resample_chw(img, pre, scale, bias, &mut out)?;
    Ok(out)
}

/// As [`preprocess`] for models with a u8 input: resized pixels rounded to u8, CHW, no normalisation.
pub fn preprocess_u8(img: &RgbImage, pre: &ImagePre) -> Result<Vec<u8>> {
    let mut out = vec![0.0f32; 3 * pre.width as usize * pre.height as usize];
    resample_chw(img, pre, [1.0; 3], [0.0; 3], &mut out)?;
    Ok(out.iter().map(|v| v.round().clamp(0.0, 255.0) as u8).collect())
}

/// The core loop: `out[c][y][x] = resample(img)[y][x][src channel of c] * scale[c] + bias[c]`.
pub fn resample_chw(
    img: &RgbImage,
    pre: &ImagePre,
    scale: [f32; 3],
    bias: [f32; 3],
    out: &mut [f32],
) -> Result<()> {
    let (sw, sh) = (img.width as usize, img.height as usize);
    if sw == 0 || sh == 0 {
        return Err(InferError::Image(format!("empty image {sw}x{sh}")));
    }
    if img.data.len() != sw * sh * 3 {
        return Err(InferError::Image(format!(
            "{sw}x{sh} RGB image holds {} bytes, expected {}",
            img.data.len(),
            sw * sh * 3
        )));
    }
    let (w, h) = (pre.width as usize, pre.height as usize);
    let plane = w * h;
    if out.len() != 3 * plane {
        return Err(InferError::Image(format!(
            "output buffer {} floats, expected {}",
            out.len(),
            3 * plane
        )));
    }
    let p = placement((sw, sh), pre);
    let area_down = p.resized.0 <= sw && p.resized.1 <= sh;
    let tx = axis_taps(pre.interpolation, area_down, sw, p.resized.0, p.crop.0, p.size.0);
    let ty = axis_taps(pre.interpolation, area_down, sh, p.resized.1, p.crop.1, p.size.1);
    let src_c: [usize; 3] = match pre.channel_order {
        ChannelOrder::Rgb => [0, 1, 2],
        ChannelOrder::Bgr => [2, 1, 0],
    };
    if p.size != (w, h) {
        for (c, pl) in out.chunks_exact_mut(plane).enumerate() {
            pl.fill(pre.pad * scale[c] + bias[c]);
        }
    }
    let (r_plane, rest) = out.split_at_mut(plane);
    let (g_plane, b_plane) = rest.split_at_mut(plane);
    fill(
        img,
        &tx,
        &ty,
        &p,
        w,
        src_c,
        scale,
        bias,
        [r_plane, g_plane, b_plane],
    )
}

#[allow(clippy::too_many_arguments)]
fn fill(
    img: &RgbImage,
    tx: &Taps,
    ty: &Taps,
    p: &Placement,
    w: usize,
    src_c: [usize; 3],
    scale: [f32; 3],
    bias: [f32; 3],
    planes: [&mut [f32]; 3],
) -> Result<()> {
    let stride = img.width as usize * 3;
    let data = &img.data;
    let [r_plane, g_plane, b_plane] = planes;
    let mut row = vec![[0.0f32; 3]; p.size.0];
    for oy in 0..p.size.1 {
        row.iter_mut().for_each(|v| *v = [0.0; 3]);
        let yi = &ty.idx[oy * ty.k..(oy + 1) * ty.k];
        let yw = &ty.w[oy * ty.k..(oy + 1) * ty.k];
        for (&sy, &wy) in yi.iter().zip(yw) {
            if wy == 0.0 {
                continue;
            }
            let src_row = data
                .get(sy * stride..(sy + 1) * stride)
                .ok_or_else(|| InferError::Image(format!("row {sy} out of range")))?;
            for (ox, acc) in row.iter_mut().enumerate() {
                let xi = &tx.idx[ox * tx.k..(ox + 1) * tx.k];
                let xw = &tx.w[ox * tx.k..(ox + 1) * tx.k];
                let mut s = [0.0f32; 3];
                for (&sx, &wx) in xi.iter().zip(xw) {
                    let px = &src_row[sx * 3..sx * 3 + 3];
                    s[0] += wx * px[0] as f32;
                    s[1] += wx * px[1] as f32;
                    s[2] += wx * px[2] as f32;
                }
                acc[0] += wy * s[0];
                acc[1] += wy * s[1];
                acc[2] += wy * s[2];
            }
        }
        let base = (oy + p.offset.1) * w + p.offset.0;
        let n = p.size.0;
        for (c, pl) in [&mut *r_plane, &mut *g_plane, &mut *b_plane]
            .into_iter()
            .enumerate()
        {
            let (s, b, sc) = (scale[c], bias[c], src_c[c]);
            for (dst, v) in pl[base..base + n].iter_mut().zip(&row) {
                *dst = v[sc] * s + b;
            }
        }
    }
    Ok(())
}
