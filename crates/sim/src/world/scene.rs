//! The scene at one instant in the ego frame (`base_link`): oriented boxes, the ego pose, and the
//! world's snapshot at a time.

use super::actors::Motion;
use super::{Class, Material, World};
use crate::math::V3;

/// One oriented box of a snapshot, in `base_link`.
#[derive(Debug, Clone, PartialEq)]
pub struct SceneBox {
    /// Instance id: 1.. for ground-truth objects, [`STRUCTURE_ID`] for curbs and buildings.
    pub id: u16,
    pub class: Option<Class>,
    pub material: Material,
    pub colour: [u8; 3],
    /// Centre of the box (z = half the height: boxes stand on the ground).
    pub center: V3,
    /// Length (along its heading), width, height.
    pub size: V3,
    /// cos and sin of the heading in `base_link`.
    pub cos: f64,
    pub sin: f64,
    /// Velocity in `base_link` (m/s), relative to the ground.
    pub moving: bool,
}

/// Instance id of non-object structures in the instance buffer.
pub const STRUCTURE_ID: u16 = u16::MAX;

impl SceneBox {
    /// Heading angle in `base_link` (rad, (−π, π]).
    pub fn yaw(&self) -> f64 {
        libm::atan2(self.sin, self.cos)
    }
    /// Point in the box's own frame (x along its heading, centred).
    #[inline]
    pub fn to_local(&self, p: V3) -> V3 {
        let dx = p[0] - self.center[0];
        let dy = p[1] - self.center[1];
        [
            self.cos * dx + self.sin * dy,
            -self.sin * dx + self.cos * dy,
            p[2] - self.center[2],
        ]
    }
    /// The four footprint corners (x, y) in `base_link`.
    pub fn footprint(&self) -> [[f64; 2]; 4] {
        let (hl, hw) = (self.size[0] * 0.5, self.size[1] * 0.5);
        let mut out = [[0.0; 2]; 4];
        for (k, (a, b)) in [(hl, hw), (-hl, hw), (-hl, -hw), (hl, -hw)]
            .into_iter()
            .enumerate()
        {
            out[k] = [
                self.center[0] + self.cos * a - self.sin * b,
                self.center[1] + self.sin * a + self.cos * b,
            ];
        }
        out
    }
}

/// The ego pose in the world at one time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EgoPose {
    pub x: f64,
    pub y: f64,
    pub cos: f64,
    pub sin: f64,
    /// Along-road position and lateral offset.
    pub s: f64,
    pub d: f64,
}

impl EgoPose {
    /// World → `base_link`.
    #[inline]
    pub fn to_base(&self, xw: f64, yw: f64) -> (f64, f64) {
        let dx = xw - self.x;
        let dy = yw - self.y;
        (self.cos * dx + self.sin * dy, -self.sin * dx + self.cos * dy)
    }
    /// `base_link` → world.
    #[inline]
    pub fn to_world(&self, xb: f64, yb: f64) -> (f64, f64) {
        (
            self.x + self.cos * xb - self.sin * yb,
            self.y + self.sin * xb + self.cos * yb,
        )
    }
}

/// The scene at one instant, in `base_link`.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub time: f64,
    pub ego: EgoPose,
    /// Ground-truth objects then structures.
    pub boxes: Vec<SceneBox>,
}

impl World {
    pub fn ego_pose(&self, t: f64) -> EgoPose {
        let s = self.ego_speed * t;
        let (x, y, cos, sin) = self.road_point(s, self.ego_d);
        EgoPose {
            x,
            y,
            cos,
            sin,
            s,
            d: self.ego_d,
        }
    }

    /// The scene at time `t` (s since the start), boxes within `range` metres of the ego.
    pub fn snapshot(&self, t: f64, range: f64) -> Snapshot {
        let ego = self.ego_pose(t);
        let mut boxes = Vec::new();
        let mut add = |id: u16,
                       class: Option<Class>,
                       material: Material,
                       colour: [u8; 3],
                       s: f64,
                       d: f64,
                       size: V3,
                       reverse: bool,
                       across: Option<bool>,
                       moving: bool| {
            let (xw, yw, rc, rs) = self.road_point(s, d);
            let (xb, yb) = ego.to_base(xw, yw);
            let lim = range + size[0];
            if xb * xb + yb * yb > lim * lim {
                return;
            }
            // Heading in world: road direction, reversed, or across (±90°).
            let (wc, ws) = match across {
                Some(left) => {
                    if left {
                        (-rs, rc)
                    } else {
                        (rs, -rc)
                    }
                }
                None => {
                    if reverse {
                        (-rc, -rs)
                    } else {
                        (rc, rs)
                    }
                }
            };
            // Relative to the ego heading.
            let c = wc * ego.cos + ws * ego.sin;
            let sn = ws * ego.cos - wc * ego.sin;
            boxes.push(SceneBox {
                id,
                class,
                material,
                colour,
                center: [xb, yb, size[2] * 0.5],
                size,
                cos: c,
                sin: sn,
                moving,
            });
        };
        for a in &self.actors {
            let (s, d, across, moving) = match a.motion {
                Motion::Along { v } => (a.s0 + v * t, a.d0, None, v != 0.0),
                Motion::Crossing { d_min, d_max, v } => {
                    let span = d_max - d_min;
                    let p = (a.d0 - d_min) + v * t;
                    let p = p - 2.0 * span * (p / (2.0 * span)).floor();
                    if p < span {
                        (a.s0, d_min + p, Some(true), true)
                    } else {
                        (a.s0, d_max - (p - span), Some(false), true)
                    }
                }
            };
            add(
                a.id,
                Some(a.class),
                Material::Object(a.class),
                a.colour,
                s,
                d,
                a.size,
                a.reverse,
                across,
                moving,
            );
        }
        for st in &self.structures {
            add(
                STRUCTURE_ID,
                None,
                st.material,
                st.colour,
                st.s,
                st.d,
                st.size,
                false,
                None,
                false,
            );
        }
        Snapshot { time: t, ego, boxes }
    }
}
