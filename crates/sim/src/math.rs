//! Small, deterministic 3D helpers. Only IEEE-exact operations (+ − × ÷ sqrt) and `libm` (portable,
//! bit-identical on every target) are used, so the same seed gives the same bytes on x86_64 and aarch64.

pub type V3 = [f64; 3];

#[inline]
pub fn add(a: V3, b: V3) -> V3 {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}
#[inline]
pub fn sub(a: V3, b: V3) -> V3 {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}
#[inline]
pub fn scale(a: V3, s: f64) -> V3 {
    [a[0] * s, a[1] * s, a[2] * s]
}
#[inline]
pub fn dot(a: V3, b: V3) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}
#[inline]
pub fn cross(a: V3, b: V3) -> V3 {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}
#[inline]
pub fn norm(a: V3) -> f64 {
    dot(a, a).sqrt()
}

/// A rigid transform `p ↦ R·p + t` (R row-major).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pose {
    pub r: [[f64; 3]; 3],
    pub t: V3,
}

impl Pose {
    pub const IDENTITY: Pose = Pose {
        r: [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
        t: [0.0; 3],
    };

    /// R = Rz(yaw)·Ry(pitch)·Rx(roll) (the ROS rpy convention).
    pub fn from_rpy(t: V3, rpy: [f64; 3]) -> Pose {
        let (sr, cr) = (libm::sin(rpy[0]), libm::cos(rpy[0]));
        let (sp, cp) = (libm::sin(rpy[1]), libm::cos(rpy[1]));
        let (sy, cy) = (libm::sin(rpy[2]), libm::cos(rpy[2]));
        let r = [
            [cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr],
            [sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr],
            [-sp, cp * sr, cp * cr],
        ];
        Pose { r, t }
    }

    #[inline]
    pub fn rotate(&self, p: V3) -> V3 {
        [dot(self.r[0], p), dot(self.r[1], p), dot(self.r[2], p)]
    }

    #[inline]
    pub fn apply(&self, p: V3) -> V3 {
        add(self.rotate(p), self.t)
    }

    /// `self ∘ other`: first `other`, then `self`.
    pub fn compose(&self, other: &Pose) -> Pose {
        let mut r = [[0.0; 3]; 3];
        for (i, row) in r.iter_mut().enumerate() {
            for (j, v) in row.iter_mut().enumerate() {
                *v = self.r[i][0] * other.r[0][j]
                    + self.r[i][1] * other.r[1][j]
                    + self.r[i][2] * other.r[2][j];
            }
        }
        Pose {
            r,
            t: self.apply(other.t),
        }
    }

    pub fn inverse(&self) -> Pose {
        let mut r = [[0.0; 3]; 3];
        for (i, row) in r.iter_mut().enumerate() {
            for (j, v) in row.iter_mut().enumerate() {
                *v = self.r[j][i];
            }
        }
        let t = scale([dot(r[0], self.t), dot(r[1], self.t), dot(r[2], self.t)], -1.0);
        Pose { r, t }
    }

    /// 4×4 row-major homogeneous matrix.
    pub fn to_matrix(&self) -> [f64; 16] {
        let r = &self.r;
        let t = &self.t;
        [
            r[0][0], r[0][1], r[0][2], t[0], r[1][0], r[1][1], r[1][2], t[1], r[2][0], r[2][1], r[2][2],
            t[2], 0.0, 0.0, 0.0, 1.0,
        ]
    }

    /// Unit quaternion (x, y, z, w) of the rotation (Shepperd's method).
    pub fn quaternion(&self) -> [f64; 4] {
        let m = &self.r;
        let tr = m[0][0] + m[1][1] + m[2][2];
        let q = if tr > 0.0 {
            let s = (tr + 1.0).sqrt() * 2.0;
            [
                (m[2][1] - m[1][2]) / s,
                (m[0][2] - m[2][0]) / s,
                (m[1][0] - m[0][1]) / s,
                0.25 * s,
            ]
        } else if m[0][0] > m[1][1] && m[0][0] > m[2][2] {
            let s = (1.0 + m[0][0] - m[1][1] - m[2][2]).sqrt() * 2.0;
            [
                0.25 * s,
                (m[0][1] + m[1][0]) / s,
                (m[0][2] + m[2][0]) / s,
                (m[2][1] - m[1][2]) / s,
            ]
        } else if m[1][1] > m[2][2] {
            let s = (1.0 + m[1][1] - m[0][0] - m[2][2]).sqrt() * 2.0;
            [
                (m[0][1] + m[1][0]) / s,
                0.25 * s,
                (m[1][2] + m[2][1]) / s,
                (m[0][2] - m[2][0]) / s,
            ]
        } else {
            let s = (1.0 + m[2][2] - m[0][0] - m[1][1]).sqrt() * 2.0;
            [
                (m[0][2] + m[2][0]) / s,
                (m[1][2] + m[2][1]) / s,
                0.25 * s,
                (m[1][0] - m[0][1]) / s,
            ]
        };
        let n = (q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]).sqrt();
        let q = [q[0] / n, q[1] / n, q[2] / n, q[3] / n];
        // Canonical sign (w ≥ 0) so that equal rotations print equally.
        if q[3] < 0.0 {
            [-q[0], -q[1], -q[2], -q[3]]
        } else {
            q
        }
    }
}

/// The fixed rotation from a camera body frame (x fwd, y left, z up) to its optical frame
/// (z fwd, x right, y down): optical = (−y, −z, x).
pub const BODY_TO_OPTICAL: Pose = Pose {
    r: [[0.0, -1.0, 0.0], [0.0, 0.0, -1.0], [1.0, 0.0, 0.0]],
    t: [0.0; 3],
};

/// Integer hash → [0, 1) (deterministic texture noise).
#[inline]
pub fn hash01(a: i64, b: i64, c: u64) -> f64 {
    let mut h = (a as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ (b as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F)
        ^ c.wrapping_mul(0x1656_67B1_9E37_79F9);
    h ^= h >> 33;
    h = h.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    h ^= h >> 33;
    (h >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// One standard normal draw (Box–Muller with `libm`, bit-identical on every target).
pub fn normal<R: rand::Rng>(rng: &mut R) -> f64 {
    let u1: f64 = 1.0 - rng.gen::<f64>();
    let u2: f64 = rng.gen();
    (-2.0 * libm::log(u1)).sqrt() * libm::cos(2.0 * std::f64::consts::PI * u2)
}

/// Wraps an angle to (−π, π].
pub fn wrap_angle(a: f64) -> f64 {
    let two_pi = 2.0 * std::f64::consts::PI;
    let mut a = a - two_pi * (a / two_pi).floor();
    if a > std::f64::consts::PI {
        a -= two_pi;
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pose_inverse_and_quaternion() {
        let p = Pose::from_rpy([1.0, -2.0, 0.5], [0.1, -0.2, 0.3]);
        let q = p.compose(&p.inverse());
        for i in 0..3 {
            for j in 0..3 {
                assert!((q.r[i][j] - if i == j { 1.0 } else { 0.0 }).abs() < 1e-12);
            }
            assert!(q.t[i].abs() < 1e-12);
        }
        // The body→optical rotation is the REP-103 quaternion (−0.5, 0.5, −0.5, 0.5) up to sign.
        let qo = BODY_TO_OPTICAL.inverse().quaternion();
        let expect = [-0.5, 0.5, -0.5, 0.5];
        for k in 0..4 {
            assert!((qo[k] - expect[k]).abs() < 1e-12, "{qo:?}");
        }
    }
}
