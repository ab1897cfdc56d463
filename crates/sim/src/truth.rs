//! Ground truth and map text derived from a snapshot: the object boxes in `base_link`, the BEV
//! occupancy and class grids of MODEL_SPEC (96×96, x ∈ [0, 48), y ∈ [−24, 24), 0.5 m), a one-sentence
//! caption, and the map annotations a navigation map would carry for this stretch of road.
//!
//! Ground-truth JSON (`/sensorium/ground_truth`, std_msgs/String):
//! `{"stamp": secs, "frame_id": "base_link", "boxes": [{"class", "id", "center": [x,y,z], "size": [l,w,h],
//! "yaw"}], "grid": {"rows": 96, "cols": 96, "x_min", "x_max", "y_min", "y_max", "res"},
//! "occupancy": base64(96·96 bytes 0/1, row-major, row = x index), "class_grid": base64(same, class index),
//! "caption": "..."}`.

use crate::error::SimError;
use crate::world::{Class, SceneBox, Snapshot, World, ZoneKind, CROSSWALK_WIDTH, CURB_WIDTH};
use base64::Engine;
use sensorium_core::{MapAnnotation, MapText};
use serde::{Deserialize, Serialize};

pub const GRID_ROWS: usize = 96;
pub const GRID_COLS: usize = 96;
pub const GRID_RES: f64 = 0.5;
pub const GRID_X_MIN: f64 = 0.0;
pub const GRID_Y_MIN: f64 = -24.0;
/// Boxes farther than this from the ego are not listed in the ground truth.
pub const TRUTH_RANGE: f64 = 60.0;

/// One ground-truth object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GtBox {
    pub class: String,
    pub id: u16,
    /// Centre in `base_link` (m).
    pub center: [f64; 3],
    /// Length, width, height (m).
    pub size: [f64; 3],
    /// Heading in `base_link` (rad).
    pub yaw: f64,
}

/// The grid's geometry as written in the JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GridSpec {
    pub rows: usize,
    pub cols: usize,
    pub x_min: f64,
    pub x_max: f64,
    pub y_min: f64,
    pub y_max: f64,
    pub res: f64,
}

impl Default for GridSpec {
    fn default() -> Self {
        GridSpec {
            rows: GRID_ROWS,
            cols: GRID_COLS,
            x_min: 0.0,
            x_max: 48.0,
            y_min: -24.0,
            y_max: 24.0,
            res: GRID_RES,
        }
    }
}

/// Ground truth for one LiDAR sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct GroundTruth {
    /// Seconds since the epoch (the sweep's header stamp).
    pub stamp: f64,
    pub frame_id: String,
    pub boxes: Vec<GtBox>,
    /// 96×96 row-major, 0/1.
    pub occupancy: Vec<u8>,
    /// 96×96 row-major class index (0 background).
    pub class_grid: Vec<u8>,
    pub caption: String,
}

#[derive(Serialize, Deserialize)]
struct GtJson {
    stamp: f64,
    frame_id: String,
    boxes: Vec<GtBox>,
    grid: GridSpec,
    occupancy: String,
    class_grid: String,
    caption: String,
}

impl GroundTruth {
    /// Builds the truth for `snap` (boxes with a class within [`TRUTH_RANGE`]).
    pub fn from_snapshot(world: &World, snap: &Snapshot, stamp: f64, frame_id: &str) -> GroundTruth {
        let objects: Vec<&SceneBox> = snap
            .boxes
            .iter()
            .filter(|b| b.class.is_some() && b.center[0].hypot(b.center[1]) <= TRUTH_RANGE)
            .collect();
        let boxes = objects
            .iter()
            .filter_map(|b| {
                Some(GtBox {
                    class: b.class?.name().to_string(),
                    id: b.id,
                    center: b.center,
                    size: b.size,
                    yaw: b.yaw(),
                })
            })
            .collect();
        let (occupancy, class_grid) = rasterize(&objects);
        GroundTruth {
            stamp,
            frame_id: frame_id.to_string(),
            boxes,
            occupancy,
            class_grid,
            caption: caption(world, snap),
        }
    }

    pub fn to_json(&self) -> String {
        let b64 = base64::engine::general_purpose::STANDARD;
        let j = GtJson {
            stamp: self.stamp,
            frame_id: self.frame_id.clone(),
            boxes: self.boxes.clone(),
            grid: GridSpec::default(),
            occupancy: b64.encode(&self.occupancy),
            class_grid: b64.encode(&self.class_grid),
            caption: self.caption.clone(),
        };
        serde_json::to_string(&j).unwrap_or_default()
    }

    /// Parses the JSON written by [`GroundTruth::to_json`] (checks the grid size).
    pub fn from_json(text: &str) -> Result<GroundTruth, SimError> {
        let j: GtJson = serde_json::from_str(text).map_err(|e| SimError::GroundTruth {
            detail: e.to_string(),
        })?;
        let b64 = base64::engine::general_purpose::STANDARD;
        let n = j
            .grid
            .rows
            .checked_mul(j.grid.cols)
            .filter(|n| *n <= 1 << 24)
            .ok_or_else(|| SimError::GroundTruth {
                detail: format!("grid {}×{} too large", j.grid.rows, j.grid.cols),
            })?;
        let dec = |what: &str, s: &str| -> Result<Vec<u8>, SimError> {
            if s.len() > 4 * n.div_ceil(3) + 4 {
                return Err(SimError::GroundTruth {
                    detail: format!("{what}: {} base64 chars for {n} cells", s.len()),
                });
            }
            let v = b64.decode(s).map_err(|e| SimError::GroundTruth {
                detail: format!("{what}: {e}"),
            })?;
            if v.len() != n {
                return Err(SimError::GroundTruth {
                    detail: format!("{what}: {} bytes, expected {n}", v.len()),
                });
            }
            Ok(v)
        };
        let occupancy = dec("occupancy", &j.occupancy)?;
        let class_grid = dec("class_grid", &j.class_grid)?;
        Ok(GroundTruth {
            stamp: j.stamp,
            frame_id: j.frame_id,
            boxes: j.boxes,
            occupancy,
            class_grid,
            caption: j.caption,
        })
    }
}

/// Marks the cells whose centre lies inside a box's footprint, and always the cell holding its centre
/// (so that cones and pedestrians occupy at least one cell). Later boxes overwrite earlier ones.
pub fn rasterize(boxes: &[&SceneBox]) -> (Vec<u8>, Vec<u8>) {
    let mut occ = vec![0u8; GRID_ROWS * GRID_COLS];
    let mut cls = vec![0u8; GRID_ROWS * GRID_COLS];
    let cell = |x: f64, y: f64| -> Option<usize> {
        let r = ((x - GRID_X_MIN) / GRID_RES).floor();
        let c = ((y - GRID_Y_MIN) / GRID_RES).floor();
        if r >= 0.0 && c >= 0.0 && (r as usize) < GRID_ROWS && (c as usize) < GRID_COLS {
            Some(r as usize * GRID_COLS + c as usize)
        } else {
            None
        }
    };
    for b in boxes {
        let Some(class) = b.class else { continue };
        let fp = b.footprint();
        let (xmin, xmax) = fp
            .iter()
            .fold((f64::MAX, f64::MIN), |a, p| (a.0.min(p[0]), a.1.max(p[0])));
        let (ymin, ymax) = fp
            .iter()
            .fold((f64::MAX, f64::MIN), |a, p| (a.0.min(p[1]), a.1.max(p[1])));
        let r0 = ((xmin - GRID_X_MIN) / GRID_RES).floor().max(0.0) as usize;
        let r1 = (((xmax - GRID_X_MIN) / GRID_RES)
            .floor()
            .min(GRID_ROWS as f64 - 1.0))
        .max(-1.0);
        let c0 = ((ymin - GRID_Y_MIN) / GRID_RES).floor().max(0.0) as usize;
        let c1 = (((ymax - GRID_Y_MIN) / GRID_RES)
            .floor()
            .min(GRID_COLS as f64 - 1.0))
        .max(-1.0);
        if r1 >= 0.0 && c1 >= 0.0 {
            for r in r0..=r1 as usize {
                for c in c0..=c1 as usize {
                    let x = r as f64 * GRID_RES + GRID_X_MIN + GRID_RES * 0.5;
                    let y = c as f64 * GRID_RES + GRID_Y_MIN + GRID_RES * 0.5;
                    let l = b.to_local([x, y, b.center[2]]);
                    if l[0].abs() <= b.size[0] * 0.5 && l[1].abs() <= b.size[1] * 0.5 {
                        occ[r * GRID_COLS + c] = 1;
                        cls[r * GRID_COLS + c] = class.index();
                    }
                }
            }
        }
        if let Some(i) = cell(b.center[0], b.center[1]) {
            occ[i] = 1;
            cls[i] = class.index();
        }
    }
    (occ, cls)
}

fn number(n: usize) -> &'static str {
    [
        "no", "a", "two", "three", "four", "five", "six", "seven", "eight", "nine",
    ]
    .get(n)
    .copied()
    .unwrap_or("many")
}

fn plural(class: Class, n: usize) -> String {
    let name = match class {
        Class::Car => "car",
        Class::Truck => "truck",
        Class::Pedestrian => "pedestrian",
        Class::Cyclist => "cyclist",
        Class::Cone => "traffic cone",
    };
    if n == 1 {
        format!("{} {name}", number(1))
    } else {
        format!("{} {name}s", number(n))
    }
}

/// Where an object is relative to the road and the ego lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Place {
    EgoLane,
    LeftLane,
    Oncoming,
    Crossing,
    RightShoulder,
    LeftShoulder,
    RightSidewalk,
    LeftSidewalk,
}

impl Place {
    fn phrase(self, parked: bool) -> &'static str {
        match self {
            Place::EgoLane => "ahead in our lane",
            Place::LeftLane => "in the left lane",
            Place::Oncoming => "in the oncoming lanes",
            Place::Crossing => "on the road ahead",
            Place::RightShoulder => "on the right shoulder",
            Place::LeftShoulder if parked => "parked on the left",
            Place::LeftShoulder => "on the left shoulder",
            Place::RightSidewalk => "on the right sidewalk",
            Place::LeftSidewalk => "on the left sidewalk",
        }
    }
}

/// A short sentence describing what lies ahead (x ∈ [0, 45] m, |y| ≤ 20 m).
pub fn caption(world: &World, snap: &Snapshot) -> String {
    let ego = snap.ego;
    let nw = f64::from(world.lanes) * world.lane_width;
    let half = world.half_road();
    let mut parts: Vec<String> = Vec::new();
    // Setting: zone and road shape.
    let (_, s0) = world.centre(ego.s);
    let (_, s1) = world.centre(ego.s + 40.0);
    let bend = s1 - s0;
    let road = if bend > 0.04 {
        "a road curving left"
    } else if bend < -0.04 {
        "a road curving right"
    } else {
        "a straight road"
    };
    let limit = world.speed_limit_at(ego.s);
    let setting = match world.zone_at(ego.s).map(|z| z.kind) {
        Some(ZoneKind::School) => format!("{road} in a school zone"),
        Some(ZoneKind::Construction) => format!("{road} through a construction zone"),
        None => format!("{road} with a {limit} km/h limit"),
    };
    if let Some(c) = world
        .crosswalks
        .iter()
        .find(|c| **c + CROSSWALK_WIDTH * 0.5 > ego.s + 2.0)
    {
        let dist = *c + CROSSWALK_WIDTH * 0.5 - ego.s;
        if dist < 45.0 {
            parts.push(format!(
                "a crosswalk {} m ahead",
                5 * ((dist / 5.0).round() as i64).max(1)
            ));
        }
    }
    // Group objects ahead by (class, place).
    let mut groups: Vec<(Class, Place, usize, f64, bool)> = Vec::new();
    for b in &snap.boxes {
        let Some(class) = b.class else { continue };
        if !(b.center[0] >= 0.0 && b.center[0] <= 45.0 && b.center[1].abs() <= 20.0) {
            continue;
        }
        let (xw, yw) = ego.to_world(b.center[0], b.center[1]);
        let (_, d) = world.road_coords(xw, yw);
        let place = if (d - ego.d).abs() < world.lane_width * 0.5 {
            Place::EgoLane
        } else if d < 0.0 && d > -nw {
            Place::LeftLane
        } else if d >= 0.0 && d < nw {
            if class == Class::Pedestrian {
                Place::Crossing
            } else {
                Place::Oncoming
            }
        } else if d <= -nw && d > -half {
            Place::RightShoulder
        } else if d >= nw && d < half {
            Place::LeftShoulder
        } else if d < 0.0 {
            Place::RightSidewalk
        } else {
            Place::LeftSidewalk
        };
        let place = if class == Class::Pedestrian && d.abs() < half - CURB_WIDTH && place != Place::Crossing {
            Place::Crossing
        } else {
            place
        };
        let dist = b.center[0];
        match groups.iter_mut().find(|g| g.0 == class && g.1 == place) {
            Some(g) => {
                g.2 += 1;
                g.3 = g.3.min(dist);
                g.4 &= !b.moving;
            }
            None => groups.push((class, place, 1, dist, !b.moving)),
        }
    }
    groups.sort_by(|a, b| a.3.total_cmp(&b.3).then(a.0.cmp(&b.0)).then(a.1.cmp(&b.1)));
    for (class, place, n, dist, parked) in groups.iter().take(4) {
        let what = plural(*class, *n);
        let text = match place {
            Place::Crossing => format!("{what} crossing"),
            Place::EgoLane => format!(
                "{what} {} m ahead in our lane",
                5 * ((dist / 5.0).round() as i64).max(1)
            ),
            p => format!("{what} {}", p.phrase(*parked && *class != Class::Cone)),
        };
        parts.push(text);
    }
    if groups.len() > 4 {
        let rest: usize = groups.iter().skip(4).map(|g| g.2).sum();
        parts.push(if rest == 1 {
            "one more object".to_string()
        } else {
            format!("{} more objects", number(rest))
        });
    }
    if parts.is_empty() {
        return format!("{setting} and no traffic ahead");
    }
    let last = parts.pop().unwrap_or_default();
    if parts.is_empty() {
        format!("{setting}: {last}")
    } else {
        format!("{setting}: {} and {last}", parts.join(", "))
    }
}

/// The map annotations for the road around the ego (positions in `base_link`).
pub fn map_text(world: &World, snap: &Snapshot, frame_id: &str) -> MapText {
    let ego = snap.ego;
    let half = world.half_road();
    let mut ann = Vec::new();
    let mut push = |text: String, s: f64, d: f64| {
        let (xw, yw, _, _) = world.road_point(s, d);
        let (x, y) = ego.to_base(xw, yw);
        let r = |v: f64| (v * 100.0).round() / 100.0;
        ann.push(MapAnnotation {
            text,
            position: Some([r(x), r(y), 0.0]),
            frame_id: Some(frame_id.to_string()),
        });
    };
    let sign_d = -(half + 1.0);
    push(
        format!("speed limit {}", world.speed_limit_at(ego.s)),
        ego.s + 5.0,
        sign_d,
    );
    for (x0, limit) in &world.speed_limits {
        let ahead = x0 - ego.s;
        if ahead > 0.0 && ahead < 80.0 {
            push(
                format!("speed limit {limit} in {} m", (ahead).round() as i64),
                *x0,
                sign_d,
            );
        }
    }
    for c in &world.crosswalks {
        let ahead = c + CROSSWALK_WIDTH * 0.5 - ego.s;
        if ahead > 0.0 && ahead < 80.0 {
            push(
                format!("crosswalk {} m ahead", (ahead).round() as i64),
                c + CROSSWALK_WIDTH * 0.5,
                0.0,
            );
        }
    }
    for z in &world.zones {
        let name = match z.kind {
            ZoneKind::School => "school zone",
            ZoneKind::Construction => "construction zone",
        };
        let ahead = z.x0 - ego.s;
        if ego.s >= z.x0 && ego.s < z.x1 {
            let rest = (z.x1 - ego.s).round() as i64;
            let text = match z.kind {
                ZoneKind::School => format!("{name}, children crossing, ends in {rest} m"),
                ZoneKind::Construction => format!("{name}, right shoulder closed, ends in {rest} m"),
            };
            push(text, ego.s, sign_d);
        } else if ahead > 0.0 && ahead < 100.0 {
            push(
                format!("{name} ahead in {} m", (ahead).round() as i64),
                z.x0,
                sign_d,
            );
        }
    }
    MapText {
        stamp: Default::default(),
        annotations: ann,
    }
}

/// The map text as the JSON carried by `/map/text`.
pub fn map_text_json(mt: &MapText) -> String {
    serde_json::to_string(mt).unwrap_or_default()
}
