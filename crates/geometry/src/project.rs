//! LiDAR → image projection over structure-of-arrays clouds: tight loops over slices, no per-point allocation.
//!
//! Every input point gives one `(u, v, depth)` in input order. `depth` is the point's z in the camera optical
//! frame (raw images) or the third homogeneous coordinate of `P · [R·X; 1]` (rectified images: the depth in
//! the rectified camera, which for KITTI's P2 includes P2's small z offset). When depth is not > 0 (behind
//! the camera, or a NaN point) u and v are NaN and depth is kept as computed.
//! A point is *inside the image* when `0 ≤ u < width` and `0 ≤ v < height` (pixel (0,0) covers [0,1)²).

use crate::camera::ImageKind;
use crate::camera::{
    coeffs8, distort_equidistant, distort_plumb_bob, distort_radtan, CameraModel, Distortion,
};
use nalgebra::{Isometry3, Matrix3x4, Matrix4};
use sensorium_core::PointsSoA;
use serde::{Deserialize, Serialize};

/// Counts over one projection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ProjectionStats {
    pub points_total: usize,
    pub points_positive_depth: usize,
    /// Points with positive depth whose (u, v) is inside the image.
    pub points_in_image: usize,
    /// `points_in_image / points_total` (0 for an empty cloud).
    pub fraction_in_image: f64,
}

/// Count positive-depth and in-image points of a projection for a `width` × `height` image.
pub fn projection_stats(uvd: &[(f64, f64, f64)], width: u32, height: u32) -> ProjectionStats {
    let (w, h) = (width as f64, height as f64);
    let mut pos = 0usize;
    let mut inside = 0usize;
    for &(u, v, d) in uvd {
        pos += (d > 0.0) as usize;
        // NaN compares false, so points behind the camera never count.
        inside += ((u >= 0.0) & (u < w) & (v >= 0.0) & (v < h)) as usize;
    }
    ProjectionStats {
        points_total: uvd.len(),
        points_positive_depth: pos,
        points_in_image: inside,
        fraction_in_image: if uvd.is_empty() {
            0.0
        } else {
            inside as f64 / uvd.len() as f64
        },
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kernel {
    /// No distortion: K (or P·R) folded into the 3×4 matrix.
    Linear,
    PlumbBob,
    Rational,
    Equidistant,
}

/// A prepared projection from a source frame (the LiDAR) onto one camera image.
#[derive(Debug, Clone, PartialEq)]
pub struct Projector {
    /// Row-major 3×4: source point → camera point (distorted kernels) or → homogeneous pixel (linear).
    m: [f64; 12],
    kernel: Kernel,
    /// fx, skew, cx, fy, cy of K (distorted kernels).
    k: [f64; 5],
    c: [f64; 8],
    pub width: u32,
    pub height: u32,
}

impl Projector {
    /// `source_to_camera` = T_camera_source (4×4, the camera's optical frame; for rectified images the
    /// unrectified camera frame, R then rotates it). Raw images use K and D, rectified ones R and P.
    pub fn new(source_to_camera: &Matrix4<f64>, model: &CameraModel, image: ImageKind) -> Projector {
        let t: Matrix3x4<f64> = source_to_camera.fixed_view::<3, 4>(0, 0).into_owned();
        let (mat, kernel) = match (image, model.distortion) {
            (ImageKind::Rectified, _) => {
                let mut r4 = Matrix4::identity();
                r4.fixed_view_mut::<3, 3>(0, 0).copy_from(&model.r);
                (model.p * r4 * source_to_camera, Kernel::Linear)
            }
            (ImageKind::Raw, Distortion::None) => (model.k * t, Kernel::Linear),
            (ImageKind::Raw, Distortion::PlumbBob) => (t, Kernel::PlumbBob),
            (ImageKind::Raw, Distortion::RationalPolynomial) => (t, Kernel::Rational),
            (ImageKind::Raw, Distortion::Equidistant) => (t, Kernel::Equidistant),
        };
        let mut m = [0.0; 12];
        for r in 0..3 {
            for c in 0..4 {
                m[r * 4 + c] = mat[(r, c)];
            }
        }
        let k = [
            model.k[(0, 0)],
            model.k[(0, 1)],
            model.k[(0, 2)],
            model.k[(1, 1)],
            model.k[(1, 2)],
        ];
        Projector {
            m,
            kernel,
            k,
            c: coeffs8(&model.d),
            width: model.width,
            height: model.height,
        }
    }

    /// From a rigid LiDAR → camera transform.
    pub fn from_isometry(
        lidar_to_camera: &Isometry3<f64>,
        model: &CameraModel,
        image: ImageKind,
    ) -> Projector {
        Self::new(&lidar_to_camera.to_homogeneous(), model, image)
    }

    #[inline(always)]
    fn run<F: Fn(f64, f64) -> (f64, f64)>(
        &self,
        pts: &PointsSoA,
        out: &mut Vec<(f64, f64, f64)>,
        distort: F,
    ) {
        let m = self.m;
        let [fx, skew, cx, fy, cy] = self.k;
        let n = pts.x.len().min(pts.y.len()).min(pts.z.len());
        out.clear();
        out.reserve(n);
        let (xs, ys, zs) = (&pts.x[..n], &pts.y[..n], &pts.z[..n]);
        out.extend(xs.iter().zip(ys).zip(zs).map(|((&x, &y), &z)| {
            let (x, y, z) = (x as f64, y as f64, z as f64);
            let px = m[0] * x + m[1] * y + m[2] * z + m[3];
            let py = m[4] * x + m[5] * y + m[6] * z + m[7];
            let pz = m[8] * x + m[9] * y + m[10] * z + m[11];
            let inv = 1.0 / pz;
            let (xd, yd) = distort(px * inv, py * inv);
            let u = fx * xd + skew * yd + cx;
            let v = fy * yd + cy;
            if pz > 0.0 {
                (u, v, pz)
            } else {
                (f64::NAN, f64::NAN, pz)
            }
        }));
    }

    /// Project every point into `out` (cleared first; reuse it across frames to avoid allocation).
    pub fn project_into(&self, pts: &PointsSoA, out: &mut Vec<(f64, f64, f64)>) {
        let c = self.c;
        match self.kernel {
            Kernel::Linear => {
                // K is folded into m: the "distortion" is the identity and K the identity map.
                let me = Projector {
                    k: [1.0, 0.0, 0.0, 1.0, 0.0],
                    ..self.clone()
                };
                me.run(pts, out, |x, y| (x, y))
            }
            Kernel::PlumbBob => self.run(pts, out, |x, y| distort_plumb_bob(&c, x, y)),
            Kernel::Rational => self.run(pts, out, |x, y| distort_radtan(&c, x, y)),
            Kernel::Equidistant => self.run(pts, out, |x, y| distort_equidistant(&c, x, y)),
        }
    }

    /// Project every point; one (u, v, depth) per input point, in order.
    pub fn project(&self, pts: &PointsSoA) -> Vec<(f64, f64, f64)> {
        let mut out = Vec::new();
        self.project_into(pts, &mut out);
        out
    }

    /// Counts for this projector's image size.
    pub fn stats(&self, uvd: &[(f64, f64, f64)]) -> ProjectionStats {
        projection_stats(uvd, self.width, self.height)
    }
}

/// Project a LiDAR cloud onto a camera's raw image (K, D) through `lidar_to_camera` (T_camera_lidar).
pub fn project_points(
    pts: &PointsSoA,
    lidar_to_camera: &Isometry3<f64>,
    model: &CameraModel,
) -> Vec<(f64, f64, f64)> {
    Projector::from_isometry(lidar_to_camera, model, ImageKind::Raw).project(pts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::{Matrix3, Point3, Translation3, UnitQuaternion};

    #[test]
    fn batch_matches_single_point_model() {
        let k = Matrix3::new(900.0, 0.5, 640.0, 0.0, 905.0, 360.0, 0.0, 0.0, 1.0);
        let models = [
            CameraModel::new(
                1280,
                720,
                k,
                Distortion::PlumbBob,
                vec![-0.05, 0.01, 0.001, -0.002, 0.003],
            )
            .unwrap(),
            CameraModel::new(
                1280,
                720,
                k,
                Distortion::RationalPolynomial,
                vec![0.2, -0.1, 0.001, 0.002, 0.01, 0.15, -0.05, 0.005],
            )
            .unwrap(),
            CameraModel::new(
                1280,
                720,
                k,
                Distortion::Equidistant,
                vec![0.05, -0.01, 0.002, -0.0005],
            )
            .unwrap(),
            CameraModel::new(1280, 720, k, Distortion::None, vec![]).unwrap(),
        ];
        let iso = Isometry3::from_parts(
            Translation3::new(0.1, -0.2, 0.3),
            UnitQuaternion::from_euler_angles(-1.5, 0.02, -1.6),
        );
        let mut pts = PointsSoA::with_capacity(500);
        for i in 0..500 {
            let a = i as f32 * 0.37;
            pts.push(20.0 * a.cos(), 15.0 * a.sin(), (i % 11) as f32 - 5.0, 0.0);
        }
        pts.push(f32::NAN, 0.0, 0.0, 0.0);
        for m in &models {
            let uvd = project_points(&pts, &iso, m);
            assert_eq!(uvd.len(), pts.len());
            for (i, &(u, v, d)) in uvd.iter().enumerate() {
                let p = iso * Point3::new(pts.x[i] as f64, pts.y[i] as f64, pts.z[i] as f64);
                match m.project(&p) {
                    Some(px) => {
                        assert!(
                            (px.x - u).abs() < 1e-9 * (1.0 + u.abs())
                                && (px.y - v).abs() < 1e-9 * (1.0 + v.abs()),
                            "{i}: {px} vs {u},{v}"
                        );
                        assert!((d - p.z).abs() < 1e-12);
                    }
                    None => assert!(u.is_nan() && v.is_nan()),
                }
            }
            let s = projection_stats(&uvd, 1280, 720);
            assert_eq!(s.points_total, 501);
            assert!(
                s.points_positive_depth > 100 && s.points_positive_depth < 400,
                "{s:?}"
            );
            assert!(s.points_in_image <= s.points_positive_depth);
        }
    }
}
