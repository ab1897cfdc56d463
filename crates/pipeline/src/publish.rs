//! What the pipeline publishes, as ROS messages: shared by the node and `replay --record`.

use sensorium_core::Scene;
use sensorium_msgs::{Header, MapMetaData, OccupancyGrid, Pose};

/// The scene's occupancy as `nav_msgs/OccupancyGrid` in the scene frame.
///
/// nav_msgs grids are row-major along y with x along a row; the BEV grid has rows along x (forward)
/// and columns along y (left), so cell (x index i, y index j) is `data[j * width + i]` with
/// `width` = number of x cells. Values are occupancy probabilities in percent (0..100); a non-finite
/// cell (nothing observed) is unknown, -1.
pub fn occupancy_grid(scene: &Scene, seq: u32) -> OccupancyGrid {
    let bev = &scene.bev;
    let (nx, ny) = (bev.height as usize, bev.width as usize); // rows = x cells, cols = y cells
    let mut data = vec![-1i8; nx * ny];
    for i in 0..nx {
        for j in 0..ny {
            if let Some(p) = bev.occupancy.get(i * ny + j) {
                data[j * nx + i] = if p.is_finite() {
                    (p.clamp(0.0, 1.0) * 100.0).round() as i8
                } else {
                    -1
                };
            }
        }
    }
    OccupancyGrid {
        header: Header {
            seq,
            stamp: scene.stamp,
            frame_id: scene.frame_id.clone(),
        },
        info: MapMetaData {
            map_load_time: scene.stamp,
            resolution: bev.resolution,
            width: nx as u32,
            height: ny as u32,
            origin: Pose {
                position: [f64::from(bev.origin_x), f64::from(bev.origin_y), 0.0],
                ..Default::default()
            },
        },
        data,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_axes_follow_nav_msgs() {
        let mut s = Scene {
            frame_id: "base_link".into(),
            ..Default::default()
        };
        s.bev.resolution = 0.5;
        s.bev.width = 3; // y cells
        s.bev.height = 2; // x cells
        s.bev.origin_x = 0.0;
        s.bev.origin_y = -0.75;
        s.bev.occupancy = vec![0.0, 0.0, 0.9, 0.0, 0.5, 0.0]; // row 0 (x near): leftmost y occupied
        let g = occupancy_grid(&s, 7);
        assert_eq!((g.info.width, g.info.height), (2, 3));
        // x index 0, y index 2 (left) → data[2 * 2 + 0]
        assert_eq!(g.data[4], 90);
        // x index 1, y index 1 → data[1 * 2 + 1]
        assert_eq!(g.data[3], 50);
        assert_eq!(g.data.iter().filter(|v| **v > 0).count(), 2);
        assert_eq!(g.info.origin.position, [0.0, -0.75, 0.0]);
        assert_eq!(g.header.frame_id, "base_link");
    }
}
