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
}

/// Ground truth for one frame (decoded from the sim's ground-truth topic).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroundTruth {
    pub stamp: f64,
    pub boxes: Vec<GtBox>,
    /// Row-major occupancy (0/1) on the spec grid.
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
        }
    }

    /// Adds one frame: predicted occupancy probabilities and classes (row-major, spec grid).
    pub fn add_frame(&mut self, gt: &GroundTruth, occ_prob: &[f32], class: &[u8]) {
        self.frames += 1;
        for (i, inside) in self.within.iter().enumerate() {
            if !inside {
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
            if ci == 0
                || (x * x + y * y).sqrt() > self.radius
                || self.grid.cell_of(x as f32, y as f32, 0.0).is_none()
            {
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
        acc.add_query_trial(true);
        acc.add_query_trial(false);
        let m = acc.finish();
        assert_eq!(m.frames, 2);
        assert!((m.occupancy_iou - 0.5).abs() < 1e-9, "{}", m.occupancy_iou);
        assert_eq!(m.recall["car"], 0.5);
        assert!(!m.recall.contains_key("pedestrian"), "beyond 40 m is not scored");
        assert_eq!(m.query_top1, Some(0.5));
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
