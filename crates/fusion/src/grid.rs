//! The bird's-eye-view grid in the ego frame (MODEL_SPEC "Frames and grid").

use serde::{Deserialize, Serialize};

/// Axis-aligned BEV grid: rows along +x (forward), columns along +y (left).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BevGrid {
    pub x_min: f32,
    pub x_max: f32,
    pub y_min: f32,
    pub y_max: f32,
    pub z_min: f32,
    pub z_max: f32,
    pub res: f32,
}

impl Default for BevGrid {
    fn default() -> Self {
        BevGrid {
            x_min: 0.0,
            x_max: 48.0,
            y_min: -24.0,
            y_max: 24.0,
            z_min: -3.0,
            z_max: 4.0,
            res: 0.5,
        }
    }
}

impl BevGrid {
    pub fn rows(&self) -> usize {
        ((self.x_max - self.x_min) / self.res).round() as usize
    }
    pub fn cols(&self) -> usize {
        ((self.y_max - self.y_min) / self.res).round() as usize
    }
    pub fn cells(&self) -> usize {
        self.rows() * self.cols()
    }

    /// Row-major cell index of an ego point, or `None` outside the grid (incl. z range).
    #[inline]
    pub fn cell_of(&self, x: f32, y: f32, z: f32) -> Option<usize> {
        if !(x >= self.x_min
            && x < self.x_max
            && y >= self.y_min
            && y < self.y_max
            && z >= self.z_min
            && z < self.z_max)
        {
            return None;
        }
        let r = ((x - self.x_min) / self.res) as usize;
        let c = ((y - self.y_min) / self.res) as usize;
        let (rows, cols) = (self.rows(), self.cols());
        if r >= rows || c >= cols {
            return None;
        }
        Some(r * cols + c)
    }

    /// Centre (x, y) of a row-major cell.
    #[inline]
    pub fn centre(&self, cell: usize) -> (f32, f32) {
        let cols = self.cols();
        let (r, c) = (cell / cols, cell % cols);
        (
            self.x_min + (r as f32 + 0.5) * self.res,
            self.y_min + (c as f32 + 0.5) * self.res,
        )
    }

    /// Cells whose centre lies within `radius` metres of the ego origin.
    pub fn within(&self, radius: f32) -> Vec<bool> {
        (0..self.cells())
            .map(|i| {
                let (x, y) = self.centre(i);
                (x * x + y * y).sqrt() <= radius
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_grid_indexing() {
        let g = BevGrid::default();
        assert_eq!((g.rows(), g.cols()), (96, 96));
        assert_eq!(g.cell_of(0.0, -24.0, 0.0), Some(0));
        assert_eq!(g.cell_of(0.49, -23.51, 0.0), Some(0));
        assert_eq!(g.cell_of(0.5, -24.0, 0.0), Some(96));
        assert_eq!(g.cell_of(47.99, 23.99, 0.0), Some(96 * 96 - 1));
        assert_eq!(g.cell_of(48.0, 0.0, 0.0), None);
        assert_eq!(g.cell_of(-0.01, 0.0, 0.0), None);
        assert_eq!(g.cell_of(10.0, 0.0, 4.0), None);
        assert_eq!(g.cell_of(f32::NAN, 0.0, 0.0), None);
        assert_eq!(g.centre(0), (0.25, -23.75));
        let w = g.within(40.0);
        assert!(w[g.cell_of(10.0, 0.0, 0.0).unwrap_or(0)]);
        assert!(!w[g.cell_of(47.0, 23.0, 0.0).unwrap_or(0)]);
    }
}
