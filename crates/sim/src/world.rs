//! The procedural world: a road (straight or gently curving) with lanes, markings, crosswalks, curbs,
//! sidewalks and buildings; moving actors (cars, trucks, pedestrians, cyclists) and static ones (parked
//! cars, cones); school and construction zones with speed limits. Everything is drawn from one seeded
//! ChaCha stream when the world is built; [`World::snapshot`] then gives the scene at any time in the
//! ego frame (`base_link`) without further randomness.
//!
//! World frame: x along the road's general direction, y left, z up, ground at z = 0. The road centreline
//! is `y = A·sin(2πx/P + φ)` (A = 0 for a straight road), tabulated once (libm) and interpolated.

use crate::config::SceneConfig;
use crate::math::{hash01, V3};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Object classes (index = class id of the BEV class grid, MODEL_SPEC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Class {
    Car = 1,
    Truck = 2,
    Pedestrian = 3,
    Cyclist = 4,
    Cone = 5,
}

/// Class names by index (0 = background).
pub const CLASS_NAMES: [&str; 6] = ["background", "car", "truck", "pedestrian", "cyclist", "cone"];

impl Class {
    pub fn index(self) -> u8 {
        self as u8
    }
    pub fn name(self) -> &'static str {
        CLASS_NAMES[self as usize]
    }
    pub fn from_name(name: &str) -> Option<Class> {
        Some(match name {
            "car" => Class::Car,
            "truck" => Class::Truck,
            "pedestrian" => Class::Pedestrian,
            "cyclist" => Class::Cyclist,
            "cone" => Class::Cone,
            _ => return None,
        })
    }
}

/// Surface materials: colour for the camera, reflectivity for the LiDAR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Material {
    Asphalt,
    SchoolAsphalt,
    WhitePaint,
    YellowPaint,
    Sidewalk,
    Grass,
    Curb,
    Building,
    Object(Class),
}

impl Material {
    /// LiDAR reflectivity on a 0–255 scale (lane paint and cones are retro-reflective).
    pub fn reflectivity(self) -> f64 {
        match self {
            Material::Asphalt => 12.0,
            Material::SchoolAsphalt => 20.0,
            Material::WhitePaint => 90.0,
            Material::YellowPaint => 75.0,
            Material::Sidewalk => 32.0,
            Material::Grass => 22.0,
            Material::Curb => 40.0,
            Material::Building => 36.0,
            Material::Object(Class::Car) => 48.0,
            Material::Object(Class::Truck) => 58.0,
            Material::Object(Class::Pedestrian) => 26.0,
            Material::Object(Class::Cyclist) => 34.0,
            Material::Object(Class::Cone) => 160.0,
        }
    }
}

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

/// How an actor moves.
#[derive(Debug, Clone, PartialEq)]
enum Motion {
    /// Along the road at `v` m/s (negative: against the road direction).
    Along { v: f64 },
    /// Back and forth across the road between `d_min` and `d_max` at `v` m/s (crosswalk pedestrians).
    Crossing { d_min: f64, d_max: f64, v: f64 },
}

#[derive(Debug, Clone, PartialEq)]
struct Actor {
    id: u16,
    class: Class,
    size: V3,
    s0: f64,
    d0: f64,
    /// Heading relative to the road direction: 0 or π (encoded as `reverse`).
    reverse: bool,
    motion: Motion,
    colour: [u8; 3],
}

/// A static structure (curb segment, building).
#[derive(Debug, Clone, PartialEq)]
struct Structure {
    material: Material,
    s: f64,
    d: f64,
    size: V3,
    colour: [u8; 3],
}

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

const TABLE_RES: f64 = 0.25;

/// The road: centreline table, cross-section and features.
#[derive(Debug, Clone)]
pub struct World {
    pub lanes: u8,
    pub lane_width: f64,
    pub shoulder: f64,
    pub x_min: f64,
    table_y: Vec<f64>,
    table_slope: Vec<f64>,
    /// Start x of each crosswalk (4 m wide along the road), ascending.
    pub crosswalks: Vec<f64>,
    pub zones: Vec<Zone>,
    /// (start x, km/h) ascending: the limit from that x on.
    pub speed_limits: Vec<(f64, u32)>,
    actors: Vec<Actor>,
    structures: Vec<Structure>,
    ego_speed: f64,
    ego_d: f64,
    pub curve_amplitude: f64,
}

pub const CROSSWALK_WIDTH: f64 = 4.0;
pub const CURB_WIDTH: f64 = 0.3;
pub const CURB_HEIGHT: f64 = 0.15;
pub const SIDEWALK_WIDTH: f64 = 3.0;

impl World {
    /// Builds the world for a drive of `duration` seconds.
    pub fn generate(cfg: &SceneConfig, seed: u64, duration: f64) -> World {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let lanes = cfg.lanes_per_direction.max(1);
        let w = cfg.lane_width;
        let shoulder = 2.5;
        let x_min = -80.0;
        let x_max = cfg.ego_speed * duration + 220.0;

        // Centreline.
        let straight = rng.gen_bool(0.3) || cfg.max_curve_amplitude <= 0.0;
        let amp = if straight {
            0.0
        } else {
            rng.gen_range(0.3..=1.0) * cfg.max_curve_amplitude
        };
        let period: f64 = rng.gen_range(350.0..700.0);
        let phase: f64 = rng.gen_range(0.0..std::f64::consts::TAU);
        let n = ((x_max - x_min) / TABLE_RES) as usize + 2;
        let mut table_y = Vec::with_capacity(n);
        let mut table_slope = Vec::with_capacity(n);
        let k = std::f64::consts::TAU / period;
        for i in 0..n {
            let x = x_min + i as f64 * TABLE_RES;
            table_y.push(amp * libm::sin(k * x + phase));
            table_slope.push(amp * k * libm::cos(k * x + phase));
        }

        // Zones, speed limits, crosswalks.
        let base_limit = [30u32, 40, 50][rng.gen_range(0..3)];
        let mut zones = Vec::new();
        let mut speed_limits = vec![(x_min, base_limit)];
        let mut crosswalks = Vec::new();
        let mut x = rng.gen_range(10.0..60.0);
        while x < x_max {
            let len = rng.gen_range(40.0..90.0);
            let kind = if rng.gen_bool(0.5) {
                ZoneKind::School
            } else {
                ZoneKind::Construction
            };
            zones.push(Zone {
                kind,
                x0: x,
                x1: x + len,
            });
            let limit = match kind {
                ZoneKind::School => [20u32, 30][rng.gen_range(0..2)],
                ZoneKind::Construction => 30,
            };
            speed_limits.push((x, limit.min(base_limit)));
            speed_limits.push((x + len, base_limit));
            if kind == ZoneKind::School {
                crosswalks.push(x + rng.gen_range(5.0..len - 10.0));
            }
            x += len + rng.gen_range(60.0..200.0);
        }
        let mut x = rng.gen_range(15.0..45.0);
        while x < x_max {
            if !crosswalks.iter().any(|c: &f64| (c - x).abs() < 25.0) {
                crosswalks.push(x);
            }
            x += rng.gen_range(50.0..130.0);
        }
        crosswalks.sort_by(f64::total_cmp);

        let mut world = World {
            lanes,
            lane_width: w,
            shoulder,
            x_min,
            table_y,
            table_slope,
            crosswalks,
            zones,
            speed_limits,
            actors: Vec::new(),
            structures: Vec::new(),
            ego_speed: cfg.ego_speed,
            ego_d: -(f64::from(lanes) - 0.5) * w,
            curve_amplitude: amp,
        };
        world.place_actors(cfg, &mut rng, x_min + 20.0, x_max - 10.0);
        world.place_structures(&mut rng, x_min, x_max);
        world
    }

    /// Half the paved width (lanes + shoulder), where the curb begins.
    pub fn half_road(&self) -> f64 {
        f64::from(self.lanes) * self.lane_width + self.shoulder
    }

    fn in_zone(&self, x: f64, kind: ZoneKind) -> bool {
        self.zones.iter().any(|z| z.kind == kind && x >= z.x0 && x < z.x1)
    }

    fn place_actors(&mut self, cfg: &SceneConfig, rng: &mut ChaCha8Rng, s_lo: f64, s_hi: f64) {
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

    fn place_structures(&mut self, rng: &mut ChaCha8Rng, x_lo: f64, x_hi: f64) {
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
