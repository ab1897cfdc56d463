//! What the pipeline publishes, as ROS messages: shared by the node and `replay --record`.

use sensorium_core::{Modality, Scene, Stamp};
use sensorium_fusion::pillars::EgoPoints;
use sensorium_msgs::{
    FieldType, Header, MapMetaData, Marker, MarkerArray, OccupancyGrid, PointCloud2, PointField, Pose,
};

/// `~painted_points` (`sensor_msgs/PointCloud2`, in the scene frame): the LiDAR points the scene used
/// (ego frame, cropped to the grid) with what painting gave each. Float32 fields `x`, `y`, `z`,
/// `intensity`, `seen` (1 where the point projects into the camera image, 0 elsewhere and in
/// LiDAR-only scenes) and `f0 … f{C-1}`, the image features sampled at the point's projection (zeros
/// when unseen). RViz colours by any of them (PointCloud2 display, Channel Name).
///
/// `painted` holds `width` values per point: `width - 1` feature channels, then the flag
/// ([`sensorium_fusion::paint`]'s layout). A length mismatch gives an empty cloud with the fields.
pub fn painted_points(
    ego: &EgoPoints,
    painted: &[f32],
    width: usize,
    stamp: Stamp,
    frame_id: &str,
    seq: u32,
) -> PointCloud2 {
    let channels = width.saturating_sub(1);
    let mut fields: Vec<PointField> = ["x", "y", "z", "intensity", "seen"]
        .iter()
        .map(|n| n.to_string())
        .chain((0..channels).map(|c| format!("f{c}")))
        .enumerate()
        .map(|(k, name)| PointField::new(&name, 4 * k as u32, FieldType::F32))
        .collect();
    fields.shrink_to_fit();
    let point_step = 4 * fields.len();
    let n = if width > 0 && painted.len() == ego.len() * width {
        ego.len()
    } else {
        0
    };
    let mut data = Vec::with_capacity(n * point_step);
    let xyzi = ego.x.iter().zip(&ego.y).zip(&ego.z).zip(&ego.intensity);
    for ((((x, y), z), i), p) in xyzi.zip(painted.chunks_exact(width.max(1))).take(n) {
        let (features, flag) = p.split_at(channels);
        for v in [*x, *y, *z, *i].iter().chain(flag).chain(features) {
            data.extend_from_slice(&v.to_le_bytes());
        }
    }
    let n = data.len() / point_step;
    PointCloud2 {
        header: Header {
            seq,
            stamp,
            frame_id: frame_id.to_string(),
        },
        height: 1,
        width: n as u32,
        fields,
        is_bigendian: false,
        point_step: point_step as u32,
        row_step: (point_step * n) as u32,
        data,
        is_dense: true,
    }
}

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

/// Marker types and actions of `visualization_msgs/Marker`.
const CUBE: i32 = 1;
const LINE_STRIP: i32 = 4;
const TEXT_VIEW_FACING: i32 = 9;
const ADD: i32 = 0;
const DELETE: i32 = 2;

/// Most query rows the markers show (ids of the `sensorium/queries` namespace are 0..MAX_QUERY_MARKERS).
pub const MAX_QUERY_MARKERS: usize = 16;

/// Most objects the markers show, highest score first (ids 0..MAX_OBJECT_MARKERS of `sensorium/objects`
/// and `sensorium/object_labels`).
pub const MAX_OBJECT_MARKERS: usize = 64;

/// Height of an object box drawn for an object without LiDAR points (m).
const FLAT_BOX_M: f64 = 0.2;

/// `~markers` for RViz, in the scene frame: the BEV extent (`sensorium/extent`, a line strip on the
/// ground), the modality status above the ego origin (`sensorium/status`, green when camera and LiDAR
/// are both in the scene, orange when degraded), one text row per text query with its score
/// (`sensorium/queries`, brighter for higher scores), and per scene object a translucent box in its
/// class colour (`sensorium/objects`, a CUBE: centre, yaw, length × width × height) with its class and
/// score above it (`sensorium/object_labels`). Rows and objects beyond the scene's are deleted, so a
/// shorter list leaves nothing stale. Same ids every scene: RViz replaces them in place.
pub fn scene_markers(scene: &Scene, seq: u32) -> MarkerArray {
    let header = Header {
        seq,
        stamp: scene.stamp,
        frame_id: scene.frame_id.clone(),
    };
    let bev = &scene.bev;
    let (x0, y0) = (f64::from(bev.origin_x), f64::from(bev.origin_y));
    let res = f64::from(bev.resolution);
    // rows run along x, columns along y (see occupancy_grid)
    let (x1, y1) = (x0 + f64::from(bev.height) * res, y0 + f64::from(bev.width) * res);
    let base = |ns: &str, id: i32, kind: i32| Marker {
        header: header.clone(),
        ns: ns.into(),
        id,
        kind,
        action: ADD,
        pose: Pose::default(),
        ..Default::default()
    };
    let mut markers = Vec::with_capacity(2 + MAX_QUERY_MARKERS + 2 * MAX_OBJECT_MARKERS);
    markers.push(Marker {
        scale: [0.15, 0.0, 0.0],
        color: [0.3, 0.7, 1.0, 0.9],
        points: vec![
            [x0, y0, 0.0],
            [x1, y0, 0.0],
            [x1, y1, 0.0],
            [x0, y1, 0.0],
            [x0, y0, 0.0],
        ],
        ..base("sensorium/extent", 0, LINE_STRIP)
    });
    let mask = scene.mask;
    let full = mask.contains(Modality::Camera) && mask.contains(Modality::Lidar);
    let on = |m: Modality, name: &str| format!("{name} {}", if mask.contains(m) { "on" } else { "off" });
    markers.push(Marker {
        pose: Pose {
            position: [0.0, 0.0, 3.0],
            ..Pose::default()
        },
        scale: [0.0, 0.0, 0.8],
        color: if full {
            [0.2, 0.9, 0.2, 1.0]
        } else {
            [1.0, 0.6, 0.0, 1.0]
        },
        text: format!(
            "{} | {} | {}",
            on(Modality::Camera, "camera"),
            on(Modality::Lidar, "lidar"),
            on(Modality::MapText, "map text")
        ),
        ..base("sensorium/status", 0, TEXT_VIEW_FACING)
    });
    for i in 0..MAX_QUERY_MARKERS {
        let id = i as i32;
        markers.push(match scene.queries.get(i) {
            Some(q) => {
                let g = q.score.clamp(0.0, 1.0);
                Marker {
                    pose: Pose {
                        position: [0.0, 0.0, 4.0 + 0.7 * i as f64],
                        ..Pose::default()
                    },
                    scale: [0.0, 0.0, 0.6],
                    color: [1.0 - g, 0.4 + 0.6 * g, 0.4, 1.0],
                    text: format!("{}: {:.2}", q.query, q.score),
                    ..base("sensorium/queries", id, TEXT_VIEW_FACING)
                }
            }
            None => Marker {
                action: DELETE,
                ..base("sensorium/queries", id, TEXT_VIEW_FACING)
            },
        });
    }
    for i in 0..MAX_OBJECT_MARKERS {
        let id = i as i32;
        match scene.objects.get(i) {
            Some(o) => {
                let [r, g, b] = sensorium_fusion::render::class_colour(usize::from(o.class_id));
                let rgb = [f32::from(r) / 255.0, f32::from(g) / 255.0, f32::from(b) / 255.0];
                let height = if o.height > 0.0 {
                    f64::from(o.height)
                } else {
                    FLAT_BOX_M
                };
                let z = if o.points > 0 {
                    f64::from(o.z)
                } else {
                    FLAT_BOX_M / 2.0
                };
                let half = f64::from(o.yaw) / 2.0;
                markers.push(Marker {
                    pose: Pose {
                        position: [f64::from(o.x), f64::from(o.y), z],
                        orientation: [0.0, 0.0, half.sin(), half.cos()],
                    },
                    scale: [f64::from(o.length), f64::from(o.width), height],
                    color: [rgb[0], rgb[1], rgb[2], 0.5],
                    ..base("sensorium/objects", id, CUBE)
                });
                markers.push(Marker {
                    pose: Pose {
                        position: [f64::from(o.x), f64::from(o.y), z + height / 2.0 + 0.5],
                        ..Pose::default()
                    },
                    scale: [0.0, 0.0, 0.5],
                    color: [rgb[0], rgb[1], rgb[2], 1.0],
                    text: format!("{} {:.2}", o.class, o.score),
                    ..base("sensorium/object_labels", id, TEXT_VIEW_FACING)
                });
            }
            None => {
                for (ns, kind) in [
                    ("sensorium/objects", CUBE),
                    ("sensorium/object_labels", TEXT_VIEW_FACING),
                ] {
                    markers.push(Marker {
                        action: DELETE,
                        ..base(ns, id, kind)
                    });
                }
            }
        }
    }
    MarkerArray { markers }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn painted_points_carry_position_flag_and_features() {
        use sensorium_msgs::{PointCloud2View, RosMessage};
        let ego = EgoPoints {
            x: vec![1.0, 2.0, 3.0],
            y: vec![-1.0, 0.0, 1.0],
            z: vec![0.5, 0.25, 0.0],
            intensity: vec![10.0, 20.0, 30.0],
            cell: vec![0, 1, 2],
            source: vec![4, 5, 6],
        };
        // two channels + flag per point; the middle point is unseen
        let painted = [0.1, 0.2, 1.0, 0.0, 0.0, 0.0, 0.7, 0.8, 1.0];
        let c = painted_points(&ego, &painted, 3, Stamp::new(5, 6), "base_link", 9);
        let wire = PointCloud2::decode(&c.to_bytes()).expect("round trip");
        let v = PointCloud2View::new(&wire).expect("view");
        assert_eq!(v.len(), 3);
        let names: Vec<&str> = wire.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["x", "y", "z", "intensity", "seen", "f0", "f1"]);
        let col = |n: &str| v.field_f64(n).expect(n);
        assert_eq!(col("x"), [1.0, 2.0, 3.0]);
        assert_eq!(col("intensity"), [10.0, 20.0, 30.0]);
        assert_eq!(col("seen"), [1.0, 0.0, 1.0]);
        assert!((col("f1")[2] - 0.8).abs() < 1e-6 && (col("f0")[0] - 0.1).abs() < 1e-6);
        assert_eq!((wire.header.seq, wire.header.frame_id.as_str()), (9, "base_link"));
        // a painted buffer of the wrong length: no points, same fields
        let empty = painted_points(&ego, &painted[..8], 3, Stamp::new(5, 6), "base_link", 9);
        assert_eq!((empty.width, empty.fields.len(), empty.data.len()), (0, 7, 0));
    }

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

    #[test]
    fn markers_outline_the_grid_and_list_the_queries() {
        use sensorium_core::{ModalityMask, QueryScore};
        use sensorium_msgs::RosMessage;
        let mut s = Scene {
            frame_id: "base_link".into(),
            mask: ModalityMask::default().with(Modality::Lidar),
            queries: vec![
                QueryScore {
                    query: "a pedestrian".into(),
                    score: 0.8,
                    map: Vec::new(),
                },
                QueryScore {
                    query: "a truck".into(),
                    score: 0.1,
                    map: Vec::new(),
                },
            ],
            ..Default::default()
        };
        s.bev.resolution = 0.5;
        s.bev.width = 4; // y cells
        s.bev.height = 10; // x cells
        s.bev.origin_x = -1.0;
        s.bev.origin_y = -1.0;
        let m = scene_markers(&s, 3);
        assert_eq!(m.markers.len(), 2 + MAX_QUERY_MARKERS + 2 * MAX_OBJECT_MARKERS);
        let extent = &m.markers[0];
        assert_eq!(extent.points[2], [4.0, 1.0, 0.0]); // far corner: x0 + 10 × 0.5, y0 + 4 × 0.5
        assert_eq!(extent.points.first(), extent.points.last());
        let status = &m.markers[1];
        assert_eq!(status.text, "camera off | lidar on | map text off");
        assert!(
            status.color[0] > status.color[2],
            "degraded is orange: {:?}",
            status.color
        );
        assert_eq!(m.markers[2].text, "a pedestrian: 0.80");
        assert_eq!(m.markers[3].text, "a truck: 0.10");
        assert!(m.markers[4..].iter().all(|k| k.action == DELETE));
        assert!(m
            .markers
            .iter()
            .all(|k| k.header.frame_id == "base_link" && k.header.seq == 3));
        // the wire form decodes to the same markers
        assert_eq!(MarkerArray::decode(&m.to_bytes()).expect("decodes"), m);
        // objects: a box and a label each, the rest deleted
        s.objects = vec![sensorium_core::SceneObject {
            class: "car".into(),
            score: 0.9,
            x: 10.0,
            y: 2.0,
            z: 0.8,
            yaw: std::f32::consts::FRAC_PI_2,
            length: 4.5,
            width: 1.9,
            height: 1.5,
            points: 80,
            class_id: 1,
        }];
        let m = scene_markers(&s, 4);
        let at = 2 + MAX_QUERY_MARKERS;
        let (cube, label) = (&m.markers[at], &m.markers[at + 1]);
        assert_eq!(
            (cube.ns.as_str(), cube.kind, cube.action),
            ("sensorium/objects", CUBE, ADD)
        );
        assert_eq!(cube.pose.position, [10.0, 2.0, f64::from(0.8f32)]);
        assert_eq!(cube.scale, [4.5, f64::from(1.9f32), 1.5]);
        let q = cube.pose.orientation;
        assert!(
            q[0] == 0.0 && q[1] == 0.0 && (q[2] - q[3]).abs() < 1e-6,
            "90° about z: {q:?}"
        );
        assert_eq!(label.text, "car 0.90");
        assert!(label.pose.position[2] > 0.8 + 0.75, "label above the box");
        assert!(m.markers[at + 2..].iter().all(|k| k.action == DELETE));
        assert_eq!(MarkerArray::decode(&m.to_bytes()).expect("decodes"), m);
    }
}
