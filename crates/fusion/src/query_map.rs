//! Per-query BEV similarity maps: where in the grid a text query ("pedestrian", "construction zone")
//! is, not only whether the scene as a whole matches it.
//!
//! The fusion model's heads are per cell in a fixed class vocabulary (MODEL_SPEC "Classes"), its
//! scene embedding is global; a cell has no embedding of its own in the text space. So a cell is put
//! there through its class distribution: the query's relevance to each class is the softmax over
//! classes of the cosine similarity between the query's and the class name's text embeddings (at the
//! CLIP temperature, [`TEMPERATURE`]), scaled by that similarity (clamped at 0, so a query unlike
//! every class lights nothing); a cell's value is its occupancy probability times the expectation of
//! that relevance under the cell's class softmax. Values lie in 0..1. The class-name embeddings and
//! relevances are computed once per query; per frame the cost is one softmax per cell and one dot
//! product per cell and query.

/// Softmax temperature over class similarities (CLIP's learned value, 1 / 14.3).
pub const TEMPERATURE: f32 = 0.07;

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (na * nb).max(1e-12)
}

/// The relevance of a query to each class: `class_embeddings[c]` is class `c`'s name embedded by the
/// text encoder; class 0 (background / free) always gets 0.
pub fn class_relevance(query: &[f32], class_embeddings: &[Vec<f32>]) -> Vec<f32> {
    let sims: Vec<f32> = class_embeddings.iter().map(|e| cosine(query, e)).collect();
    let mut out = vec![0.0f32; sims.len()];
    let Some(top) = sims
        .iter()
        .skip(1)
        .copied()
        .fold(None, |m: Option<f32>, s| Some(m.map_or(s, |m| m.max(s))))
    else {
        return out;
    };
    let z: f32 = sims.iter().skip(1).map(|s| ((s - top) / TEMPERATURE).exp()).sum();
    for (c, s) in sims.iter().enumerate().skip(1) {
        out[c] = ((s - top) / TEMPERATURE).exp() / z * s.max(0.0);
    }
    out
}

/// One map per entry of `relevance` (from [`class_relevance`]), written into `maps` (resized):
/// `occupancy` is the probability per cell, `class_logits` channel-major `classes × cells`. Values are
/// rounded to 0.001.
pub fn similarity_maps(
    occupancy: &[f32],
    class_logits: &[f32],
    classes: usize,
    relevance: &[Vec<f32>],
    maps: &mut Vec<Vec<f32>>,
) {
    let cells = occupancy.len();
    maps.resize_with(relevance.len(), Vec::new);
    for m in maps.iter_mut() {
        m.clear();
        m.resize(cells, 0.0);
    }
    if classes == 0 || class_logits.len() < classes * cells {
        return;
    }
    let mut p = vec![0.0f32; classes];
    for (cell, occ) in occupancy.iter().enumerate() {
        let top = (0..classes)
            .map(|c| class_logits[c * cells + cell])
            .fold(f32::NEG_INFINITY, f32::max);
        let mut z = 0.0;
        for (c, pc) in p.iter_mut().enumerate() {
            *pc = (class_logits[c * cells + cell] - top).exp();
            z += *pc;
        }
        let scale = occ / z.max(1e-30);
        for (m, r) in maps.iter_mut().zip(relevance) {
            let e: f32 = p.iter().zip(r).map(|(a, b)| a * b).sum();
            // to 1/1000: the maps are for display and thresholds, and text renderings (JSON lines) stay short
            m[cell] = ((e * scale).clamp(0.0, 1.0) * 1000.0).round() / 1000.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classes() -> Vec<Vec<f32>> {
        // background, car, pedestrian: orthogonal unit embeddings
        vec![vec![1.0, 0.0, 0.0], vec![0.0, 1.0, 0.0], vec![0.0, 0.0, 1.0]]
    }

    #[test]
    fn a_class_name_query_is_relevant_to_its_class_only() {
        let r = class_relevance(&[0.0, 0.0, 1.0], &classes());
        assert_eq!(r[0], 0.0);
        assert!(r[2] > 0.99 && r[1] < 1e-3, "{r:?}");
        // unlike every class (only like background): nothing
        let r = class_relevance(&[1.0, 0.0, 0.0], &classes());
        assert!(r.iter().all(|v| *v < 1e-6), "{r:?}");
        // halfway between car and pedestrian: both, equally
        let r = class_relevance(&[0.0, 1.0, 1.0], &classes());
        assert!((r[1] - r[2]).abs() < 1e-6 && r[1] > 0.3, "{r:?}");
    }

    #[test]
    fn maps_follow_class_and_occupancy() {
        // 3 cells: a confident pedestrian, a confident car, an empty cell that "looks like" a pedestrian
        let occupancy = [0.9, 0.9, 0.05];
        let mut logits = vec![0.0f32; 3 * 3];
        logits[2 * 3] = 8.0; // cell 0: pedestrian
        logits[3 + 1] = 8.0; // cell 1: car
        logits[2 * 3 + 2] = 8.0; // cell 2: pedestrian class but unoccupied
        let rel = vec![class_relevance(&[0.0, 0.0, 1.0], &classes())];
        let mut maps = Vec::new();
        similarity_maps(&occupancy, &logits, 3, &rel, &mut maps);
        let m = &maps[0];
        assert!(m[0] > 0.85, "{m:?}");
        assert!(m[1] < 0.01, "{m:?}");
        assert!(m[2] < 0.06, "{m:?}");
        // the same maps from a numpy-style reference: occ * sum softmax * relevance
        for (cell, occ) in occupancy.iter().enumerate() {
            let l: Vec<f32> = (0..3).map(|c| logits[c * 3 + cell]).collect();
            let z: f32 = l.iter().map(|v| v.exp()).sum();
            let want: f32 = occ * l.iter().zip(&rel[0]).map(|(v, r)| v.exp() / z * r).sum::<f32>();
            // the maps are rounded to 1/1000
            assert!(
                (m[cell] - want).abs() <= 0.0005 + 1e-6,
                "cell {cell}: {} vs {want}",
                m[cell]
            );
        }
    }
}
