//! Annotations on the BEV panel: object boxes with their class and score, a legend of the class colours
//! and a metre scale, written with a 3×5 bitmap font (upper case, digits, `.`, `-`, space).

use super::{class_colour, SCALE};
use crate::grid::BevGrid;
use image::{Rgb, RgbImage as ImgRgb};
use sensorium_core::SceneObject;

/// Glyphs of the 3×5 font: 15 bits, top row first, each row's left pixel first.
fn glyph(c: char) -> u16 {
    const ROWS: [(char, [u8; 5]); 39] = [
        ('A', [2, 5, 7, 5, 5]),
        ('B', [6, 5, 6, 5, 6]),
        ('C', [3, 4, 4, 4, 3]),
        ('D', [6, 5, 5, 5, 6]),
        ('E', [7, 4, 6, 4, 7]),
        ('F', [7, 4, 6, 4, 4]),
        ('G', [3, 4, 5, 5, 3]),
        ('H', [5, 5, 7, 5, 5]),
        ('I', [7, 2, 2, 2, 7]),
        ('J', [1, 1, 1, 5, 2]),
        ('K', [5, 5, 6, 5, 5]),
        ('L', [4, 4, 4, 4, 7]),
        ('M', [5, 7, 7, 5, 5]),
        ('N', [6, 5, 5, 5, 5]),
        ('O', [2, 5, 5, 5, 2]),
        ('P', [6, 5, 6, 4, 4]),
        ('Q', [2, 5, 5, 6, 3]),
        ('R', [6, 5, 6, 5, 5]),
        ('S', [3, 4, 2, 1, 6]),
        ('T', [7, 2, 2, 2, 2]),
        ('U', [5, 5, 5, 5, 7]),
        ('V', [5, 5, 5, 5, 2]),
        ('W', [5, 5, 7, 7, 5]),
        ('X', [5, 5, 2, 5, 5]),
        ('Y', [5, 5, 2, 2, 2]),
        ('Z', [7, 1, 2, 4, 7]),
        ('0', [7, 5, 5, 5, 7]),
        ('1', [2, 6, 2, 2, 7]),
        ('2', [6, 1, 2, 4, 7]),
        ('3', [6, 1, 2, 1, 6]),
        ('4', [5, 5, 7, 1, 1]),
        ('5', [7, 4, 6, 1, 6]),
        ('6', [3, 4, 7, 5, 7]),
        ('7', [7, 1, 2, 2, 2]),
        ('8', [7, 5, 7, 5, 7]),
        ('9', [7, 5, 7, 1, 6]),
        ('.', [0, 0, 0, 0, 2]),
        ('-', [0, 0, 7, 0, 0]),
        (' ', [0, 0, 0, 0, 0]),
    ];
    let c = c.to_ascii_uppercase();
    ROWS.iter().find(|(g, _)| *g == c).map_or(0x7fff, |(_, rows)| {
        rows.iter().fold(0u16, |acc, r| (acc << 3) | u16::from(*r))
    })
}

/// Pixels per font pixel.
const FONT: u32 = 2;

fn put(img: &mut ImgRgb, x: i64, y: i64, col: [u8; 3]) {
    if x >= 0 && y >= 0 && (x as u32) < img.width() && (y as u32) < img.height() {
        img.put_pixel(x as u32, y as u32, Rgb(col));
    }
}

/// Writes `text` with its top-left corner at (x, y), on a dark backing so it reads over any colour.
pub fn text(img: &mut ImgRgb, x: i64, y: i64, text: &str, col: [u8; 3]) {
    let w = i64::from(4 * FONT) * text.chars().count() as i64;
    for by in y - 1..y + i64::from(5 * FONT) + 1 {
        for bx in x - 1..x + w {
            put(img, bx, by, [0, 0, 0]);
        }
    }
    for (i, c) in text.chars().enumerate() {
        let bits = glyph(c);
        let x0 = x + i as i64 * i64::from(4 * FONT);
        for row in 0..5u32 {
            for colm in 0..3u32 {
                if bits >> (14 - (row * 3 + colm)) & 1 == 1 {
                    for dy in 0..FONT {
                        for dx in 0..FONT {
                            put(
                                img,
                                x0 + i64::from(colm * FONT + dx),
                                y + i64::from(row * FONT + dy),
                                col,
                            );
                        }
                    }
                }
            }
        }
    }
}

fn line(img: &mut ImgRgb, a: (i64, i64), b: (i64, i64), col: [u8; 3]) {
    let n = (b.0 - a.0).abs().max((b.1 - a.1).abs()).max(1);
    for i in 0..=n {
        let x = a.0 + (b.0 - a.0) * i / n;
        let y = a.1 + (b.1 - a.1) * i / n;
        put(img, x, y, col);
    }
}

/// Pixel of a point (m) on the BEV panel: x forward is up, y left is left.
fn pixel(grid: &BevGrid, x: f32, y: f32) -> (i64, i64) {
    let (rows, cols) = (grid.rows() as f32, grid.cols() as f32);
    let s = SCALE as f32;
    let px = cols * s - (y - grid.y_min) / grid.res * s;
    let py = rows * s - (x - grid.x_min) / grid.res * s;
    (px.round() as i64, py.round() as i64)
}

/// Each object's box outline in its class colour with `CLASS SCORE` beside it.
pub fn objects(img: &mut ImgRgb, grid: &BevGrid, objects: &[SceneObject]) {
    for o in objects {
        let col = class_colour(usize::from(o.class_id));
        let (c, s) = (o.yaw.cos(), o.yaw.sin());
        let (hl, hw) = (o.length / 2.0, o.width / 2.0);
        let corners: Vec<(i64, i64)> = [(hl, hw), (hl, -hw), (-hl, -hw), (-hl, hw)]
            .iter()
            .map(|(u, v)| pixel(grid, o.x + c * u - s * v, o.y + s * u + c * v))
            .collect();
        for i in 0..4 {
            line(img, corners[i], corners[(i + 1) % 4], [255, 255, 255]);
        }
        // the front edge (towards +yaw) in the class colour
        line(img, corners[0], corners[1], col);
        let top = corners.iter().min_by_key(|p| p.1).copied().unwrap_or_default();
        let label = format!("{} {:.2}", o.class, o.score);
        // above the box, or below its top corner when that would leave the panel
        let y = top.1 - i64::from(5 * FONT) - 2;
        text(img, top.0 + 3, if y < 1 { top.1 + 3 } else { y }, &label, col);
    }
}

/// A legend of the class colours (top left) and a 10-m scale bar (bottom left).
pub fn legend(img: &mut ImgRgb, grid: &BevGrid, classes: &[String]) {
    let row_h = i64::from(5 * FONT) + 4;
    for (k, name) in classes.iter().enumerate().skip(1) {
        let y = 4 + (k as i64 - 1) * row_h;
        let col = class_colour(k);
        for dy in 0..i64::from(5 * FONT) {
            for dx in 0..8 {
                put(img, 4 + dx, y + dy, col);
            }
        }
        text(img, 16, y, name, [230, 230, 230]);
    }
    let bar = (10.0 / grid.res * SCALE as f32).round() as i64;
    let y = i64::from(img.height()) - 8;
    line(img, (6, y), (6 + bar, y), [230, 230, 230]);
    for x in [6, 6 + bar] {
        line(img, (x, y - 3), (x, y + 3), [230, 230, 230]);
    }
    text(
        img,
        6 + bar + 5,
        y - i64::from(5 * FONT) / 2,
        "10 M",
        [230, 230, 230],
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_glyph_the_labels_use_is_defined_and_distinct() {
        let chars: Vec<char> = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-".chars().collect();
        let glyphs: Vec<u16> = chars.iter().map(|c| glyph(*c)).collect();
        assert!(glyphs.iter().all(|g| *g != 0x7fff && *g != 0), "{glyphs:?}");
        let mut sorted = glyphs.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), glyphs.len(), "two characters share a glyph");
        assert_eq!(glyph('a'), glyph('A'));
        assert_eq!(glyph(' '), 0);
    }

    #[test]
    fn a_box_is_drawn_where_the_object_is_with_its_label() {
        let grid = BevGrid::default();
        let mut img = ImgRgb::from_pixel(384, 384, Rgb([15, 15, 15]));
        let o = SceneObject {
            class: "car".into(),
            score: 0.9,
            x: 20.0,
            y: 0.0,
            length: 4.0,
            width: 2.0,
            class_id: 1,
            ..Default::default()
        };
        objects(&mut img, &grid, &[o]);
        // 20 m ahead on the centre line: row 40 from the bottom, centre column; the box's rear edge
        // (x = 18 m) is white, 2 m = 16 px below the centre
        let (cx, cy) = pixel(&grid, 20.0, 0.0);
        assert_eq!((cx, cy), (192, 384 - 160));
        assert_eq!(img.get_pixel(cx as u32, (cy + 16) as u32).0, [255, 255, 255]);
        // the front edge in the class colour
        assert_eq!(img.get_pixel(cx as u32, (cy - 16) as u32).0, class_colour(1));
        // something written above the box
        let above = (cy - 16 - 14..cy - 16 - 2)
            .flat_map(|y| (cx..cx + 60).map(move |x| (x, y)))
            .filter(|(x, y)| img.get_pixel(*x as u32, *y as u32).0 == class_colour(1))
            .count();
        assert!(above > 20, "label pixels above the box: {above}");
    }
}
