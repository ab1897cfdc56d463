//! PNG rendering of a scene: the camera image beside the BEV (classes, LiDAR points, query heat, object
//! boxes with their class and score, a legend and a metre scale).

pub mod annotate;

use crate::grid::BevGrid;
use crate::pillars::EgoPoints;
use image::{imageops, Rgb, RgbImage as ImgRgb};
use sensorium_core::{RgbImage, Scene};

/// Class colours (background is dark grey).
pub const CLASS_COLOURS: [[u8; 3]; 6] = [
    [40, 40, 40],
    [30, 120, 255],
    [255, 140, 0],
    [255, 40, 40],
    [40, 220, 80],
    [255, 230, 0],
];

/// Colour of class index `k` ([`CLASS_COLOURS`], then hues spread over the circle for longer class lists).
pub fn class_colour(k: usize) -> [u8; 3] {
    CLASS_COLOURS.get(k).copied().unwrap_or_else(|| {
        let h = (k as f32 * 0.618_034).fract() * 6.0;
        let x = (255.0 * (1.0 - (h % 2.0 - 1.0).abs())) as u8;
        match h as u32 {
            0 => [255, x, 0],
            1 => [x, 255, 0],
            2 => [0, 255, x],
            3 => [0, x, 255],
            4 => [x, 0, 255],
            _ => [255, 0, x],
        }
    })
}

/// Pixels per BEV cell.
const SCALE: u32 = 4;

/// Draws the BEV: occupancy by class colour, LiDAR points grey, map-text anchors dark cyan, an optional
/// heat map (0..1, a query's similarity map) in magenta,
/// ego at the bottom centre looking up (x forward = up, y left = left).
pub fn render_bev(scene: &Scene, grid: &BevGrid, points: Option<&EgoPoints>, heat: Option<&[f32]>) -> ImgRgb {
    let (rows, cols) = (grid.rows() as u32, grid.cols() as u32);
    let mut img = ImgRgb::from_pixel(cols * SCALE, rows * SCALE, Rgb([15, 15, 15]));
    // pixel (px, py): column from the right edge = y left → px = (cols-1-c), row from bottom = x → py = rows-1-r
    let put = |img: &mut ImgRgb, r: u32, c: u32, col: [u8; 3], alpha: f32| {
        for dy in 0..SCALE {
            for dx in 0..SCALE {
                let (px, py) = ((cols - 1 - c) * SCALE + dx, (rows - 1 - r) * SCALE + dy);
                let p = img.get_pixel_mut(px, py);
                for (c, k) in p.0.iter_mut().zip(col) {
                    *c = (f32::from(*c) * (1.0 - alpha) + f32::from(k) * alpha) as u8;
                }
            }
        }
    };
    let bev = &scene.bev;
    for cell in 0..(rows * cols) as usize {
        let (r, c) = ((cell as u32) / cols, (cell as u32) % cols);
        if bev.map_text.get(cell).is_some_and(|v| *v > 0) {
            // map-text channel: anchored annotations in dark cyan
            put(&mut img, r, c, [0, 140, 160], 0.5);
        }
        if let Some(h) = heat.and_then(|h| h.get(cell)) {
            put(&mut img, r, c, [255, 0, 255], h.clamp(0.0, 1.0) * 0.6);
        }
        let occ = bev.occupancy.get(cell).copied().unwrap_or(0.0);
        if occ > 0.5 {
            let k = bev.class.get(cell).copied().unwrap_or(0) as usize;
            put(&mut img, r, c, class_colour(k), 0.85);
        }
    }
    if let Some(p) = points {
        for i in 0..p.len() {
            let cell = p.cell[i] as usize;
            let (r, c) = ((cell as u32) / cols, (cell as u32) % cols);
            // sub-cell position for a sharper scatter
            let fx = ((p.x[i] - grid.x_min) / grid.res * SCALE as f32) as u32;
            let fy = ((p.y[i] - grid.y_min) / grid.res * SCALE as f32) as u32;
            let (px, py) = (
                (cols * SCALE).saturating_sub(1 + fy),
                (rows * SCALE).saturating_sub(1 + fx),
            );
            if px < cols * SCALE && py < rows * SCALE && r < rows && c < cols {
                let q = img.get_pixel_mut(px, py);
                q.0 = [q.0[0].max(170), q.0[1].max(170), q.0[2].max(170)];
            }
        }
    }
    annotate::objects(&mut img, grid, &scene.objects);
    img
}

/// The camera image (scaled to the BEV's height) beside the BEV panel.
pub fn side_by_side(camera: Option<&RgbImage>, bev: &ImgRgb) -> ImgRgb {
    let h = bev.height();
    let cam = camera
        .and_then(|c| ImgRgb::from_raw(c.width, c.height, c.data.clone()))
        .map(|c| {
            let w = (u64::from(c.width()) * u64::from(h) / u64::from(c.height().max(1))) as u32;
            imageops::resize(&c, w.max(1), h, imageops::FilterType::Triangle)
        });
    let cw = cam.as_ref().map_or(0, |c| c.width());
    let mut out = ImgRgb::from_pixel(cw + bev.width() + if cw > 0 { 4 } else { 0 }, h, Rgb([0, 0, 0]));
    if let Some(c) = &cam {
        imageops::replace(&mut out, c, 0, 0);
    }
    let x = i64::from(out.width() - bev.width());
    imageops::replace(&mut out, bev, x, 0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn occupied_cells_show_their_class_colour_at_the_right_place() {
        let grid = BevGrid::default();
        let mut scene = Scene::default();
        scene.bev.occupancy = vec![0.0; grid.cells()];
        scene.bev.class = vec![0; grid.cells()];
        let cell = grid.cell_of(10.0, 5.0, 0.0).unwrap_or(0); // 10 m ahead, 5 m left
        scene.bev.occupancy[cell] = 0.9;
        scene.bev.class[cell] = 3;
        let img = render_bev(&scene, &grid, None, None);
        assert_eq!((img.width(), img.height()), (384, 384));
        let (r, c) = ((cell / 96) as u32, (cell % 96) as u32);
        let px = img.get_pixel((95 - c) * 4 + 1, (95 - r) * 4 + 1).0;
        assert!(px[0] > 200 && px[1] < 80, "pedestrian red expected, got {px:?}");
        // left of centre (y > 0) and in the lower half (10 m of 48 m ahead)
        assert!((95 - c) * 4 < 192 && (95 - r) * 4 > 192);
        let cam = RgbImage {
            width: 64,
            height: 32,
            data: vec![200; 64 * 32 * 3],
            ..Default::default()
        };
        let both = side_by_side(Some(&cam), &img);
        assert_eq!(both.height(), 384);
        assert_eq!(both.width(), 768 + 4 + 384);
    }
}
