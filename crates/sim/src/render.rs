//! Camera rendering: boxes are rasterised face by face (scanline fill, 1/z depth test) into an ideal
//! pinhole canvas slightly larger than the image; a per-pixel look-up table built once per camera
//! (iterative plumb_bob undistortion) then samples the canvas at each distorted image pixel. The ground
//! and sky are evaluated per image pixel from that pixel's exact ray. Alongside the RGB image the
//! renderer fills an instance-id buffer (0 = ground/sky, object ids, `STRUCTURE_ID`) and a depth buffer
//! (optical z, m), which tests use to check where LiDAR points land.

use crate::config::{CameraConfig, Mount};
use crate::math::{add, dot, hash01, scale, sub, Pose, BODY_TO_OPTICAL, V3};
use crate::world::{Class, Material, SceneBox, Snapshot, World};

/// Near clipping distance (optical z, m).
const NEAR: f64 = 0.1;
/// Half-width (canvas pixels) of the margin by which faces are dilated: two nearest-pixel lookups
/// (image pixel centre → canvas pixel) move a sample by at most ~0.5 px each.
const COVER: f64 = 1.05;
/// Ground beyond this distance is drawn as sky haze.
const FAR: f64 = 600.0;

/// A pinhole + plumb_bob camera mounted on the vehicle.
#[derive(Debug, Clone, PartialEq)]
pub struct CameraRig {
    pub width: u32,
    pub height: u32,
    pub fx: f64,
    pub fy: f64,
    pub cx: f64,
    pub cy: f64,
    /// k1, k2, t1, t2, k3.
    pub d: [f64; 5],
    /// `base_link` → optical frame.
    pub base_to_optical: Pose,
    /// optical frame → `base_link`.
    pub optical_to_base: Pose,
    /// `base_link` → camera body frame pose (`T_base_camera`).
    pub base_camera: Pose,
}

impl CameraRig {
    pub fn new(cfg: &CameraConfig) -> CameraRig {
        let base_camera = mount_pose(&cfg.mount);
        // optical → base = (base ← body) ∘ (body ← optical).
        let optical_to_base = base_camera.compose(&BODY_TO_OPTICAL.inverse());
        CameraRig {
            width: cfg.width,
            height: cfg.height,
            fx: cfg.fx,
            fy: cfg.fy,
            cx: cfg.cx,
            cy: cfg.cy,
            d: cfg.d,
            base_to_optical: optical_to_base.inverse(),
            optical_to_base,
            base_camera,
        }
    }

    /// K row-major.
    pub fn k(&self) -> [f64; 9] {
        [self.fx, 0.0, self.cx, 0.0, self.fy, self.cy, 0.0, 0.0, 1.0]
    }

    /// Applies plumb_bob distortion to normalised coordinates.
    #[inline]
    pub fn distort(&self, x: f64, y: f64) -> (f64, f64) {
        let [k1, k2, t1, t2, k3] = self.d;
        let r2 = x * x + y * y;
        let radial = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3));
        (
            x * radial + 2.0 * t1 * x * y + t2 * (r2 + 2.0 * x * x),
            y * radial + t1 * (r2 + 2.0 * y * y) + 2.0 * t2 * x * y,
        )
    }

    /// Inverts [`CameraRig::distort`] by fixed-point iteration.
    pub fn undistort(&self, xd: f64, yd: f64) -> (f64, f64) {
        let [k1, k2, t1, t2, k3] = self.d;
        let (mut x, mut y) = (xd, yd);
        for _ in 0..30 {
            let r2 = x * x + y * y;
            let radial = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3));
            let dx = 2.0 * t1 * x * y + t2 * (r2 + 2.0 * x * x);
            let dy = t1 * (r2 + 2.0 * y * y) + 2.0 * t2 * x * y;
            x = (xd - dx) / radial;
            y = (yd - dy) / radial;
        }
        (x, y)
    }

    /// Pixel coordinates of a point in the optical frame, if in front (pixel (i, j) covers [i, i+1)×[j, j+1)).
    #[inline]
    pub fn project(&self, p: V3) -> Option<(f64, f64)> {
        if p[2] <= NEAR {
            return None;
        }
        let (xd, yd) = self.distort(p[0] / p[2], p[1] / p[2]);
        Some((self.fx * xd + self.cx, self.fy * yd + self.cy))
    }
}

/// Pose of a sensor mount in `base_link`.
pub fn mount_pose(m: &Mount) -> Pose {
    Pose::from_rpy(m.translation, m.rpy)
}

/// One rendered frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub width: u32,
    pub height: u32,
    /// RGB8, rows packed.
    pub rgb: Vec<u8>,
    /// Instance id per pixel (0 ground/sky).
    pub instance: Vec<u16>,
    /// Optical-frame depth per pixel (m; infinity for sky).
    pub depth: Vec<f32>,
}

/// The renderer: camera, look-up table and canvas buffers (reused between frames).
#[derive(Debug, Clone)]
pub struct Renderer {
    pub cam: CameraRig,
    cw: usize,
    ch: usize,
    /// Offset of the canvas origin relative to the image's pinhole coordinates.
    ox: f64,
    oy: f64,
    /// Canvas index per image pixel (`u32::MAX`: outside the canvas).
    lut: Vec<u32>,
    /// Undistorted normalised ray (x, y) per image pixel.
    rays: Vec<[f32; 2]>,
    c_rgb: Vec<[u8; 3]>,
    c_id: Vec<u16>,
    c_depth: Vec<f32>,
}

struct Face {
    /// Plane in the optical frame: n·p = k.
    n: V3,
    k: f64,
    origin: V3,
    e1: V3,
    e2: V3,
    len1: f64,
    len2: f64,
    kind: FaceKind,
    shade: f64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum FaceKind {
    Side { long: bool },
    Top,
}

impl Renderer {
    pub fn new(cfg: &CameraConfig) -> Renderer {
        let cam = CameraRig::new(cfg);
        let (w, h) = (cfg.width as usize, cfg.height as usize);
        let mut rays = Vec::with_capacity(w * h);
        let (mut umin, mut umax, mut vmin, mut vmax) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for v in 0..h {
            for u in 0..w {
                // Pixel (u, v) covers [u, u+1)×[v, v+1) (calibration/README.md): sample its centre.
                let xd = (u as f64 + 0.5 - cam.cx) / cam.fx;
                let yd = (v as f64 + 0.5 - cam.cy) / cam.fy;
                let (x, y) = cam.undistort(xd, yd);
                rays.push([x as f32, y as f32]);
                let (cu, cv) = (cam.fx * x + cam.cx, cam.fy * y + cam.cy);
                umin = umin.min(cu);
                umax = umax.max(cu);
                vmin = vmin.min(cv);
                vmax = vmax.max(cv);
            }
        }
        // Canvas: the undistorted footprint of the image plus a margin, at most 3× the image.
        let umin = umin.max(-(w as f64));
        let vmin = vmin.max(-(h as f64));
        let umax = umax.min(2.0 * w as f64);
        let vmax = vmax.min(2.0 * h as f64);
        let ox = -(umin).floor() + 2.0;
        let oy = -(vmin).floor() + 2.0;
        let cw = ((umax).ceil() + ox + 3.0) as usize;
        let ch = ((vmax).ceil() + oy + 3.0) as usize;
        let lut = rays
            .iter()
            .map(|r| {
                let cu = (cam.fx * f64::from(r[0]) + cam.cx + ox).floor();
                let cv = (cam.fy * f64::from(r[1]) + cam.cy + oy).floor();
                if cu >= 0.0 && cv >= 0.0 && (cu as usize) < cw && (cv as usize) < ch {
                    (cv as usize * cw + cu as usize) as u32
                } else {
                    u32::MAX
                }
            })
            .collect();
        Renderer {
            cam,
            cw,
            ch,
            ox,
            oy,
            lut,
            rays,
            c_rgb: vec![[0; 3]; cw * ch],
            c_id: vec![0; cw * ch],
            c_depth: vec![f32::INFINITY; cw * ch],
        }
    }

    /// Renders the snapshot (ground from `world`, boxes from the snapshot).
    pub fn render(&mut self, world: &World, snap: &Snapshot) -> Rendered {
        self.c_id.fill(0);
        self.c_depth.fill(f32::INFINITY);
        let cam_base = self.cam.optical_to_base.t;
        for b in &snap.boxes {
            self.draw_box(b, cam_base);
        }
        let (w, h) = (self.cam.width as usize, self.cam.height as usize);
        let mut rgb = vec![0u8; w * h * 3];
        let mut instance = vec![0u16; w * h];
        let mut depth = vec![f32::INFINITY; w * h];
        let rot = self.cam.optical_to_base.r;
        let ego = snap.ego;
        for (i, (&ci, ray)) in self.lut.iter().zip(&self.rays).enumerate() {
            let (id, d) = match self.c_id.get(ci as usize) {
                Some(&id) if id != 0 => (id, self.c_depth[ci as usize]),
                _ => (0, f32::INFINITY),
            };
            let px = &mut rgb[i * 3..i * 3 + 3];
            if id != 0 {
                px.copy_from_slice(&self.c_rgb[ci as usize]);
                instance[i] = id;
                depth[i] = d;
                continue;
            }
            // Ground or sky along this pixel's ray (optical (x, y, 1) → base).
            let r = [f64::from(ray[0]), f64::from(ray[1]), 1.0];
            let db = [dot(rot[0], r), dot(rot[1], r), dot(rot[2], r)];
            let t = if db[2] < -1e-9 {
                -cam_base[2] / db[2]
            } else {
                f64::INFINITY
            };
            if t < FAR {
                let (xw, yw) = ego.to_world(cam_base[0] + t * db[0], cam_base[1] + t * db[1]);
                let (_, c) = world.ground(xw, yw);
                let haze = (t / FAR) * 0.6;
                for k in 0..3 {
                    px[k] = (f64::from(c[k]) * (1.0 - haze) + 205.0 * haze) as u8;
                }
                depth[i] = t as f32;
            } else {
                let e = (db[2] / (db[0] * db[0] + db[1] * db[1] + db[2] * db[2]).sqrt()).clamp(0.0, 1.0);
                px[0] = (200.0 - 110.0 * e) as u8;
                px[1] = (220.0 - 70.0 * e) as u8;
                px[2] = (240.0 - 20.0 * e) as u8;
            }
        }
        Rendered {
            width: self.cam.width,
            height: self.cam.height,
            rgb,
            instance,
            depth,
        }
    }

    fn draw_box(&mut self, b: &SceneBox, cam_base: V3) {
        let (hl, hw, hh) = (b.size[0] * 0.5, b.size[1] * 0.5, b.size[2] * 0.5);
        let to_base = |l: V3| -> V3 {
            [
                b.center[0] + b.cos * l[0] - b.sin * l[1],
                b.center[1] + b.sin * l[0] + b.cos * l[1],
                b.center[2] + l[2],
            ]
        };
        let axis = |l: V3| -> V3 { [b.cos * l[0] - b.sin * l[1], b.sin * l[0] + b.cos * l[1], l[2]] };
        // Quick reject: entirely behind the camera.
        let c_opt = self.cam.base_to_optical.apply(b.center);
        let radius = (hl * hl + hw * hw + hh * hh).sqrt();
        if c_opt[2] + radius < NEAR {
            return;
        }
        // Faces: (normal axis, corners in local coords counter-clockwise seen from outside, kind).
        let faces: [(V3, [V3; 4], FaceKind); 5] = [
            (
                [1.0, 0.0, 0.0],
                [[hl, -hw, -hh], [hl, hw, -hh], [hl, hw, hh], [hl, -hw, hh]],
                FaceKind::Side { long: false },
            ),
            (
                [-1.0, 0.0, 0.0],
                [[-hl, hw, -hh], [-hl, -hw, -hh], [-hl, -hw, hh], [-hl, hw, hh]],
                FaceKind::Side { long: false },
            ),
            (
                [0.0, 1.0, 0.0],
                [[hl, hw, -hh], [-hl, hw, -hh], [-hl, hw, hh], [hl, hw, hh]],
                FaceKind::Side { long: true },
            ),
            (
                [0.0, -1.0, 0.0],
                [[-hl, -hw, -hh], [hl, -hw, -hh], [hl, -hw, hh], [-hl, -hw, hh]],
                FaceKind::Side { long: true },
            ),
            (
                [0.0, 0.0, 1.0],
                [[-hl, -hw, hh], [hl, -hw, hh], [hl, hw, hh], [-hl, hw, hh]],
                FaceKind::Top,
            ),
        ];
        let light = [0.32, 0.45, 0.83];
        for (nl, corners, kind) in faces {
            let nb = axis(nl);
            let c0 = to_base(corners[0]);
            if dot(nb, sub(cam_base, c0)) <= 0.0 {
                continue; // back face
            }
            let pts: Vec<V3> = corners
                .iter()
                .map(|c| self.cam.base_to_optical.apply(to_base(*c)))
                .collect();
            let n = self.cam.base_to_optical.rotate(nb);
            let e1v = sub(pts[1], pts[0]);
            let e2v = sub(pts[3], pts[0]);
            let (len1, len2) = ((dot(e1v, e1v)).sqrt(), (dot(e2v, e2v)).sqrt());
            if len1 <= 0.0 || len2 <= 0.0 {
                continue;
            }
            let face = Face {
                n,
                k: dot(n, pts[0]),
                origin: pts[0],
                e1: scale(e1v, 1.0 / len1),
                e2: scale(e2v, 1.0 / len2),
                len1,
                len2,
                kind,
                shade: 0.55 + 0.45 * dot(nb, light).max(0.0),
            };
            let clipped = clip_near(&pts);
            if clipped.len() < 3 {
                continue;
            }
            let poly: Vec<[f64; 2]> = clipped
                .iter()
                .map(|p| {
                    [
                        self.cam.fx * p[0] / p[2] + self.cam.cx + self.ox,
                        self.cam.fy * p[1] / p[2] + self.cam.cy + self.oy,
                    ]
                })
                .collect();
            let zmin = clipped.iter().map(|p| p[2]).fold(f64::MAX, f64::min);
            let zmax = clipped.iter().map(|p| p[2]).fold(f64::MIN, f64::max);
            self.fill(&poly, &face, b, (zmin, zmax));
        }
    }

    /// Fills the canvas pixels whose centre lies within [`COVER`] px (per axis) of the projected face,
    /// so that every projection of the face's surface lands on a pixel of this box (the LUT samples the
    /// canvas with nearest-pixel lookups twice: image pixel centre, then canvas pixel).
    fn fill(&mut self, poly: &[[f64; 2]], face: &Face, b: &SceneBox, zrange: (f64, f64)) {
        let vmin = poly.iter().map(|p| p[1]).fold(f64::MAX, f64::min);
        let vmax = poly.iter().map(|p| p[1]).fold(f64::MIN, f64::max);
        // Canvas pixel (i, j) is sampled at its centre (i + ½, j + ½).
        let j0 = (vmin - COVER - 0.5).ceil().max(0.0);
        let j1 = (vmax + COVER - 0.5).floor().min(self.ch as f64 - 1.0);
        if j0 > j1 {
            return;
        }
        let inv_fx = 1.0 / self.cam.fx;
        let inv_fy = 1.0 / self.cam.fy;
        for j in j0 as usize..=j1 as usize {
            let yc = j as f64 + 0.5;
            let (y0, y1) = (yc - COVER, yc + COVER);
            // x-extent of the polygon within the band [y0, y1].
            let (mut xl, mut xr) = (f64::MAX, f64::MIN);
            for e in 0..poly.len() {
                let p = poly[e];
                let q = poly[(e + 1) % poly.len()];
                let (lo, hi) = if p[1] <= q[1] { (p, q) } else { (q, p) };
                if hi[1] < y0 || lo[1] > y1 {
                    continue;
                }
                if hi[1] - lo[1] < 1e-12 {
                    xl = xl.min(lo[0].min(hi[0]));
                    xr = xr.max(lo[0].max(hi[0]));
                    continue;
                }
                for y in [lo[1].max(y0), hi[1].min(y1)] {
                    let x = lo[0] + (y - lo[1]) * (hi[0] - lo[0]) / (hi[1] - lo[1]);
                    xl = xl.min(x);
                    xr = xr.max(x);
                }
            }
            let i0 = (xl - COVER - 0.5).ceil().max(0.0);
            let i1 = (xr + COVER - 0.5).floor().min(self.cw as f64 - 1.0);
            if i0 > i1 {
                continue;
            }
            let ry = (yc - self.oy - self.cam.cy) * inv_fy;
            for i in i0 as usize..=i1 as usize {
                let rx = (i as f64 + 0.5 - self.ox - self.cam.cx) * inv_fx;
                let r = [rx, ry, 1.0];
                let den = dot(face.n, r);
                // Depth where the pixel's ray meets the face plane, kept within the face's depth range
                // (pixels of the cover margin lie just outside the face).
                let t = if den.abs() > 1e-12 { face.k / den } else { zrange.1 };
                let t = if t.is_finite() {
                    t.clamp(zrange.0, zrange.1)
                } else {
                    zrange.1
                };
                let idx = j * self.cw + i;
                if t as f32 >= self.c_depth[idx] {
                    continue;
                }
                let p = sub(scale(r, t), face.origin);
                let a = (dot(p, face.e1) / face.len1).clamp(0.0, 1.0);
                let bb = (dot(p, face.e2) / face.len2).clamp(0.0, 1.0);
                self.c_depth[idx] = t as f32;
                self.c_id[idx] = b.id;
                self.c_rgb[idx] = texture(b, face, a, bb);
            }
        }
    }
}

/// Clips a polygon (optical frame) to z ≥ NEAR.
fn clip_near(pts: &[V3]) -> Vec<V3> {
    let mut out = Vec::with_capacity(pts.len() + 2);
    for i in 0..pts.len() {
        let p = pts[i];
        let q = pts[(i + 1) % pts.len()];
        let (pin, qin) = (p[2] >= NEAR, q[2] >= NEAR);
        if pin {
            out.push(p);
        }
        if pin != qin {
            let s = (NEAR - p[2]) / (q[2] - p[2]);
            out.push(add(p, scale(sub(q, p), s)));
        }
    }
    out
}

fn mul(c: [u8; 3], k: f64) -> [u8; 3] {
    [
        (f64::from(c[0]) * k).clamp(0.0, 255.0) as u8,
        (f64::from(c[1]) * k).clamp(0.0, 255.0) as u8,
        (f64::from(c[2]) * k).clamp(0.0, 255.0) as u8,
    ]
}

fn frac(x: f64) -> f64 {
    x - (x).floor()
}

/// Class colours with simple textures, in face coordinates a (along) and b (up, or across on top faces).
fn texture(b: &SceneBox, face: &Face, a: f64, v: f64) -> [u8; 3] {
    let (l1, l2) = (face.len1, face.len2);
    let noise = hash01(
        (a * l1 * 12.0).floor() as i64,
        (v * l2 * 12.0).floor() as i64,
        u64::from(b.id),
    );
    let k = face.shade * (0.94 + 0.12 * noise);
    let top = face.kind == FaceKind::Top;
    let base = b.colour;
    let c = match b.material {
        Material::Object(Class::Car) => {
            if top {
                mul(base, 0.9)
            } else if v > 0.62 && v < 0.92 && a > 0.08 && a < 0.92 {
                [40, 52, 70] // windows
            } else if matches!(face.kind, FaceKind::Side { long: true })
                && v < 0.3
                && ((a - 0.2).abs() < 0.09 || (a - 0.8).abs() < 0.09)
            {
                [20, 20, 20] // wheels
            } else if v > 0.45 && v < 0.5 {
                mul(base, 0.6) // trim line
            } else {
                base
            }
        }
        Material::Object(Class::Truck) => {
            if !top && v < 0.16 {
                [25, 25, 25]
            } else if !top && frac(a * l1 / 0.6) < 0.18 {
                mul(base, 0.7) // ribs
            } else {
                base
            }
        }
        Material::Object(Class::Pedestrian) => {
            if top || v > 0.86 {
                [224, 188, 160] // head
            } else if v > 0.47 {
                base
            } else {
                [45, 45, 80] // trousers
            }
        }
        Material::Object(Class::Cyclist) => {
            if top || v > 0.9 {
                [240, 240, 240] // helmet
            } else if v > 0.45 {
                base
            } else if frac(a * l1 / 0.35) < 0.4 {
                [30, 30, 30]
            } else {
                [140, 140, 150]
            }
        }
        Material::Object(Class::Cone) => {
            if !top && v < 0.08 {
                [30, 30, 30]
            } else if !top && v > 0.45 && v < 0.65 {
                [245, 245, 245]
            } else {
                base
            }
        }
        Material::Building => {
            let (fa, fb) = (frac(a * l1 / 3.0), frac(v * l2 / 3.0));
            if !top && v * l2 > 1.0 && fa > 0.25 && fa < 0.7 && fb > 0.35 && fb < 0.75 {
                [60, 70, 90]
            } else {
                base
            }
        }
        _ => base,
    };
    mul(c, k)
}
