//! Draw projected LiDAR points onto an image, coloured by depth (near red → far blue), and PNG I/O.

use crate::error::{GeometryError, Result};
use sensorium_core::RgbImage;
use std::path::Path;

/// Jet colour map: t = 0 red (near) … t = 1 blue (far).
fn jet(t: f64) -> [u8; 3] {
    let t = 0.875 - 0.75 * t.clamp(0.0, 1.0); // near → 0.875 (red), far → 0.125 (blue)
    let f = |x: f64| (255.0 * (1.5 - (4.0 * t - x).abs()).clamp(0.0, 1.0)).round() as u8;
    [f(3.0), f(2.0), f(1.0)]
}

/// Draw every point that falls inside the image as a small disc (radius 2 px) coloured by depth, far points
/// first so near ones stay on top. The depth range is the 2nd–98th percentile of the drawn points.
pub fn overlay(image: &RgbImage, uvd: &[(f64, f64, f64)]) -> RgbImage {
    let mut out = image.clone();
    let (w, h) = (image.width as f64, image.height as f64);
    let mut vis: Vec<(f64, f64, f64)> = uvd
        .iter()
        .copied()
        .filter(|&(u, v, d)| d > 0.0 && u >= 0.0 && u < w && v >= 0.0 && v < h)
        .collect();
    if vis.is_empty() || out.data.len() < image.width as usize * image.height as usize * 3 {
        return out;
    }
    vis.sort_by(|a, b| b.2.total_cmp(&a.2));
    let n = vis.len();
    let far = vis[((n - 1) * 2 + 50) / 100].2;
    let near = vis[((n - 1) * 98 + 50) / 100].2;
    let span = (far - near).max(1e-6);
    let (wi, hi) = (image.width as i64, image.height as i64);
    for &(u, v, d) in &vis {
        let colour = jet((d - near) / span);
        let (cu, cv) = (u.floor() as i64, v.floor() as i64);
        for dy in -2i64..=2 {
            for dx in -2i64..=2 {
                if dx * dx + dy * dy > 5 {
                    continue;
                }
                let (x, y) = (cu + dx, cv + dy);
                if x < 0 || y < 0 || x >= wi || y >= hi {
                    continue;
                }
                let i = ((y * wi + x) * 3) as usize;
                if let Some(px) = out.data.get_mut(i..i + 3) {
                    px.copy_from_slice(&colour);
                }
            }
        }
    }
    out
}

/// Read a PNG/JPEG into an [`RgbImage`].
pub fn load_image(path: &Path) -> Result<RgbImage> {
    let img = image::open(path).map_err(|e| GeometryError::Image {
        file: path.to_path_buf(),
        problem: e.to_string(),
    })?;
    let rgb = img.to_rgb8();
    Ok(RgbImage {
        stamp: Default::default(),
        frame_id: String::new(),
        width: rgb.width(),
        height: rgb.height(),
        data: rgb.into_raw(),
    })
}

/// Write an [`RgbImage`] as PNG.
pub fn save_png(img: &RgbImage, path: &Path) -> Result<()> {
    let buf = image::RgbImage::from_raw(img.width, img.height, img.data.clone()).ok_or_else(|| {
        GeometryError::Image {
            file: path.to_path_buf(),
            problem: format!(
                "{} bytes do not make a {}×{} RGB image",
                img.data.len(),
                img.width,
                img.height
            ),
        }
    })?;
    buf.save_with_format(path, image::ImageFormat::Png)
        .map_err(|e| GeometryError::Image {
            file: path.to_path_buf(),
            problem: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_near_red_far_blue_inside_only() {
        let img = RgbImage {
            stamp: Default::default(),
            frame_id: String::new(),
            width: 40,
            height: 20,
            data: vec![0; 40 * 20 * 3],
        };
        let pts = [
            (5.5, 5.5, 2.0),
            (30.2, 10.0, 50.0),
            (f64::NAN, f64::NAN, -3.0),
            (100.0, 5.0, 3.0),
        ];
        let out = overlay(&img, &pts);
        let near = out.pixel(5, 5).unwrap();
        let far = out.pixel(30, 10).unwrap();
        assert!(near[0] > 200 && near[2] < 50, "{near:?}");
        assert!(far[2] > 100 && far[0] < 50, "{far:?}");
        assert_eq!(out.pixel(20, 15), Some([0, 0, 0]));
    }
}
