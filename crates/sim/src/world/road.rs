//! The road layout: zones and speed limits, the cross-section dimensions (curb, sidewalk, crosswalk),
//! the centreline lookup between world and road coordinates, and the ground material at a point.

use super::{Material, World, TABLE_RES};
use crate::math::hash01;

/// Zones along the road.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZoneKind {
    School,
    Construction,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Zone {
    pub kind: ZoneKind,
    pub x0: f64,
    pub x1: f64,
}

pub const CROSSWALK_WIDTH: f64 = 4.0;
pub const CURB_WIDTH: f64 = 0.3;
pub const CURB_HEIGHT: f64 = 0.15;
pub const SIDEWALK_WIDTH: f64 = 3.0;

impl World {
    /// Half the paved width (lanes + shoulder), where the curb begins.
    pub fn half_road(&self) -> f64 {
        f64::from(self.lanes) * self.lane_width + self.shoulder
    }

    pub(super) fn in_zone(&self, x: f64, kind: ZoneKind) -> bool {
        self.zones.iter().any(|z| z.kind == kind && x >= z.x0 && x < z.x1)
    }

    /// Centreline (y, slope dy/dx) at world x (clamped to the table).
    #[inline]
    pub fn centre(&self, x: f64) -> (f64, f64) {
        let f = (x - self.x_min) / TABLE_RES;
        let last = self.table_y.len().saturating_sub(2);
        let i = if f > 0.0 { (f as usize).min(last) } else { 0 };
        let a = (f - i as f64).clamp(0.0, 1.0);
        let (y0, y1) = (
            self.table_y.get(i).copied().unwrap_or(0.0),
            self.table_y.get(i + 1).copied().unwrap_or(0.0),
        );
        let (s0, s1) = (
            self.table_slope.get(i).copied().unwrap_or(0.0),
            self.table_slope.get(i + 1).copied().unwrap_or(0.0),
        );
        (y0 + (y1 - y0) * a, s0 + (s1 - s0) * a)
    }

    /// World point and road direction (cos, sin) at along-road `s`, lateral `d`.
    pub fn road_point(&self, s: f64, d: f64) -> (f64, f64, f64, f64) {
        let (y, slope) = self.centre(s);
        let inv = 1.0 / (1.0 + slope * slope).sqrt();
        let (c, sn) = (inv, slope * inv);
        (s - d * sn, y + d * c, c, sn)
    }

    /// (along-road x, lateral offset) of a world point (first order in the slope).
    #[inline]
    pub fn road_coords(&self, xw: f64, yw: f64) -> (f64, f64) {
        let (y, slope) = self.centre(xw);
        (xw, (yw - y) / (1.0 + slope * slope).sqrt())
    }
    pub fn zone_at(&self, x: f64) -> Option<&Zone> {
        self.zones.iter().find(|z| x >= z.x0 && x < z.x1)
    }

    pub fn speed_limit_at(&self, x: f64) -> u32 {
        self.speed_limits
            .iter()
            .rev()
            .find(|(x0, _)| x >= *x0)
            .map(|(_, l)| *l)
            .unwrap_or(50)
    }

    /// Ground material and colour at a world point.
    pub fn ground(&self, xw: f64, yw: f64) -> (Material, [u8; 3]) {
        let (s, d) = self.road_coords(xw, yw);
        let ad = d.abs();
        let nw = f64::from(self.lanes) * self.lane_width;
        let half = self.half_road();
        let noise = hash01((xw * 6.0).floor() as i64, (yw * 6.0).floor() as i64, 7);
        let jitter = |c: [u8; 3], amp: f64| -> [u8; 3] {
            let k = 1.0 + (noise - 0.5) * amp;
            [
                (f64::from(c[0]) * k).min(255.0) as u8,
                (f64::from(c[1]) * k).min(255.0) as u8,
                (f64::from(c[2]) * k).min(255.0) as u8,
            ]
        };
        if ad <= half {
            // Crosswalk: zebra stripes parallel to the road.
            let idx = self.crosswalks.partition_point(|c| *c + CROSSWALK_WIDTH < s);
            if let Some(c) = self.crosswalks.get(idx) {
                if s >= *c && ad < nw + 0.5 && (((d + 100.0) / 0.6).floor() as i64) % 2 == 0 {
                    return (Material::WhitePaint, jitter([235, 235, 230], 0.08));
                }
            }
            // Double yellow centre line.
            if (0.06..0.18).contains(&ad) {
                return (Material::YellowPaint, jitter([225, 190, 40], 0.1));
            }
            // Solid edge lines.
            if (ad - nw).abs() < 0.08 {
                return (Material::WhitePaint, jitter([230, 230, 225], 0.1));
            }
            // Dashed lane dividers (3 m dash, 6 m gap).
            for k in 1..self.lanes {
                if (ad - f64::from(k) * self.lane_width).abs() < 0.075 && (s - 9.0 * (s / 9.0).floor()) < 3.0
                {
                    return (Material::WhitePaint, jitter([230, 230, 225], 0.1));
                }
            }
            if self.in_zone(s, ZoneKind::School) && ad < nw {
                return (Material::SchoolAsphalt, jitter([128, 72, 66], 0.18));
            }
            return (Material::Asphalt, jitter([80, 80, 84], 0.2));
        }
        if ad <= half + CURB_WIDTH + SIDEWALK_WIDTH {
            let tile = ((s / 1.5).floor() as i64 + (d / 1.5).floor() as i64) % 2 == 0;
            return (
                Material::Sidewalk,
                jitter(if tile { [168, 166, 160] } else { [156, 154, 150] }, 0.1),
            );
        }
        (Material::Grass, jitter([70, 118, 55], 0.35))
    }
}
