//! The procedural world: a road (straight or gently curving) with lanes, markings, crosswalks, curbs,
//! sidewalks and buildings; moving actors (cars, trucks, pedestrians, cyclists) and static ones (parked
//! cars, cones); school and construction zones with speed limits. Everything is drawn from one seeded
//! ChaCha stream when the world is built; [`World::snapshot`] then gives the scene at any time in the
//! ego frame (`base_link`) without further randomness.
//!
//! World frame: x along the road's general direction, y left, z up, ground at z = 0. The road centreline
//! is `y = A·sin(2πx/P + φ)` (A = 0 for a straight road), tabulated once (libm) and interpolated.

use crate::config::SceneConfig;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

mod actors;
mod road;
mod scene;

use actors::{Actor, Structure};
pub use road::{Zone, ZoneKind, CROSSWALK_WIDTH, CURB_HEIGHT, CURB_WIDTH, SIDEWALK_WIDTH};
pub use scene::{EgoPose, SceneBox, Snapshot, STRUCTURE_ID};

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
}
