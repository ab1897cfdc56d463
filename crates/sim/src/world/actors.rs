//! The actors (traffic, parked vehicles, cyclists, pedestrians, cones) and static structures (curbs,
//! buildings) of the world, and their placement along the road when the world is built.

use super::{
    Class, Material, World, ZoneKind, CROSSWALK_WIDTH, CURB_HEIGHT, CURB_WIDTH, SIDEWALK_WIDTH, STRUCTURE_ID,
};
use crate::config::SceneConfig;
use crate::math::V3;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// How an actor moves.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Motion {
    /// Along the road at `v` m/s (negative: against the road direction).
    Along { v: f64 },
    /// Back and forth across the road between `d_min` and `d_max` at `v` m/s (crosswalk pedestrians).
    Crossing { d_min: f64, d_max: f64, v: f64 },
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Actor {
    pub(super) id: u16,
    pub(super) class: Class,
    pub(super) size: V3,
    pub(super) s0: f64,
    pub(super) d0: f64,
    /// Heading relative to the road direction: 0 or π (encoded as `reverse`).
    pub(super) reverse: bool,
    pub(super) motion: Motion,
    pub(super) colour: [u8; 3],
}

/// A static structure (curb segment, building).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Structure {
    pub(super) material: Material,
    pub(super) s: f64,
    pub(super) d: f64,
    pub(super) size: V3,
    pub(super) colour: [u8; 3],
}

impl World {
    pub(super) fn place_actors(&mut self, cfg: &SceneConfig, rng: &mut ChaCha8Rng, s_lo: f64, s_hi: f64) {
        let w = self.lane_width;
        let n = f64::from(self.lanes);
        let mut next_id: u16 = 1;
        let mut push = |actors: &mut Vec<Actor>, a: Actor| {
            if next_id < STRUCTURE_ID - 1 {
                actors.push(Actor { id: next_id, ..a });
                next_id += 1;
            }
        };
        let vehicle = |rng: &mut ChaCha8Rng, truck_p: f64| -> (Class, V3, [u8; 3]) {
            if rng.gen_bool(truck_p) {
                let size = [
                    rng.gen_range(6.5..10.0),
                    rng.gen_range(2.3..2.55),
                    rng.gen_range(2.8..3.6),
                ];
                let c = [(200, 120, 30), (190, 150, 40), (170, 100, 40)][rng.gen_range(0..3)];
                (Class::Truck, size, [c.0, c.1, c.2])
            } else {
                let size = [
                    rng.gen_range(4.0..4.9),
                    rng.gen_range(1.7..1.95),
                    rng.gen_range(1.4..1.65),
                ];
                let c = [(40, 80, 200), (30, 60, 170), (60, 110, 215), (35, 70, 150)][rng.gen_range(0..4)];
                (Class::Car, size, [c.0, c.1, c.2])
            }
        };
        let gap_mean = 100.0 / cfg.traffic_density.max(0.01);
        // Lanes: forward lanes d < 0 (right-hand traffic), oncoming d > 0.
        for lane in 0..self.lanes {
            for dir in [1.0f64, -1.0] {
                let d = -dir * (f64::from(lane) + 0.5) * w;
                let ego_lane = dir > 0.0 && (d - self.ego_d).abs() < 0.1;
                let v = if ego_lane {
                    self.ego_speed
                } else if dir > 0.0 {
                    self.ego_speed * rng.gen_range(0.6..1.3)
                } else {
                    -rng.gen_range(7.0..13.0)
                };
                let mut s = s_lo + rng.gen_range(0.0..gap_mean);
                while s < s_hi && cfg.traffic_density > 0.0 {
                    let (class, size, colour) = vehicle(rng, 0.2);
                    // Keep the ego's lane clear around the ego (it moves at the lane's speed).
                    if !(ego_lane && s > -size[0] - 12.0 && s < 14.0) {
                        let motion = Motion::Along { v };
                        push(
                            &mut self.actors,
                            Actor {
                                id: 0,
                                class,
                                size,
                                s0: s,
                                d0: d,
                                reverse: dir < 0.0,
                                motion,
                                colour,
                            },
                        );
                    }
                    s += size[0] + 6.0 + rng.gen_range(0.0..2.0 * gap_mean);
                }
            }
        }
        let half = self.half_road();
        // Parked vehicles on the left shoulder.
        let mut s = s_lo + rng.gen_range(0.0..40.0);
        while s < s_hi && cfg.traffic_density > 0.0 {
            let (class, size, colour) = vehicle(rng, 0.1);
            if !self
                .crosswalks
                .iter()
                .any(|c| s > c - 8.0 && s < c + CROSSWALK_WIDTH + 8.0)
            {
                let d = n * w + 0.3 + size[1] * 0.5;
                let motion = Motion::Along { v: 0.0 };
                push(
                    &mut self.actors,
                    Actor {
                        id: 0,
                        class,
                        size,
                        s0: s,
                        d0: d,
                        reverse: rng.gen_bool(0.3),
                        motion,
                        colour,
                    },
                );
            }
            s += size[0] + rng.gen_range(3.0..60.0);
        }
        // Cyclists on the right shoulder (not in construction zones: cones stand there).
        let mut s = s_lo + rng.gen_range(0.0..60.0);
        while s < s_hi && cfg.traffic_density > 0.0 {
            if !self.in_zone(s, ZoneKind::Construction) {
                let size = [
                    rng.gen_range(1.6..1.9),
                    rng.gen_range(0.55..0.7),
                    rng.gen_range(1.6..1.85),
                ];
                let colour = [[40u8, 180, 60], [60, 160, 90]][rng.gen_range(0..2)];
                let motion = Motion::Along {
                    v: rng.gen_range(3.0..6.0),
                };
                let d = -(n * w + 1.1);
                push(
                    &mut self.actors,
                    Actor {
                        id: 0,
                        class: Class::Cyclist,
                        size,
                        s0: s,
                        d0: d,
                        reverse: false,
                        motion,
                        colour,
                    },
                );
            }
            s += rng.gen_range(30.0..120.0);
        }
        // Pedestrians on both sidewalks (denser in school zones).
        let ped = |rng: &mut ChaCha8Rng| -> (V3, [u8; 3]) {
            let size = [
                rng.gen_range(0.4..0.6),
                rng.gen_range(0.5..0.7),
                rng.gen_range(1.55..1.9),
            ];
            let colour = [[220u8, 40, 40], [200, 50, 90], [230, 70, 30]][rng.gen_range(0..3)];
            (size, colour)
        };
        let ped_gap = 100.0 / cfg.pedestrian_density.max(0.01);
        for side in [1.0f64, -1.0] {
            let mut s = s_lo + rng.gen_range(0.0..ped_gap);
            while s < s_hi && cfg.pedestrian_density > 0.0 {
                let (size, colour) = ped(rng);
                let d = side * (half + CURB_WIDTH + rng.gen_range(0.6..SIDEWALK_WIDTH - 0.5));
                let v = rng.gen_range(0.8..1.6);
                let reverse = rng.gen_bool(0.5);
                let motion = Motion::Along {
                    v: if reverse { -v } else { v },
                };
                push(
                    &mut self.actors,
                    Actor {
                        id: 0,
                        class: Class::Pedestrian,
                        size,
                        s0: s,
                        d0: d,
                        reverse,
                        motion,
                        colour,
                    },
                );
                let gap = if self.in_zone(s, ZoneKind::School) {
                    ped_gap * 0.3
                } else {
                    ped_gap
                };
                s += rng.gen_range(0.3..1.7) * gap;
            }
        }
        // Pedestrians on crosswalks.
        for c in self.crosswalks.clone() {
            let count = rng.gen_range(0..=if self.in_zone(c, ZoneKind::School) { 4 } else { 2 });
            for _ in 0..count {
                let (size, colour) = ped(rng);
                let (d_min, d_max) = (-(half + 1.0), half + 1.0);
                let d0 = rng.gen_range(d_min..d_max);
                let v = rng.gen_range(1.0..1.6);
                let motion = Motion::Crossing { d_min, d_max, v };
                let s0 = c + rng.gen_range(0.5..CROSSWALK_WIDTH - 0.5);
                push(
                    &mut self.actors,
                    Actor {
                        id: 0,
                        class: Class::Pedestrian,
                        size,
                        s0,
                        d0,
                        reverse: false,
                        motion,
                        colour,
                    },
                );
            }
        }
        // Cones along the right shoulder in construction zones, and a taper into it.
        for z in self.zones.clone() {
            if z.kind != ZoneKind::Construction {
                continue;
            }
            let mut s = z.x0;
            let mut k = 0;
            while s < z.x1 {
                let size = [rng.gen_range(0.36..0.45), 0.0, rng.gen_range(0.6..0.76)];
                let size = [size[0], size[0], size[2]];
                let taper = if k < 4 { f64::from(4 - k) * 0.5 } else { 0.0 };
                let d = -(n * w + 0.45) - taper;
                let motion = Motion::Along { v: 0.0 };
                push(
                    &mut self.actors,
                    Actor {
                        id: 0,
                        class: Class::Cone,
                        size,
                        s0: s,
                        d0: d,
                        reverse: false,
                        motion,
                        colour: [255, 120, 0],
                    },
                );
                s += rng.gen_range(3.0..5.0);
                k += 1;
            }
        }
    }

    pub(super) fn place_structures(&mut self, rng: &mut ChaCha8Rng, x_lo: f64, x_hi: f64) {
        let half = self.half_road();
        // Curbs in 4 m segments, interrupted at crosswalks.
        let seg = 4.0;
        let mut s = x_lo;
        while s < x_hi {
            let mid = s + seg * 0.5;
            if !self
                .crosswalks
                .iter()
                .any(|c| mid > c - 1.5 && mid < c + CROSSWALK_WIDTH + 1.5)
            {
                for side in [1.0f64, -1.0] {
                    self.structures.push(Structure {
                        material: Material::Curb,
                        s: mid,
                        d: side * (half + CURB_WIDTH * 0.5),
                        size: [seg, CURB_WIDTH, CURB_HEIGHT],
                        colour: [185, 185, 178],
                    });
                }
            }
            s += seg;
        }
        // Buildings behind the sidewalks.
        for side in [1.0f64, -1.0] {
            let mut s = x_lo + rng.gen_range(0.0..10.0);
            while s < x_hi {
                let size = [
                    rng.gen_range(8.0..22.0),
                    rng.gen_range(8.0..14.0),
                    rng.gen_range(5.0..16.0),
                ];
                let setback = rng.gen_range(6.0..12.0);
                let d = side * (half + CURB_WIDTH + SIDEWALK_WIDTH + setback + size[1] * 0.5);
                let colour = [
                    [150u8, 130, 115],
                    [120, 125, 135],
                    [170, 160, 140],
                    [110, 100, 95],
                ][rng.gen_range(0..4)];
                self.structures.push(Structure {
                    material: Material::Building,
                    s: s + size[0] * 0.5,
                    d,
                    size,
                    colour,
                });
                s += size[0] + rng.gen_range(2.0..15.0);
            }
        }
    }
}
