//! Point painting: sample the image encoder's feature map where each LiDAR point lands
//! (MODEL_SPEC "point painting + pillars").

/// A CHW feature map (one image, `channels × height × width`, f32).
#[derive(Debug, Clone, Copy)]
pub struct FeatureMap<'a> {
    pub data: &'a [f32],
    pub channels: usize,
    pub height: usize,
    pub width: usize,
}

/// Painted features per point: `channels` sampled values followed by the in-image flag.
pub fn painted_width(channels: usize) -> usize {
    channels + 1
}

/// The four bilinear taps of one point in a feature map: cell indices into a channel plane and their
/// weights (MODEL_SPEC: half-pixel centres, clamped to the map).
#[derive(Debug, Clone, Copy)]
pub struct Taps {
    pub idx: [usize; 4],
    pub w: [f32; 4],
}

/// Maps image projections to feature-map taps for one image size and feature map.
#[derive(Debug, Clone, Copy)]
pub struct Sampler<'a> {
    pub fm: FeatureMap<'a>,
    img_w: f64,
    img_h: f64,
    sx: f64,
    sy: f64,
    plane: usize,
}

impl<'a> Sampler<'a> {
    /// None when the map is empty or shorter than `channels × height × width`.
    pub fn new(fm: FeatureMap<'a>, img_w: u32, img_h: u32) -> Option<Self> {
        let plane = fm.height * fm.width;
        if fm.data.len() < fm.channels * plane || fm.width == 0 || fm.height == 0 {
            return None;
        }
        Some(Sampler {
            fm,
            img_w: f64::from(img_w),
            img_h: f64::from(img_h),
            sx: fm.width as f64 / f64::from(img_w.max(1)),
            sy: fm.height as f64 / f64::from(img_h.max(1)),
            plane,
        })
    }

    /// Whether a projection `(u, v, depth)` is painted: in front of the camera (depth > 0.1 m) and
    /// inside the image.
    pub fn sees(&self, (u, v, d): (f64, f64, f64)) -> bool {
        d > 0.1 && u >= 0.0 && v >= 0.0 && u < self.img_w && v < self.img_h
    }

    /// The taps of a projection, None where the camera does not see it.
    pub fn taps(&self, uvd: (f64, f64, f64)) -> Option<Taps> {
        if !self.sees(uvd) {
            return None;
        }
        let (u, v, _) = uvd;
        let fm = &self.fm;
        let (wmax, hmax) = ((fm.width - 1) as f64, (fm.height - 1) as f64);
        let fx = (u * self.sx - 0.5).clamp(0.0, wmax);
        let fy = (v * self.sy - 0.5).clamp(0.0, hmax);
        let (x0, y0) = (fx.floor() as usize, fy.floor() as usize);
        let (x1, y1) = ((x0 + 1).min(fm.width - 1), (y0 + 1).min(fm.height - 1));
        let (wx, wy) = ((fx - x0 as f64) as f32, (fy - y0 as f64) as f32);
        Some(Taps {
            idx: [
                y0 * fm.width + x0,
                y0 * fm.width + x1,
                y1 * fm.width + x0,
                y1 * fm.width + x1,
            ],
            w: [(1.0 - wx) * (1.0 - wy), wx * (1.0 - wy), (1.0 - wx) * wy, wx * wy],
        })
    }

    /// Channel `c` of the map sampled at `t`.
    #[inline]
    pub fn sample(&self, t: &Taps, c: usize) -> f32 {
        let p = &self.fm.data[c * self.plane..(c + 1) * self.plane];
        t.w[0] * p[t.idx[0]] + t.w[1] * p[t.idx[1]] + t.w[2] * p[t.idx[2]] + t.w[3] * p[t.idx[3]]
    }
}

/// Paints `n` points given their image projections `(u, v, depth)` (NaN when behind the camera)
/// in an image of `img_w × img_h` pixels. Writes `n × (channels + 1)` values into `out`
/// (resized as needed; existing capacity reused). Points outside the image get zeros and flag 0.
/// (The pillar builder samples only the points that get a pillar slot, with the same [`Sampler`]:
/// see `PillarBuilder::build_sampled`.)
pub fn paint(uvd: &[(f64, f64, f64)], img_w: u32, img_h: u32, fm: &FeatureMap<'_>, out: &mut Vec<f32>) {
    let pw = painted_width(fm.channels);
    out.clear();
    out.resize(uvd.len() * pw, 0.0);
    let Some(sampler) = Sampler::new(*fm, img_w, img_h) else {
        return;
    };
    for (i, &p) in uvd.iter().enumerate() {
        let Some(t) = sampler.taps(p) else {
            continue;
        };
        let row = &mut out[i * pw..(i + 1) * pw];
        for (c, slot) in row.iter_mut().take(fm.channels).enumerate() {
            *slot = sampler.sample(&t, c);
        }
        row[fm.channels] = 1.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bilinear_sampling_follows_half_pixel_convention() {
        // 1 channel, 2×4 map whose value is 10*row + col.
        let data: Vec<f32> = (0..8).map(|i| (10 * (i / 4) + i % 4) as f32).collect();
        let fm = FeatureMap {
            data: &data,
            channels: 1,
            height: 2,
            width: 4,
        };
        // image 40×20: feature cell centres at u = 5, 15, 25, 35 and v = 5, 15
        let pts = [
            (5.0, 5.0, 3.0),
            (10.0, 10.0, 3.0),
            (35.0, 15.0, 3.0),
            (0.0, 0.0, 3.0),
            (39.9, 19.9, 3.0),
        ];
        let mut out = Vec::new();
        paint(&pts, 40, 20, &fm, &mut out);
        let got: Vec<(f32, f32)> = out.chunks(2).map(|c| (c[0], c[1])).collect();
        assert_eq!(got[0], (0.0, 1.0));
        assert!((got[1].0 - 5.5).abs() < 1e-6, "{:?}", got[1]); // halfway between cells in x and y
        assert_eq!(got[2], (13.0, 1.0));
        assert_eq!(got[3], (0.0, 1.0)); // clamped to the first cell
        assert_eq!(got[4], (13.0, 1.0)); // clamped to the last cell
    }

    #[test]
    fn points_behind_or_outside_are_unpainted() {
        let data = vec![1.0f32; 3 * 4];
        let fm = FeatureMap {
            data: &data,
            channels: 3,
            height: 2,
            width: 2,
        };
        let pts = [
            (f64::NAN, f64::NAN, f64::NAN),
            (5.0, 5.0, -1.0),
            (-1.0, 5.0, 2.0),
            (5.0, 20.0, 2.0),
            (1.0, 1.0, 0.05),
        ];
        let mut out = vec![7.0; 3];
        paint(&pts, 10, 10, &fm, &mut out);
        assert_eq!(out.len(), 5 * 4);
        assert!(out.iter().all(|v| *v == 0.0));
    }
}
