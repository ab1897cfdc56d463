//! Scoring scenes against simulator ground truth (MODEL_SPEC "metrics").

use crate::grid::BevGrid;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One ground-truth object in the ego frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GtBox {
    pub class: String,
    #[serde(default)]
    pub id: u64,
    pub center: [f64; 3],
    /// length (x), width (y), height (z)
    pub size: [f64; 3],
    pub yaw: f64,
    /// Scored neither as a miss nor, when a scene object matches it, as a false detection (a label the
    /// dataset marks as "don't care" for its class, or one with too few LiDAR points to be seen).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ignore: bool,
}

/// The part of the ground plane a camera sees: positions whose bearing from `origin` (ego frame, m)
/// lies within `half_angle` (rad) of `heading` (rad, ego x towards y).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Wedge {
    pub origin: [f64; 2],
    pub heading: f64,
    pub half_angle: f64,
}

impl Wedge {
    pub fn contains(&self, x: f64, y: f64) -> bool {
        let bearing = (y - self.origin[1]).atan2(x - self.origin[0]);
        let mut d = bearing - self.heading;
        while d > std::f64::consts::PI {
            d -= 2.0 * std::f64::consts::PI;
        }
        while d < -std::f64::consts::PI {
            d += 2.0 * std::f64::consts::PI;
        }
        d.abs() <= self.half_angle
    }
}

/// Ground truth for one frame (decoded from the sim's ground-truth topic).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroundTruth {
    pub stamp: f64,
    pub boxes: Vec<GtBox>,
    /// Row-major occupancy (0/1) on the spec grid; empty when the source has none (real datasets label
    /// objects, not cells): the occupancy IoU is then not scored.
    pub occupancy: Vec<u8>,
    pub caption: String,
}

impl GtBox {
    /// Index of the box's class in `classes` (the fusion manifest's list), or `None` for a class
    /// the list does not name.
    pub fn class_index(&self, classes: &[String]) -> Option<u8> {
        classes
            .iter()
            .position(|c| c.eq_ignore_ascii_case(&self.class))
            .map(|i| i as u8)
    }

    /// Row-major cells whose centre lies inside the box footprint; the centre's cell at least.
    pub fn footprint(&self, grid: &BevGrid) -> Vec<usize> {
        let (c, s) = (self.yaw.cos(), self.yaw.sin());
        let (hl, hw) = (self.size[0] / 2.0, self.size[1] / 2.0);
        let mut cells = Vec::new();
        for cell in 0..grid.cells() {
            let (x, y) = grid.centre(cell);
            let (dx, dy) = (f64::from(x) - self.center[0], f64::from(y) - self.center[1]);
            let (lx, ly) = (c * dx + s * dy, -s * dx + c * dy);
            if lx.abs() <= hl && ly.abs() <= hw {
                cells.push(cell);
            }
        }
        if cells.is_empty() {
            if let Some(cell) = grid.cell_of(self.center[0] as f32, self.center[1] as f32, 0.0) {
                cells.push(cell);
            }
        }
        cells
    }
}

/// Accumulates the replay metrics over frames.
#[derive(Debug, Clone)]
pub struct MetricsAccumulator {
    grid: BevGrid,
    within: Vec<bool>,
    radius: f64,
    /// Class names by channel of the model's class output.
    classes: Vec<String>,
    intersection: u64,
    union: u64,
    /// class → (recalled, total)
    recall: BTreeMap<String, (u64, u64)>,
    top1_hits: u64,
    top1_total: u64,
    frames: u64,
    /// Objects: predicted ones matched to a ground-truth box, predicted ones in all, boxes in all.
    object_matches: u64,
    object_predicted: u64,
    object_truth: u64,
    /// class → object (matched, predicted, truth)
    object_classes: BTreeMap<String, (u64, u64, u64)>,
    /// Only positions inside it are scored (a camera's field of view), when set.
    region: Option<Wedge>,
}

/// One class's objects: how many boxes, detections and matches, and the ratios.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectScore {
    pub truth: u64,
    pub predicted: u64,
    pub matched: u64,
    /// `matched / truth`; `None` without boxes of the class.
    pub recall: Option<f64>,
    /// `matched / predicted`; `None` without detections of the class.
    pub precision: Option<f64>,
}

/// Final metrics as they appear in the summary JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub frames: u64,
    pub occupancy_iou: f64,
    pub recall: BTreeMap<String, f64>,
    pub query_top1: Option<f64>,
    /// Ground-truth objects per class that were scored.
    pub objects: BTreeMap<String, u64>,
    /// Of the scene objects within the radius, the fraction that match a ground-truth box (same
    /// class, centres within [`object_match_m`] of each other); `None` when no object was predicted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_precision: Option<f64>,
    /// Of the ground-truth boxes within the radius, the fraction matched by a scene object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_recall: Option<f64>,
    /// Object recall and precision per class (every class of the model but the background).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub object_classes: BTreeMap<String, ObjectScore>,
}

/// How close (m, in x/y) a scene object's centre must be to a ground-truth box of its class to match it:
/// 2 m for vehicles (car, truck, bus, van, trailer), 1 m for the rest (pedestrians, cyclists, cones), the
/// distance thresholds nuScenes' detection metric uses for those sizes.
pub fn object_match_m(class: &str) -> f64 {
    const VEHICLES: [&str; 5] = ["car", "truck", "bus", "van", "trailer"];
    if VEHICLES.iter().any(|v| v.eq_ignore_ascii_case(class)) {
        2.0
    } else {
        1.0
    }
}

impl MetricsAccumulator {
    /// Scores within `radius` metres; `classes` names the predicted class indices.
    pub fn new(grid: BevGrid, radius: f32, classes: Vec<String>) -> Self {
        MetricsAccumulator {
            grid,
            within: grid.within(radius),
            radius: f64::from(radius),
            classes,
            intersection: 0,
            union: 0,
            recall: BTreeMap::new(),
            top1_hits: 0,
            top1_total: 0,
            frames: 0,
            object_matches: 0,
            object_predicted: 0,
            object_truth: 0,
            object_classes: BTreeMap::new(),
            region: None,
        }
    }

    /// Scores only positions inside `region` from here on (`None`: everywhere within the radius).
    pub fn set_region(&mut self, region: Option<Wedge>) {
        self.region = region;
    }

    /// Adds one frame: predicted occupancy probabilities and classes (row-major, spec grid).
    pub fn add_frame(&mut self, gt: &GroundTruth, occ_prob: &[f32], class: &[u8]) {
        self.frames += 1;
        for (i, inside) in self.within.iter().enumerate() {
            if !inside || gt.occupancy.is_empty() {
                continue;
            }
            let pred = occ_prob.get(i).is_some_and(|p| *p > 0.5);
            let truth = gt.occupancy.get(i).is_some_and(|t| *t > 0);
            self.intersection += u64::from(pred && truth);
            self.union += u64::from(pred || truth);
        }
        for b in &gt.boxes {
            let Some(ci) = b.class_index(&self.classes) else {
                continue;
            };
            let (x, y) = (b.center[0], b.center[1]);
            if ci == 0 || b.ignore || !self.scored(x, y) {
                continue;
            }
            let hit = b
                .footprint(&self.grid)
                .iter()
                .any(|&cell| class.get(cell) == Some(&ci) && occ_prob.get(cell).is_some_and(|p| *p > 0.5));
            let Some(name) = self.classes.get(usize::from(ci)) else {
                continue;
            };
            let e = self.recall.entry(name.clone()).or_insert((0, 0));
            e.0 += u64::from(hit);
            e.1 += 1;
        }
    }

    /// A position (m) the metrics score: within the radius, inside the grid and inside the region.
    fn scored(&self, x: f64, y: f64) -> bool {
        (x * x + y * y).sqrt() <= self.radius
            && self.grid.cell_of(x as f32, y as f32, 0.0).is_some()
            && self.region.is_none_or(|r| r.contains(x, y))
    }

    /// Adds one frame's scene objects (highest score first): each, in turn, matches the nearest unmatched
    /// box of its class within [`object_match_m`]. Boxes and objects beyond the radius, outside the grid
    /// or outside the region are not scored; an object whose nearest box of its class is an ignored one
    /// (and no scored box is in reach) counts neither as a match nor as a detection.
    pub fn add_objects(&mut self, gt: &GroundTruth, objects: &[sensorium_core::SceneObject]) {
        let boxes: Vec<&GtBox> = gt
            .boxes
            .iter()
            .filter(|b| {
                b.class_index(&self.classes).is_some_and(|c| c != 0) && self.scored(b.center[0], b.center[1])
            })
            .collect();
        let mut taken = vec![false; boxes.len()];
        for b in boxes.iter().filter(|b| !b.ignore) {
            self.object_truth += 1;
            self.class_counts(&b.class).2 += 1;
        }
        for o in objects {
            let (x, y) = (f64::from(o.x), f64::from(o.y));
            if !self.scored(x, y) {
                continue;
            }
            let reach = object_match_m(&o.class);
            let in_reach = |b: &GtBox| {
                b.class.eq_ignore_ascii_case(&o.class) && (b.center[0] - x).hypot(b.center[1] - y) <= reach
            };
            let nearest = boxes
                .iter()
                .enumerate()
                .filter(|(i, b)| !taken[*i] && !b.ignore && in_reach(b))
                .map(|(i, b)| (i, (b.center[0] - x).hypot(b.center[1] - y)))
                .min_by(|a, b| a.1.total_cmp(&b.1));
            match nearest {
                Some((i, _)) => {
                    taken[i] = true;
                    self.object_matches += 1;
                    self.object_predicted += 1;
                    let c = self.class_counts(&o.class);
                    c.0 += 1;
                    c.1 += 1;
                }
                None if boxes.iter().any(|b| b.ignore && in_reach(b)) => {}
                None => {
                    self.object_predicted += 1;
                    self.class_counts(&o.class).1 += 1;
                }
            }
        }
    }

    /// The (matched, predicted, truth) counters of `class`, by the model's spelling of it.
    fn class_counts(&mut self, class: &str) -> &mut (u64, u64, u64) {
        let name = self
            .classes
            .iter()
            .find(|c| c.eq_ignore_ascii_case(class))
            .cloned()
            .unwrap_or_else(|| class.to_string());
        self.object_classes.entry(name).or_insert((0, 0, 0))
    }

    /// Adds one retrieval trial: was the frame's own caption the most similar of the candidates?
    pub fn add_query_trial(&mut self, hit: bool) {
        self.top1_hits += u64::from(hit);
        self.top1_total += 1;
    }

    pub fn finish(&self) -> Metrics {
        Metrics {
            frames: self.frames,
            occupancy_iou: if self.union == 0 {
                0.0
            } else {
                self.intersection as f64 / self.union as f64
            },
            recall: self
                .recall
                .iter()
                .map(|(k, (h, t))| (k.clone(), *h as f64 / (*t).max(1) as f64))
                .collect(),
            query_top1: (self.top1_total > 0).then(|| self.top1_hits as f64 / self.top1_total as f64),
            objects: self.recall.iter().map(|(k, (_, t))| (k.clone(), *t)).collect(),
            object_precision: (self.object_predicted > 0)
                .then(|| self.object_matches as f64 / self.object_predicted as f64),
            object_recall: (self.object_truth > 0)
                .then(|| self.object_matches as f64 / self.object_truth as f64),
            object_classes: self
                .classes
                .iter()
                .skip(1)
                .map(|c| {
                    let (matched, predicted, truth) = self.object_classes.get(c).copied().unwrap_or_default();
                    let score = ObjectScore {
                        truth,
                        predicted,
                        matched,
                        recall: (truth > 0).then(|| matched as f64 / truth as f64),
                        precision: (predicted > 0).then(|| matched as f64 / predicted as f64),
                    };
                    (c.clone(), score)
                })
                .collect(),
        }
    }
}

/// Index of the best candidate by cosine similarity to `query` (embeddings need not be normalised).
pub fn best_match(query: &[f32], candidates: &[Vec<f32>]) -> Option<usize> {
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    let qn = norm(query);
    candidates
        .iter()
        .enumerate()
        .map(|(i, c)| {
            (
                i,
                query.iter().zip(c).map(|(a, b)| a * b).sum::<f32>() / (qn * norm(c)),
            )
        })
        .fold(None, |best: Option<(usize, f32)>, (i, s)| match best {
            Some((_, bs)) if bs >= s => best,
            _ => Some((i, s)),
        })
        .map(|(i, _)| i)
}

/// True when `candidates[0]` is strictly more similar (cosine) to `query` than every other candidate:
/// a retrieval hit (a tie is a miss, as in the recipe's scoring).
pub fn strictly_first(query: &[f32], candidates: &[Vec<f32>]) -> bool {
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    let qn = norm(query);
    let sim = |c: &[f32]| query.iter().zip(c).map(|(a, b)| a * b).sum::<f32>() / (qn * norm(c));
    match candidates.split_first() {
        Some((own, others)) => {
            let s0 = sim(own);
            others.iter().all(|c| s0 > sim(c))
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn car_at(x: f64, y: f64) -> GtBox {
        GtBox {
            class: "car".into(),
            id: 1,
            center: [x, y, 0.8],
            size: [4.0, 2.0, 1.6],
            yaw: 0.3,
            ignore: false,
        }
    }

    #[test]
    fn iou_and_recall_count_what_they_should() {
        let grid = BevGrid::default();
        let mut gt = GroundTruth {
            occupancy: vec![0; grid.cells()],
            ..Default::default()
        };
        let b = car_at(10.0, 2.0);
        let fp = b.footprint(&grid);
        assert!(
            fp.len() >= 24 && fp.len() <= 40,
            "4×2 m box at 0.5 m cells: {}",
            fp.len()
        );
        for &c in &fp {
            gt.occupancy[c] = 1;
        }
        gt.boxes.push(b);
        gt.boxes.push(GtBox {
            class: "pedestrian".into(),
            id: 2,
            center: [45.0, 20.0, 0.9],
            size: [0.6, 0.6, 1.8],
            yaw: 0.0,
            ignore: false,
        });

        let classes = ["background", "car", "truck", "pedestrian", "cyclist", "cone"].map(String::from);
        let mut acc = MetricsAccumulator::new(grid, 40.0, classes.to_vec());
        // perfect occupancy, but only half the footprint classed as car
        let occ: Vec<f32> = gt.occupancy.iter().map(|o| f32::from(*o)).collect();
        let mut class = vec![0u8; grid.cells()];
        class[fp[0]] = 1;
        acc.add_frame(&gt, &occ, &class);
        // a frame with nothing predicted
        acc.add_frame(&gt, &vec![0.0; grid.cells()], &vec![0; grid.cells()]);
        let found = |class: &str, x: f32, y: f32| sensorium_core::SceneObject {
            class: class.into(),
            x,
            y,
            ..Default::default()
        };
        // the car found 1.5 m off, a phantom pedestrian, the far pedestrian (beyond 40 m) not scored
        acc.add_objects(
            &gt,
            &[
                found("car", 11.0, 3.0),
                found("pedestrian", 5.0, 5.0),
                found("pedestrian", 45.0, 20.0),
            ],
        );
        // the car as a truck: no match
        acc.add_objects(&gt, &[found("truck", 10.0, 2.0)]);
        acc.add_query_trial(true);
        acc.add_query_trial(false);
        let m = acc.finish();
        assert_eq!(m.frames, 2);
        assert!((m.occupancy_iou - 0.5).abs() < 1e-9, "{}", m.occupancy_iou);
        assert_eq!(m.recall["car"], 0.5);
        assert!(!m.recall.contains_key("pedestrian"), "beyond 40 m is not scored");
        assert_eq!(m.query_top1, Some(0.5));
        assert_eq!(m.object_precision, Some(1.0 / 3.0));
        assert_eq!(m.object_recall, Some(0.5));
    }

    #[test]
    fn pedestrians_match_within_1_m_and_vehicles_within_2_m() {
        assert_eq!((object_match_m("Car"), object_match_m("truck")), (2.0, 2.0));
        assert_eq!(
            (object_match_m("pedestrian"), object_match_m("cyclist")),
            (1.0, 1.0)
        );
        let grid = BevGrid::default();
        let classes = ["background", "car", "truck", "pedestrian"].map(String::from);
        let mut acc = MetricsAccumulator::new(grid, 40.0, classes.to_vec());
        let gt = GroundTruth {
            boxes: vec![
                GtBox {
                    class: "pedestrian".into(),
                    id: 1,
                    center: [10.0, 0.0, 0.9],
                    size: [0.6, 0.6, 1.8],
                    yaw: 0.0,
                    ignore: false,
                },
                car_at(20.0, 5.0),
            ],
            ..Default::default()
        };
        let found = |class: &str, x: f32, y: f32| sensorium_core::SceneObject {
            class: class.into(),
            x,
            y,
            ..Default::default()
        };
        // 1.2 m from the pedestrian (no match), 1.8 m from the car (a match)
        acc.add_objects(&gt, &[found("pedestrian", 11.2, 0.0), found("car", 21.8, 5.0)]);
        let m = acc.finish();
        assert_eq!((m.object_precision, m.object_recall), (Some(0.5), Some(0.5)));
    }

    #[test]
    fn ignored_boxes_and_the_region_leave_objects_unscored_and_classes_are_scored_apart() {
        let grid = BevGrid::default();
        let classes = ["background", "car", "truck", "pedestrian"].map(String::from);
        let mut acc = MetricsAccumulator::new(grid, 40.0, classes.to_vec());
        // a camera at the origin looking along +x with ±45°
        acc.set_region(Some(Wedge {
            origin: [0.0, 0.0],
            heading: 0.0,
            half_angle: std::f64::consts::FRAC_PI_4,
        }));
        let van = GtBox {
            ignore: true,
            ..car_at(10.0, -3.0)
        };
        let gt = GroundTruth {
            boxes: vec![car_at(20.0, 5.0), van, car_at(10.0, 15.0), car_at(30.0, 0.0)],
            ..Default::default()
        };
        let found = |class: &str, x: f32, y: f32| sensorium_core::SceneObject {
            class: class.into(),
            x,
            y,
            ..Default::default()
        };
        acc.add_objects(
            &gt,
            &[
                found("car", 20.5, 5.0),       // matches the first car
                found("car", 10.2, -3.0),      // on the ignored van: neither a match nor a detection
                found("car", 10.0, 15.0),      // outside the field of view: not scored
                found("pedestrian", 5.0, 0.0), // a false detection
            ],
        );
        let m = acc.finish();
        assert_eq!(
            m.object_recall,
            Some(0.5),
            "two scored cars (the third is outside the view)"
        );
        assert_eq!(m.object_precision, Some(0.5));
        let car = &m.object_classes["car"];
        assert_eq!((car.truth, car.predicted, car.matched), (2, 1, 1));
        assert_eq!((car.recall, car.precision), (Some(0.5), Some(1.0)));
        let ped = &m.object_classes["pedestrian"];
        assert_eq!((ped.recall, ped.precision), (None, Some(0.0)));
        assert_eq!(m.object_classes["truck"].recall, None);
        assert!(!m.object_classes.contains_key("background"));
    }

    #[test]
    fn a_tie_is_not_a_retrieval_hit() {
        let q = [1.0, 0.0];
        assert!(strictly_first(&q, &[vec![1.0, 0.1], vec![0.0, 1.0]]));
        assert!(
            !strictly_first(&q, &[vec![1.0, 0.0], vec![2.0, 0.0]]),
            "same direction: a tie"
        );
        assert!(!strictly_first(&q, &[vec![0.0, 1.0], vec![1.0, 0.0]]));
        assert!(!strictly_first(&q, &[]));
    }

    #[test]
    fn best_match_is_cosine_argmax() {
        let c = vec![vec![1.0, 0.0], vec![0.6, 0.8], vec![-1.0, 0.0]];
        assert_eq!(best_match(&[0.5, 0.6], &c), Some(1));
        assert_eq!(best_match(&[3.0, 0.1], &c), Some(0));
        assert_eq!(best_match(&[1.0, 0.0], &[]), None);
    }
}
