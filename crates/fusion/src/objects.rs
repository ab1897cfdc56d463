//! Objects from the BEV heads: connected cells of one class become one object with a class, a score,
//! an oriented box (centre, yaw, length, width from the cells; z and height from the LiDAR points in
//! them) and the number of points that support it.

use crate::grid::BevGrid;
use crate::pillars::EgoPoints;
use sensorium_core::SceneObject;

/// Per BEV cell: the lowest and highest LiDAR point and how many points fell in it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Columns {
    pub z_min: Vec<f32>,
    pub z_max: Vec<f32>,
    pub count: Vec<u32>,
}

impl Columns {
    /// The column statistics of `points` (cropped to `grid`, with their cells).
    pub fn of(points: &EgoPoints, grid: &BevGrid) -> Columns {
        let cells = grid.cells();
        let mut c = Columns {
            z_min: vec![f32::INFINITY; cells],
            z_max: vec![f32::NEG_INFINITY; cells],
            count: vec![0; cells],
        };
        for (&cell, &z) in points.cell.iter().zip(&points.z) {
            let i = cell as usize;
            if let (Some(lo), Some(hi), Some(n)) =
                (c.z_min.get_mut(i), c.z_max.get_mut(i), c.count.get_mut(i))
            {
                *lo = lo.min(z);
                *hi = hi.max(z);
                *n += 1;
            }
        }
        c
    }
}

/// Extraction settings.
#[derive(Debug, Clone, Copy)]
pub struct ObjectParams {
    /// A cell belongs to an object when its occupancy probability exceeds this.
    pub occupancy: f32,
    /// Smallest object, in cells.
    pub min_cells: usize,
}

impl Default for ObjectParams {
    fn default() -> Self {
        ObjectParams {
            occupancy: 0.5,
            min_cells: 1,
        }
    }
}

/// Objects of the scene: 8-connected cells with occupancy above `p.occupancy` and the same non-background
/// arg-max class. `class_prob` is each cell's probability of its arg-max class (the score is the mean of
/// occupancy × class probability over the object's cells); `classes` names the class indices; `columns`
/// (may be empty: no LiDAR) gives z and height. Sorted by score, highest first.
pub fn extract(
    grid: &BevGrid,
    occupancy: &[f32],
    class: &[u8],
    class_prob: &[f32],
    classes: &[String],
    columns: &Columns,
    p: ObjectParams,
) -> Vec<SceneObject> {
    let (rows, cols) = (grid.rows(), grid.cols());
    let cells = rows * cols;
    if occupancy.len() < cells || class.len() < cells {
        return Vec::new();
    }
    let member = |i: usize| occupancy[i] > p.occupancy && class[i] != 0;
    let mut seen = vec![false; cells];
    let mut stack = Vec::new();
    let mut component = Vec::new();
    let mut out = Vec::new();
    for start in 0..cells {
        if seen[start] || !member(start) {
            continue;
        }
        let k = class[start];
        seen[start] = true;
        stack.push(start);
        component.clear();
        while let Some(i) = stack.pop() {
            component.push(i);
            let (r, c) = ((i / cols) as isize, (i % cols) as isize);
            for dr in -1..=1isize {
                for dc in -1..=1isize {
                    let (nr, nc) = (r + dr, c + dc);
                    if nr < 0 || nc < 0 || nr >= rows as isize || nc >= cols as isize {
                        continue;
                    }
                    let j = nr as usize * cols + nc as usize;
                    if !seen[j] && member(j) && class[j] == k {
                        seen[j] = true;
                        stack.push(j);
                    }
                }
            }
        }
        if component.len() < p.min_cells {
            continue;
        }
        if let Some(o) = object_of(grid, &component, occupancy, class_prob, classes, k, columns) {
            out.push(o);
        }
    }
    out.sort_by(|a, b| b.score.total_cmp(&a.score));
    out
}

fn object_of(
    grid: &BevGrid,
    cells: &[usize],
    occupancy: &[f32],
    class_prob: &[f32],
    classes: &[String],
    k: u8,
    columns: &Columns,
) -> Option<SceneObject> {
    let name = classes.get(usize::from(k))?.clone();
    let n = cells.len() as f64;
    let centres: Vec<(f64, f64)> = cells
        .iter()
        .map(|&i| {
            let (x, y) = grid.centre(i);
            (f64::from(x), f64::from(y))
        })
        .collect();
    let (mx, my) = centres
        .iter()
        .fold((0.0, 0.0), |(sx, sy), (x, y)| (sx + x / n, sy + y / n));
    // principal axis of the cell centres: the object's heading (up to its sign)
    let (mut sxx, mut syy, mut sxy) = (0.0, 0.0, 0.0);
    for (x, y) in &centres {
        let (dx, dy) = (x - mx, y - my);
        sxx += dx * dx;
        syy += dy * dy;
        sxy += dx * dy;
    }
    let mut yaw = 0.5 * (2.0 * sxy).atan2(sxx - syy);
    let (cy, sy) = (yaw.cos(), yaw.sin());
    let (mut lo_u, mut hi_u, mut lo_v, mut hi_v) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for (x, y) in &centres {
        let (dx, dy) = (x - mx, y - my);
        let (u, v) = (cy * dx + sy * dy, -sy * dx + cy * dy);
        lo_u = lo_u.min(u);
        hi_u = hi_u.max(u);
        lo_v = lo_v.min(v);
        hi_v = hi_v.max(v);
    }
    let res = f64::from(grid.res);
    let (mut length, mut width) = (hi_u - lo_u + res, hi_v - lo_v + res);
    // the box centre is the middle of the extents along the axes
    let (cu, cv) = ((lo_u + hi_u) / 2.0, (lo_v + hi_v) / 2.0);
    let (x, y) = (mx + cy * cu - sy * cv, my + sy * cu + cy * cv);
    if width > length {
        std::mem::swap(&mut length, &mut width);
        yaw += std::f64::consts::FRAC_PI_2;
    }
    // heading within (-π/2, π/2]: a box looks the same both ways
    while yaw > std::f64::consts::FRAC_PI_2 {
        yaw -= std::f64::consts::PI;
    }
    while yaw <= -std::f64::consts::FRAC_PI_2 {
        yaw += std::f64::consts::PI;
    }
    let score = cells
        .iter()
        .map(|&i| f64::from(occupancy[i]) * f64::from(class_prob.get(i).copied().unwrap_or(1.0)))
        .sum::<f64>()
        / n;
    let (mut z_lo, mut z_hi, mut points) = (f32::INFINITY, f32::NEG_INFINITY, 0u32);
    for &i in cells {
        if let (Some(&lo), Some(&hi), Some(&c)) =
            (columns.z_min.get(i), columns.z_max.get(i), columns.count.get(i))
        {
            if c > 0 {
                z_lo = z_lo.min(lo);
                z_hi = z_hi.max(hi);
                points += c;
            }
        }
    }
    let (z, height) = if points > 0 {
        ((z_lo + z_hi) / 2.0, z_hi - z_lo)
    } else {
        (0.0, 0.0)
    };
    Some(SceneObject {
        class: name,
        score: score as f32,
        x: x as f32,
        y: y as f32,
        z,
        yaw: yaw as f32,
        length: length as f32,
        width: width as f32,
        height,
        points,
        class_id: k,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid() -> BevGrid {
        BevGrid {
            x_min: 0.0,
            x_max: 10.0,
            y_min: -5.0,
            y_max: 5.0,
            z_min: -3.0,
            z_max: 4.0,
            res: 0.5,
        }
    }

    fn classes() -> Vec<String> {
        ["background", "car", "pedestrian"].map(String::from).to_vec()
    }

    /// Marks the cells whose centre lies in the rotated rectangle `(centre x, centre y, length, width, yaw)`.
    fn paint_box(g: &BevGrid, occ: &mut [f32], class: &mut [u8], k: u8, b: (f32, f32, f32, f32, f32)) {
        for i in 0..g.cells() {
            let (x, y) = g.centre(i);
            let (cx, cy, l, w, yaw) = b;
            let (dx, dy) = (x - cx, y - cy);
            let (u, v) = (yaw.cos() * dx + yaw.sin() * dy, -yaw.sin() * dx + yaw.cos() * dy);
            if u.abs() <= l / 2.0 && v.abs() <= w / 2.0 {
                occ[i] = 0.9;
                class[i] = k;
            }
        }
    }

    #[test]
    fn two_boxes_become_two_objects_with_their_pose_and_size() {
        let g = grid();
        let (mut occ, mut class) = (vec![0.05; g.cells()], vec![0u8; g.cells()]);
        // a car 4 × 2 m along x at (5, 2); a pedestrian 1 × 1 m at (3, -3)
        paint_box(&g, &mut occ, &mut class, 1, (5.0, 2.0, 4.0, 2.0, 0.0));
        paint_box(&g, &mut occ, &mut class, 2, (3.0, -3.0, 1.0, 1.0, 0.0));
        let mut pts = EgoPoints::default();
        for (x, y, z) in [(5.0, 2.0, -1.5), (5.5, 2.2, -0.1), (3.0, -3.0, 0.2)] {
            pts.x.push(x);
            pts.y.push(y);
            pts.z.push(z);
            pts.intensity.push(0.0);
            pts.cell.push(g.cell_of(x, y, z).expect("inside") as u32);
            pts.source.push(0);
        }
        let columns = Columns::of(&pts, &g);
        let prob = vec![0.8; g.cells()];
        let objects = extract(
            &g,
            &occ,
            &class,
            &prob,
            &classes(),
            &columns,
            ObjectParams::default(),
        );
        assert_eq!(objects.len(), 2, "{objects:?}");
        let car = objects.iter().find(|o| o.class == "car").expect("car");
        assert!(
            (car.x - 5.0).abs() < 0.26 && (car.y - 2.0).abs() < 0.26,
            "{car:?}"
        );
        assert!(
            (car.length - 4.0).abs() <= 0.5 && (car.width - 2.0).abs() <= 0.5,
            "{car:?}"
        );
        assert!(car.yaw.abs() < 0.05, "{car:?}");
        assert_eq!(car.points, 2);
        assert!(
            (car.z - -0.8).abs() < 1e-5 && (car.height - 1.4).abs() < 1e-5,
            "{car:?}"
        );
        assert!((car.score - 0.72).abs() < 1e-5, "{car:?}");
        let ped = objects
            .iter()
            .find(|o| o.class == "pedestrian")
            .expect("pedestrian");
        assert_eq!(ped.points, 1);
        assert_eq!(ped.height, 0.0);
    }

    #[test]
    fn a_rotated_box_keeps_its_heading_and_extents() {
        let g = grid();
        let (mut occ, mut class) = (vec![0.0; g.cells()], vec![0u8; g.cells()]);
        let yaw = 0.6f32;
        paint_box(&g, &mut occ, &mut class, 1, (5.0, 0.0, 5.0, 2.0, yaw));
        let objects = extract(
            &g,
            &occ,
            &class,
            &[],
            &classes(),
            &Columns::default(),
            ObjectParams::default(),
        );
        assert_eq!(objects.len(), 1);
        let o = &objects[0];
        assert!((o.yaw - yaw).abs() < 0.1, "{o:?}");
        assert!(
            (o.length - 5.0).abs() < 1.0 && (o.width - 2.0).abs() < 0.8,
            "{o:?}"
        );
        assert!((o.x - 5.0).abs() < 0.3 && o.y.abs() < 0.3, "{o:?}");
        assert_eq!((o.points, o.z, o.height), (0, 0.0, 0.0), "no LiDAR: no height");
    }

    #[test]
    fn touching_cells_of_two_classes_stay_apart_and_small_blobs_can_be_dropped() {
        let g = grid();
        let (mut occ, mut class) = (vec![0.0; g.cells()], vec![0u8; g.cells()]);
        paint_box(&g, &mut occ, &mut class, 1, (5.0, 0.0, 2.0, 2.0, 0.0));
        paint_box(&g, &mut occ, &mut class, 2, (6.5, 0.0, 1.0, 1.0, 0.0));
        let p = ObjectParams::default();
        let objects = extract(&g, &occ, &class, &[], &classes(), &Columns::default(), p);
        assert_eq!(objects.len(), 2);
        let p = ObjectParams { min_cells: 5, ..p };
        let objects = extract(&g, &occ, &class, &[], &classes(), &Columns::default(), p);
        assert_eq!(objects.len(), 1);
        assert_eq!(objects[0].class, "car");
        // below the occupancy threshold: nothing
        let low = vec![0.4; g.cells()];
        assert!(extract(&g, &low, &class, &[], &classes(), &Columns::default(), p).is_empty());
    }
}
