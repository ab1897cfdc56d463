//! The map-text BEV channel: positioned map annotations ("crosswalk 46 m ahead" anchored at a point)
//! rasterized onto the scene's grid, so a planner or a viewer sees where each annotation applies.
//!
//! Each cell holds 1 + the index (in the message's order) of the nearest anchored annotation whose
//! anchor lies within `radius` metres of the cell centre, 0 where there is none; annotations without a
//! position, or anchored outside the grid, only reach the fusion model's text slots.

use crate::grid::BevGrid;

/// Default splat radius around an anchor, metres (4 cells on the spec grid).
pub const DEFAULT_RADIUS_M: f32 = 2.0;

/// Rasterizes `anchors` (annotation index, ego x, y in metres) into `out` (resized to the grid's cells,
/// row-major). Indices past 254 are not representable and are skipped.
pub fn rasterize(grid: &BevGrid, anchors: &[(usize, f32, f32)], radius: f32, out: &mut Vec<u8>) {
    out.clear();
    out.resize(grid.cells(), 0);
    if anchors.is_empty() || radius.is_nan() || radius < 0.0 {
        return;
    }
    let mut best = vec![f32::INFINITY; grid.cells()];
    let (rows, cols) = (grid.rows() as i64, grid.cols() as i64);
    let reach = (radius / grid.res).ceil() as i64 + 1;
    for &(index, x, y) in anchors {
        if index >= 255 || !x.is_finite() || !y.is_finite() {
            continue;
        }
        // the anchor's (fractional) row and column; cells within `reach` of it are candidates
        let r0 = ((x - grid.x_min) / grid.res).floor() as i64;
        let c0 = ((y - grid.y_min) / grid.res).floor() as i64;
        for r in (r0 - reach).max(0)..=(r0 + reach).min(rows - 1) {
            for c in (c0 - reach).max(0)..=(c0 + reach).min(cols - 1) {
                let cell = (r * cols + c) as usize;
                let (cx, cy) = grid.centre(cell);
                let d2 = (cx - x) * (cx - x) + (cy - y) * (cy - y);
                if d2 <= radius * radius && d2 < best[cell] {
                    best[cell] = d2;
                    out[cell] = (index + 1) as u8;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_mark_the_cells_within_the_radius_nearest_first() {
        let g = BevGrid::default();
        let mut out = Vec::new();
        // "crosswalk" at (46.14, 5.25), "speed limit" at (5.0, -5.25)
        rasterize(&g, &[(0, 46.14, 5.25), (3, 5.0, -5.25)], 2.0, &mut out);
        assert_eq!(out.len(), g.cells());
        // brute force over every cell, as a reference
        for (cell, got) in out.iter().enumerate() {
            let (x, y) = g.centre(cell);
            let d = |ax: f32, ay: f32| ((x - ax).powi(2) + (y - ay).powi(2)).sqrt();
            let want = match (d(46.14, 5.25) <= 2.0, d(5.0, -5.25) <= 2.0) {
                (true, _) => 1,
                (false, true) => 4,
                _ => 0,
            };
            assert_eq!(*got, want, "cell {cell} at ({x}, {y})");
        }
        let marked = out.iter().filter(|v| **v > 0).count();
        // two discs of radius 2 m on 0.5 m cells: about 2 * pi * 16 = 100 cells
        assert!((80..=120).contains(&marked), "{marked} cells");
        // an anchor off the grid marks nothing; a negative radius nothing
        rasterize(&g, &[(0, -30.0, 0.0)], 2.0, &mut out);
        assert!(out.iter().all(|v| *v == 0));
        rasterize(&g, &[(0, 10.0, 0.0)], -1.0, &mut out);
        assert!(out.iter().all(|v| *v == 0));
    }

    #[test]
    fn overlapping_anchors_give_each_cell_to_the_nearest() {
        let g = BevGrid::default();
        let mut out = Vec::new();
        rasterize(&g, &[(0, 10.0, 0.0), (1, 11.0, 0.0)], 2.0, &mut out);
        let at = |x: f32, y: f32| out[g.cell_of(x, y, 0.0).expect("on grid")];
        assert_eq!(at(9.2, 0.2), 1);
        assert_eq!(at(11.7, 0.2), 2);
    }
}
