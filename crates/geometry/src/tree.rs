//! A static transform tree (what `/tf_static` describes): frames keyed by id, each with one parent.
//!
//! An edge `insert(parent, child, T)` stores `T = T_parent_child`, the pose of `child` in `parent`: it maps
//! points expressed in `child` into `parent` (tf's convention). `lookup(target, source)` returns
//! `T_target_source`, composing through the frames' common ancestor.
//!
//! Besides the rigid [`Isometry3`], each edge keeps the 4×4 matrix exactly as the calibration file gave it
//! (KITTI's matrices are rotations only to 7 digits); [`TransformTree::lookup_matrix`] composes those, so
//! projections reproduce the file's numbers exactly.

use crate::error::{GeometryError, Result};
use nalgebra::{Isometry3, Matrix4};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq)]
struct Edge {
    parent: String,
    iso: Isometry3<f64>,
    matrix: Matrix4<f64>,
}

/// Frames and their poses relative to their parents.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TransformTree {
    edges: BTreeMap<String, Edge>,
}

impl TransformTree {
    pub fn new() -> Self {
        Self::default()
    }

    /// Add `child` under `parent` with pose `iso` (= T_parent_child).
    pub fn insert(&mut self, parent: &str, child: &str, iso: Isometry3<f64>) -> Result<()> {
        self.insert_matrix(parent, child, iso, iso.to_homogeneous())
    }

    /// Like [`TransformTree::insert`], also keeping the exact (possibly not quite orthonormal) matrix.
    pub fn insert_matrix(
        &mut self,
        parent: &str,
        child: &str,
        iso: Isometry3<f64>,
        matrix: Matrix4<f64>,
    ) -> Result<()> {
        let bad = |problem: String| GeometryError::BadEdge {
            parent: parent.to_string(),
            child: child.to_string(),
            problem,
        };
        if parent == child {
            return Err(bad("a frame cannot be its own parent".into()));
        }
        if parent.is_empty() || child.is_empty() {
            return Err(bad("frame ids must not be empty".into()));
        }
        if let Some(e) = self.edges.get(child) {
            if e.parent != parent {
                return Err(bad(format!("`{child}` already has parent `{}`", e.parent)));
            }
        }
        // Walking up from `parent` must not reach `child` (that would close a loop).
        if self.ancestors(parent).iter().any(|f| f == child) {
            return Err(bad(format!("`{child}` is an ancestor of `{parent}` (loop)")));
        }
        self.edges.insert(
            child.to_string(),
            Edge {
                parent: parent.to_string(),
                iso,
                matrix,
            },
        );
        Ok(())
    }

    /// True when the frame appears in the tree (as a child or as a parent).
    pub fn contains(&self, frame: &str) -> bool {
        self.edges.contains_key(frame) || self.edges.values().any(|e| e.parent == frame)
    }

    /// All frame ids, sorted.
    pub fn frames(&self) -> Vec<String> {
        let mut v: Vec<String> = self.edges.keys().cloned().collect();
        for e in self.edges.values() {
            if !v.contains(&e.parent) {
                v.push(e.parent.clone());
            }
        }
        v.sort();
        v
    }

    /// (parent, child, T_parent_child) for every edge, sorted by child.
    pub fn edges(&self) -> Vec<(String, String, Isometry3<f64>)> {
        self.edges
            .iter()
            .map(|(c, e)| (e.parent.clone(), c.clone(), e.iso))
            .collect()
    }

    /// The parent of a frame, if it has one.
    pub fn parent(&self, frame: &str) -> Option<&str> {
        self.edges.get(frame).map(|e| e.parent.as_str())
    }

    /// `frame`, its parent, its grandparent, ... up to the root.
    fn ancestors(&self, frame: &str) -> Vec<String> {
        let mut chain = vec![frame.to_string()];
        let mut cur = frame;
        while let Some(e) = self.edges.get(cur) {
            // insert() forbids loops; the bound is a guard, not a path.
            if chain.len() > self.edges.len() + 1 {
                break;
            }
            chain.push(e.parent.clone());
            cur = &e.parent;
        }
        chain
    }

    fn check_frame(&self, frame: &str) -> Result<()> {
        if self.contains(frame) {
            Ok(())
        } else {
            Err(GeometryError::UnknownFrame {
                frame: frame.to_string(),
                known: self.frames().join(", "),
            })
        }
    }

    /// Generic walk: T_target_source from per-edge values with `compose`, `invert` and `identity`.
    fn walk<T: Copy>(
        &self,
        target: &str,
        source: &str,
        get: impl Fn(&Edge) -> T,
        identity: T,
        compose: impl Fn(T, T) -> T,
        invert: impl Fn(T) -> T,
    ) -> Result<T> {
        self.check_frame(target)?;
        self.check_frame(source)?;
        let up_t = self.ancestors(target);
        let up_s = self.ancestors(source);
        let Some(common) = up_s.iter().find(|f| up_t.contains(f)).cloned() else {
            return Err(GeometryError::Disconnected {
                target: target.to_string(),
                source_frame: source.to_string(),
            });
        };
        // T_common_frame by chaining parent edges from the frame up to `common`.
        let to_common = |chain: &[String]| -> T {
            let mut t = identity;
            for f in chain.iter().take_while(|f| **f != common) {
                if let Some(e) = self.edges.get(f) {
                    t = compose(get(e), t);
                }
            }
            t
        };
        let common_source = to_common(&up_s);
        let common_target = to_common(&up_t);
        Ok(compose(invert(common_target), common_source))
    }

    /// T_target_source: maps points in `source` into `target`. Errors name missing frames.
    pub fn lookup(&self, target: &str, source: &str) -> Result<Isometry3<f64>> {
        self.walk(
            target,
            source,
            |e| e.iso,
            Isometry3::identity(),
            |a, b| a * b,
            |a| a.inverse(),
        )
    }

    /// T_target_source as a 4×4 matrix composed from the matrices the files gave (see module docs).
    pub fn lookup_matrix(&self, target: &str, source: &str) -> Result<Matrix4<f64>> {
        self.walk(
            target,
            source,
            |e| e.matrix,
            Matrix4::identity(),
            |a, b| a * b,
            |a| a.try_inverse().unwrap_or_else(|| Matrix4::from_element(f64::NAN)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::{Point3, Translation3, UnitQuaternion, Vector3};

    fn iso(t: [f64; 3], rpy: [f64; 3]) -> Isometry3<f64> {
        Isometry3::from_parts(
            Translation3::new(t[0], t[1], t[2]),
            UnitQuaternion::from_euler_angles(rpy[0], rpy[1], rpy[2]),
        )
    }

    #[test]
    fn lookup_through_common_ancestor() {
        let mut t = TransformTree::new();
        let lidar = iso([0.0, 0.0, 1.8], [0.0, 0.0, 0.1]);
        let cam = iso([1.5, 0.2, 1.6], [0.01, -0.02, 0.03]);
        t.insert("base_link", "lidar_top", lidar).unwrap();
        t.insert("base_link", "camera_front", cam).unwrap();
        let p_lidar = Point3::new(10.0, -2.0, 0.5);
        let p_base = lidar * p_lidar;
        let got = t.lookup("camera_front", "lidar_top").unwrap() * p_lidar;
        let want = cam.inverse() * p_base;
        assert!((got - want).norm() < 1e-12);
        // Inverse direction and identity.
        let back = t.lookup("lidar_top", "camera_front").unwrap() * got;
        assert!((back - p_lidar).norm() < 1e-12);
        assert_eq!(t.lookup("lidar_top", "lidar_top").unwrap(), Isometry3::identity());
        // Ancestor / descendant.
        let m = t.lookup_matrix("base_link", "lidar_top").unwrap();
        assert!((m.transform_point(&p_lidar) - p_base).norm() < 1e-12);
        assert_eq!(t.frames(), vec!["base_link", "camera_front", "lidar_top"]);
        let _ = Vector3::<f64>::zeros();
    }

    #[test]
    fn errors_name_frames() {
        let mut t = TransformTree::new();
        t.insert("base_link", "lidar_top", Isometry3::identity()).unwrap();
        t.insert("map", "odom", Isometry3::identity()).unwrap();
        let e = t.lookup("camera_front", "lidar_top").unwrap_err().to_string();
        assert!(
            e.contains("camera_front") && e.contains("base_link, lidar_top, map, odom"),
            "{e}"
        );
        let e = t.lookup("odom", "lidar_top").unwrap_err().to_string();
        assert!(e.contains("no common ancestor") && e.contains("odom"), "{e}");
        let e = t
            .insert("other", "lidar_top", Isometry3::identity())
            .unwrap_err()
            .to_string();
        assert!(e.contains("already has parent `base_link`"), "{e}");
        let e = t
            .insert("lidar_top", "base_link", Isometry3::identity())
            .unwrap_err()
            .to_string();
        assert!(e.contains("loop"), "{e}");
    }
}
