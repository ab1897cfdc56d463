//! Camera models as `sensor_msgs/CameraInfo` defines them: K, D, R, P and a distortion model.
//!
//! Conventions (the same as OpenCV and ROS `image_geometry`):
//! - points are in the camera *optical* frame (REP-103: z forward, x right, y down);
//! - a raw (distorted) pixel is `K · distort(X/Z, Y/Z)`; `plumb_bob` and `rational_polynomial` follow
//!   `cv::projectPoints`, `equidistant` follows `cv::fisheye::projectPoints`;
//! - `R` rotates the camera frame into the rectified frame and `P` projects rectified points
//!   (`image_geometry::PinholeCameraModel::project3dToPixel`), so a point in the camera frame lands on
//!   the rectified image at `P · [R·X; 1]`.

use crate::error::{GeometryError, Result};
use nalgebra::{Matrix3, Matrix3x4, Point2, Point3, Vector3};

/// Which image a camera's points are projected onto.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ImageKind {
    /// The raw (distorted) image: K and D (`image_raw`).
    #[default]
    Raw,
    /// The rectified image: R and P (`image_rect`, KITTI's images).
    Rectified,
}

/// The distortion models of `sensor_msgs/CameraInfo` (`distortion_model` strings in [`Distortion::ros_name`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Distortion {
    /// `plumb_bob`: k1, k2, t1 (p1), t2 (p2), k3.
    PlumbBob,
    /// `rational_polynomial`: k1, k2, p1, p2, k3, k4, k5, k6.
    RationalPolynomial,
    /// `equidistant` (OpenCV fisheye): k1, k2, k3, k4.
    Equidistant,
    /// No distortion (empty D, or an empty `distortion_model` string).
    None,
}

impl Distortion {
    /// Parse a CameraInfo `distortion_model` string.
    pub fn from_ros_name(name: &str) -> Option<Distortion> {
        match name.trim() {
            "plumb_bob" => Some(Distortion::PlumbBob),
            "rational_polynomial" => Some(Distortion::RationalPolynomial),
            "equidistant" | "fisheye" => Some(Distortion::Equidistant),
            "" | "none" => Some(Distortion::None),
            _ => None,
        }
    }

    /// The CameraInfo `distortion_model` string.
    pub fn ros_name(self) -> &'static str {
        match self {
            Distortion::PlumbBob => "plumb_bob",
            Distortion::RationalPolynomial => "rational_polynomial",
            Distortion::Equidistant => "equidistant",
            Distortion::None => "",
        }
    }

    /// Accepted lengths of D for this model.
    fn accepted_lengths(self) -> &'static [usize] {
        match self {
            Distortion::PlumbBob => &[4, 5],
            Distortion::RationalPolynomial => &[8],
            Distortion::Equidistant => &[4],
            Distortion::None => &[0],
        }
    }
}

/// A calibrated camera (one `sensor_msgs/CameraInfo`).
#[derive(Debug, Clone, PartialEq)]
pub struct CameraModel {
    /// Image size in pixels; 0 when the calibration does not say (KITTI txt), see `calib_project`.
    pub width: u32,
    pub height: u32,
    /// Intrinsics of the raw (distorted) image.
    pub k: Matrix3<f64>,
    /// Distortion coefficients, in the order of `distortion`.
    pub d: Vec<f64>,
    pub distortion: Distortion,
    /// Rectification rotation (camera frame → rectified frame).
    pub r: Matrix3<f64>,
    /// Projection matrix of the rectified image.
    pub p: Matrix3x4<f64>,
}

/// Distortion coefficients unpacked into a fixed layout for the hot loops:
/// `[k1, k2, p1, p2, k3, k4, k5, k6]` (radial-tangential) or `[k1, k2, k3, k4, 0..]` (equidistant).
pub(crate) fn coeffs8(d: &[f64]) -> [f64; 8] {
    let mut c = [0.0; 8];
    for (slot, v) in c.iter_mut().zip(d) {
        *slot = *v;
    }
    c
}

/// `distort` of the radial-tangential models (plumb_bob is rational_polynomial with k4 = k5 = k6 = 0).
#[inline(always)]
pub(crate) fn distort_radtan(c: &[f64; 8], x: f64, y: f64) -> (f64, f64) {
    let r2 = x * x + y * y;
    let r4 = r2 * r2;
    let r6 = r4 * r2;
    let num = 1.0 + c[0] * r2 + c[1] * r4 + c[4] * r6;
    let den = 1.0 + c[5] * r2 + c[6] * r4 + c[7] * r6;
    let s = num / den;
    let xy2 = 2.0 * x * y;
    let xd = x * s + c[2] * xy2 + c[3] * (r2 + 2.0 * x * x);
    let yd = y * s + c[2] * (r2 + 2.0 * y * y) + c[3] * xy2;
    (xd, yd)
}

/// `plumb_bob` without the rational denominator (saves a division in the hot loop).
#[inline(always)]
pub(crate) fn distort_plumb_bob(c: &[f64; 8], x: f64, y: f64) -> (f64, f64) {
    let r2 = x * x + y * y;
    let s = 1.0 + r2 * (c[0] + r2 * (c[1] + r2 * c[4]));
    let xy2 = 2.0 * x * y;
    let xd = x * s + c[2] * xy2 + c[3] * (r2 + 2.0 * x * x);
    let yd = y * s + c[2] * (r2 + 2.0 * y * y) + c[3] * xy2;
    (xd, yd)
}

/// Jacobian of [`distort_radtan`] at (x, y): `[[dxd/dx, dxd/dy], [dyd/dx, dyd/dy]]`.
fn distort_radtan_jacobian(c: &[f64; 8], x: f64, y: f64) -> [[f64; 2]; 2] {
    let r2 = x * x + y * y;
    let r4 = r2 * r2;
    let r6 = r4 * r2;
    let a = 1.0 + c[0] * r2 + c[1] * r4 + c[4] * r6;
    let b = 1.0 + c[5] * r2 + c[6] * r4 + c[7] * r6;
    let da = c[0] + 2.0 * c[1] * r2 + 3.0 * c[4] * r4;
    let db = c[5] + 2.0 * c[6] * r2 + 3.0 * c[7] * r4;
    let s = a / b;
    let ds = (da * b - a * db) / (b * b); // d s / d r2
    let (p1, p2) = (c[2], c[3]);
    [
        [
            s + 2.0 * x * x * ds + 2.0 * p1 * y + 6.0 * p2 * x,
            2.0 * x * y * ds + 2.0 * p1 * x + 2.0 * p2 * y,
        ],
        [
            2.0 * x * y * ds + 2.0 * p1 * x + 2.0 * p2 * y,
            s + 2.0 * y * y * ds + 6.0 * p1 * y + 2.0 * p2 * x,
        ],
    ]
}

/// `distort` of the equidistant (fisheye) model, as `cv::fisheye::projectPoints`.
#[inline(always)]
pub(crate) fn distort_equidistant(c: &[f64; 8], x: f64, y: f64) -> (f64, f64) {
    let r = (x * x + y * y).sqrt();
    let theta = r.atan();
    let t2 = theta * theta;
    let theta_d = theta * (1.0 + t2 * (c[0] + t2 * (c[1] + t2 * (c[2] + t2 * c[3]))));
    let scale = if r > 1e-8 { theta_d / r } else { 1.0 };
    (x * scale, y * scale)
}

impl CameraModel {
    /// A camera with R = I and P = [K | 0] (an unrectified monocular camera), checking D's length.
    pub fn new(
        width: u32,
        height: u32,
        k: Matrix3<f64>,
        distortion: Distortion,
        d: Vec<f64>,
    ) -> Result<Self> {
        let mut p = Matrix3x4::zeros();
        p.fixed_view_mut::<3, 3>(0, 0).copy_from(&k);
        Self::with_rectification(width, height, k, distortion, d, Matrix3::identity(), p)
    }

    /// A camera with all four CameraInfo matrices given.
    pub fn with_rectification(
        width: u32,
        height: u32,
        k: Matrix3<f64>,
        distortion: Distortion,
        d: Vec<f64>,
        r: Matrix3<f64>,
        p: Matrix3x4<f64>,
    ) -> Result<Self> {
        let mut distortion = distortion;
        // An all-zero D (or no D at all) is no distortion whatever the declared model.
        if d.iter().all(|v| *v == 0.0) {
            distortion = Distortion::None;
        }
        let accepted = distortion.accepted_lengths();
        if distortion != Distortion::None && !accepted.contains(&d.len()) {
            return Err(GeometryError::InvalidModel(format!(
                "distortion model `{}` needs {:?} coefficients, got {}",
                distortion.ros_name(),
                accepted,
                d.len()
            )));
        }
        if let Some(bad) = d.iter().find(|v| !v.is_finite()) {
            return Err(GeometryError::InvalidModel(format!(
                "distortion coefficient {bad} is not finite"
            )));
        }
        if !k.iter().all(|v| v.is_finite()) || k[(0, 0)] == 0.0 || k[(1, 1)] == 0.0 || k[(2, 2)] != 1.0 {
            return Err(GeometryError::InvalidModel(format!(
                "K must have finite non-zero fx, fy and K[2][2] = 1, got {:?}",
                k.transpose().as_slice()
            )));
        }
        let d = if distortion == Distortion::None {
            Vec::new()
        } else {
            d
        };
        Ok(CameraModel {
            width,
            height,
            k,
            d,
            distortion,
            r,
            p,
        })
    }

    /// From the fields of a `sensor_msgs/CameraInfo` message (row-major K 9, R 9, P 12, D any),
    /// so the msgs crate's `CameraInfo` converts without this crate depending on it.
    /// A K of all zeros (an uncalibrated camera) is an error. An all-zero R means identity
    /// (as image_geometry treats it).
    pub fn from_ros_camera_info(
        width: u32,
        height: u32,
        distortion_model: &str,
        d: &[f64],
        k: &[f64],
        r: &[f64],
        p: &[f64],
    ) -> Result<Self> {
        let distortion = Distortion::from_ros_name(distortion_model).ok_or_else(|| {
            GeometryError::InvalidModel(format!(
                "unknown distortion_model `{distortion_model}` (plumb_bob, rational_polynomial, equidistant)"
            ))
        })?;
        let mat = |name: &str, v: &[f64], n: usize| -> Result<Vec<f64>> {
            if v.len() != n {
                return Err(GeometryError::InvalidModel(format!(
                    "{name} has {} values, expected {n}",
                    v.len()
                )));
            }
            Ok(v.to_vec())
        };
        let k = Matrix3::from_row_slice(&mat("K", k, 9)?);
        let mut r = Matrix3::from_row_slice(&mat("R", r, 9)?);
        if r.iter().all(|v| *v == 0.0) {
            r = Matrix3::identity();
        }
        let mut p = Matrix3x4::from_row_slice(&mat("P", p, 12)?);
        if p.iter().all(|v| *v == 0.0) {
            p.fixed_view_mut::<3, 3>(0, 0).copy_from(&k);
        }
        Self::with_rectification(width, height, k, distortion, d.to_vec(), r, p)
    }

    pub(crate) fn coeffs(&self) -> [f64; 8] {
        coeffs8(&self.d)
    }

    /// Normalized undistorted (x, y) = (X/Z, Y/Z) → normalized distorted coordinates.
    pub fn distort_normalized(&self, x: f64, y: f64) -> (f64, f64) {
        let c = self.coeffs();
        match self.distortion {
            Distortion::PlumbBob | Distortion::RationalPolynomial => distort_radtan(&c, x, y),
            Distortion::Equidistant => distort_equidistant(&c, x, y),
            Distortion::None => (x, y),
        }
    }

    /// Normalized distorted coordinates → pixel with K (including its skew term).
    fn k_apply(&self, xd: f64, yd: f64) -> Point2<f64> {
        let k = &self.k;
        Point2::new(
            k[(0, 0)] * xd + k[(0, 1)] * yd + k[(0, 2)],
            k[(1, 1)] * yd + k[(1, 2)],
        )
    }

    /// Pixel → normalized distorted coordinates (inverse of K).
    fn k_inverse(&self, px: &Point2<f64>) -> (f64, f64) {
        let k = &self.k;
        let yd = (px.y - k[(1, 2)]) / k[(1, 1)];
        let xd = (px.x - k[(0, 2)] - k[(0, 1)] * yd) / k[(0, 0)];
        (xd, yd)
    }

    /// Project a point of the camera optical frame onto the raw (distorted) image.
    /// `None` when the point is not in front of the camera (z ≤ 0) or not finite.
    pub fn project(&self, pt: &Point3<f64>) -> Option<Point2<f64>> {
        if pt.z <= 0.0 || !pt.x.is_finite() || !pt.y.is_finite() || !pt.z.is_finite() {
            return None;
        }
        let (xd, yd) = self.distort_normalized(pt.x / pt.z, pt.y / pt.z);
        Some(self.k_apply(xd, yd))
    }

    /// [`CameraModel::project`] over a slice.
    pub fn project_batch(&self, pts: &[Point3<f64>]) -> Vec<Option<Point2<f64>>> {
        pts.iter().map(|p| self.project(p)).collect()
    }

    /// Project a point of the *rectified* frame with P (`image_geometry`'s `project3dToPixel`).
    pub fn project_rectified(&self, pt_rect: &Point3<f64>) -> Option<Point2<f64>> {
        let q = self.p * pt_rect.to_homogeneous();
        if q.z <= 0.0 || !q.z.is_finite() || !q.x.is_finite() || !q.y.is_finite() {
            return None;
        }
        Some(Point2::new(q.x / q.z, q.y / q.z))
    }

    /// Project a point of the (unrectified) camera frame onto the rectified image: `P · [R·X; 1]`.
    pub fn project_to_rectified_image(&self, pt: &Point3<f64>) -> Option<Point2<f64>> {
        self.project_rectified(&Point3::from(self.r * pt.coords))
    }

    /// Undistort normalized distorted coordinates by Newton's method (radial-tangential)
    /// or by solving θ_d(θ) (equidistant). `None` when it does not converge.
    pub fn undistort_normalized(&self, xd: f64, yd: f64) -> Option<(f64, f64)> {
        if !xd.is_finite() || !yd.is_finite() {
            return None;
        }
        let c = self.coeffs();
        match self.distortion {
            Distortion::None => Some((xd, yd)),
            Distortion::PlumbBob | Distortion::RationalPolynomial => {
                let (mut x, mut y) = (xd, yd);
                for _ in 0..100 {
                    let (fx, fy) = distort_radtan(&c, x, y);
                    let (ex, ey) = (fx - xd, fy - yd);
                    let j = distort_radtan_jacobian(&c, x, y);
                    let det = j[0][0] * j[1][1] - j[0][1] * j[1][0];
                    if !det.is_finite() || det.abs() < 1e-300 {
                        return None;
                    }
                    let dx = (j[1][1] * ex - j[0][1] * ey) / det;
                    let dy = (-j[1][0] * ex + j[0][0] * ey) / det;
                    x -= dx;
                    y -= dy;
                    if dx.abs() < 1e-15 && dy.abs() < 1e-15 {
                        break;
                    }
                }
                let (fx, fy) = distort_radtan(&c, x, y);
                let scale = 1.0 + xd.abs().max(yd.abs());
                ((fx - xd).abs() < 1e-10 * scale && (fy - yd).abs() < 1e-10 * scale).then_some((x, y))
            }
            Distortion::Equidistant => {
                let theta_d = (xd * xd + yd * yd).sqrt();
                if theta_d < 1e-12 {
                    return Some((xd, yd));
                }
                let mut theta = theta_d.min(std::f64::consts::FRAC_PI_2 - 1e-6);
                for _ in 0..100 {
                    let t2 = theta * theta;
                    let f = theta * (1.0 + t2 * (c[0] + t2 * (c[1] + t2 * (c[2] + t2 * c[3])))) - theta_d;
                    let df =
                        1.0 + t2 * (3.0 * c[0] + t2 * (5.0 * c[1] + t2 * (7.0 * c[2] + t2 * 9.0 * c[3])));
                    if df.abs() < 1e-300 {
                        return None;
                    }
                    let step = f / df;
                    theta -= step;
                    if step.abs() < 1e-15 {
                        break;
                    }
                }
                if !(0.0..std::f64::consts::FRAC_PI_2).contains(&theta) {
                    return None;
                }
                let t2 = theta * theta;
                let f = theta * (1.0 + t2 * (c[0] + t2 * (c[1] + t2 * (c[2] + t2 * c[3])))) - theta_d;
                if f.abs() > 1e-10 * (1.0 + theta_d) {
                    return None;
                }
                let s = theta.tan() / theta_d;
                Some((xd * s, yd * s))
            }
        }
    }

    /// Raw pixel → ray in the camera optical frame, scaled to z = 1. `None` when undistortion fails.
    pub fn unproject(&self, px: &Point2<f64>) -> Option<Vector3<f64>> {
        let (xd, yd) = self.k_inverse(px);
        let (x, y) = self.undistort_normalized(xd, yd)?;
        Some(Vector3::new(x, y, 1.0))
    }

    /// Raw pixels → pixels of the rectified image, as `cv2.undistortPoints(pts, K, D, R=R, P=P)`
    /// (image_geometry's `rectifyPoint`). Points that fail to undistort come back as NaN.
    pub fn undistort_points(&self, pixels: &[Point2<f64>]) -> Vec<Point2<f64>> {
        let pr = self.p.fixed_view::<3, 3>(0, 0) * self.r;
        pixels
            .iter()
            .map(|px| match self.unproject(px) {
                Some(ray) => {
                    let q = pr * ray;
                    Point2::new(q.x / q.z, q.y / q.z)
                }
                None => Point2::new(f64::NAN, f64::NAN),
            })
            .collect()
    }

    /// Rectified pixel → raw pixel (image_geometry's `unrectifyPoint`).
    pub fn unrectify_point(&self, rect: &Point2<f64>) -> Option<Point2<f64>> {
        let p3 = self.p.fixed_view::<3, 3>(0, 0).into_owned();
        let ray_rect = p3.try_inverse()? * Vector3::new(rect.x, rect.y, 1.0);
        let ray = self.r.transpose() * ray_rect;
        self.project(&Point3::from(ray))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(distortion: Distortion, d: Vec<f64>) -> CameraModel {
        let k = Matrix3::new(900.0, 0.0, 640.0, 0.0, 905.0, 360.0, 0.0, 0.0, 1.0);
        CameraModel::new(1280, 720, k, distortion, d).unwrap()
    }

    #[test]
    fn round_trip_all_models() {
        let cases = [
            model(Distortion::PlumbBob, vec![-0.05, 0.01, 0.001, -0.002, 0.0005]),
            model(
                Distortion::RationalPolynomial,
                vec![0.2, -0.1, 0.001, 0.002, 0.01, 0.15, -0.05, 0.005],
            ),
            model(Distortion::Equidistant, vec![0.05, -0.01, 0.002, -0.0005]),
            model(Distortion::None, vec![]),
        ];
        for m in &cases {
            for i in 0..200 {
                let a = (i as f64) * 0.731;
                let p = Point3::new(0.6 * a.sin(), 0.35 * (1.3 * a).cos(), 1.0 + (i % 7) as f64);
                let px = m.project(&p).unwrap();
                let ray = m.unproject(&px).unwrap();
                let back = ray * p.z;
                assert!(
                    (back - p.coords).norm() < 1e-9,
                    "{:?}: {p} -> {px} -> {back}",
                    m.distortion
                );
            }
        }
    }

    #[test]
    fn behind_camera_is_none() {
        let m = model(Distortion::PlumbBob, vec![-0.05, 0.01, 0.0, 0.0, 0.0]);
        assert!(m.project(&Point3::new(0.0, 0.0, -1.0)).is_none());
        assert!(m.project(&Point3::new(0.0, 0.0, 0.0)).is_none());
        assert!(m.project(&Point3::new(f64::NAN, 0.0, 1.0)).is_none());
        assert_eq!(
            m.project(&Point3::new(0.0, 0.0, 2.0)).unwrap(),
            Point2::new(640.0, 360.0)
        );
    }

    #[test]
    fn wrong_coefficient_count_is_an_error() {
        let k = Matrix3::new(900.0, 0.0, 640.0, 0.0, 900.0, 360.0, 0.0, 0.0, 1.0);
        let e = CameraModel::new(10, 10, k, Distortion::RationalPolynomial, vec![0.1; 5]).unwrap_err();
        assert!(e.to_string().contains("rational_polynomial"), "{e}");
        let e = CameraModel::from_ros_camera_info(10, 10, "kannala", &[], &[0.0; 9], &[0.0; 9], &[0.0; 12])
            .unwrap_err();
        assert!(e.to_string().contains("kannala"), "{e}");
        let e = CameraModel::from_ros_camera_info(10, 10, "plumb_bob", &[], &[0.0; 8], &[0.0; 9], &[0.0; 12])
            .unwrap_err();
        assert!(e.to_string().contains("K has 8 values"), "{e}");
    }

    #[test]
    fn unrectify_inverts_rectify() {
        let m = model(Distortion::PlumbBob, vec![-0.05, 0.01, 0.001, -0.002, 0.0]);
        let raw = [
            Point2::new(100.0, 80.0),
            Point2::new(640.0, 360.0),
            Point2::new(1200.0, 700.0),
        ];
        let rect = m.undistort_points(&raw);
        for (r, x) in rect.iter().zip(&raw) {
            let back = m.unrectify_point(r).unwrap();
            assert!((back - x).norm() < 1e-8, "{x} -> {r} -> {back}");
        }
    }
}
