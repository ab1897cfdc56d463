//! The rotating LiDAR: one ray per (azimuth step, beam), cast against the ground plane and the scene's
//! boxes. Boxes are binned by the azimuth interval they cover (seen from the sensor), so each ray tests
//! only the few boxes in its bin. Range noise is Gaussian (Box–Muller with `libm`), returns drop out with
//! a fixed probability, and intensity is the material's reflectivity scaled by the incidence angle.
//! The sweep is cast against the scene at the sweep stamp (a motion-compensated cloud); each point's
//! `time` field is its firing offset within the sweep, `ring` its beam (0 = lowest).

use crate::config::LidarConfig;
use crate::math::{Pose, V3};
use crate::render::mount_pose;
use crate::world::{Material, SceneBox, Snapshot, World};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sensorium_core::PointsSoA;

const BINS: usize = 720;

/// A LiDAR sweep: the points (lidar frame) and, per point, the instance id it hit (0 = ground).
#[derive(Debug, Clone, PartialEq)]
pub struct Sweep {
    pub points: PointsSoA,
    pub hit: Vec<u16>,
}

/// Precomputed ray directions and the per-sweep box bins.
#[derive(Debug, Clone)]
pub struct Lidar {
    pub cfg: LidarConfig,
    /// lidar → `base_link`.
    pub mount: Pose,
    steps: usize,
    beams: usize,
    /// Per ray (azimuth-major): direction in the lidar frame and in `base_link`.
    dir_lidar: Vec<V3>,
    dir_base: Vec<V3>,
    bin_of_ray: Vec<u16>,
    bins: Vec<Vec<u16>>,
}

impl Lidar {
    pub fn new(cfg: &LidarConfig) -> Lidar {
        let mount = mount_pose(&cfg.mount);
        let steps = (360.0 / cfg.azimuth_res_deg).round().max(1.0) as usize;
        let beams = usize::from(cfg.beams.max(1));
        let deg = std::f64::consts::PI / 180.0;
        let elev: Vec<(f64, f64)> = (0..beams)
            .map(|b| {
                let e = if beams == 1 {
                    cfg.vfov_deg[0]
                } else {
                    cfg.vfov_deg[0] + (cfg.vfov_deg[1] - cfg.vfov_deg[0]) * b as f64 / (beams - 1) as f64
                };
                (libm::cos(e * deg), libm::sin(e * deg))
            })
            .collect();
        let mut dir_lidar = Vec::with_capacity(steps * beams);
        let mut dir_base = Vec::with_capacity(steps * beams);
        let mut bin_of_ray = Vec::with_capacity(steps * beams);
        for k in 0..steps {
            // Clockwise seen from above, starting behind the sensor.
            let az = std::f64::consts::PI - k as f64 * 2.0 * std::f64::consts::PI / steps as f64;
            let (ca, sa) = (libm::cos(az), libm::sin(az));
            for &(ce, se) in &elev {
                let d = [ce * ca, ce * sa, se];
                let db = mount.rotate(d);
                dir_lidar.push(d);
                dir_base.push(db);
                bin_of_ray.push(azimuth_bin(libm::atan2(db[1], db[0])) as u16);
            }
        }
        Lidar {
            cfg: cfg.clone(),
            mount,
            steps,
            beams,
            dir_lidar,
            dir_base,
            bin_of_ray,
            bins: vec![Vec::new(); BINS],
        }
    }

    /// Rays per sweep.
    pub fn rays(&self) -> usize {
        self.steps * self.beams
    }

    fn bin_boxes(&mut self, boxes: &[SceneBox]) {
        for b in &mut self.bins {
            b.clear();
        }
        let o = self.mount.t;
        let reach = self.cfg.max_range;
        for (i, b) in boxes.iter().enumerate() {
            let (dx, dy) = (b.center[0] - o[0], b.center[1] - o[1]);
            let dist = (dx * dx + dy * dy).sqrt();
            let radius = 0.5 * (b.size[0] * b.size[0] + b.size[1] * b.size[1]).sqrt();
            if dist - radius > reach {
                continue;
            }
            if dist <= radius + 0.5 {
                for bin in &mut self.bins {
                    bin.push(i as u16);
                }
                continue;
            }
            let ac = libm::atan2(dy, dx);
            let (mut lo, mut hi) = (0.0f64, 0.0f64);
            for c in b.footprint() {
                let rel = crate::math::wrap_angle(libm::atan2(c[1] - o[1], c[0] - o[0]) - ac);
                lo = lo.min(rel);
                hi = hi.max(rel);
            }
            let b0 = azimuth_bin(ac + lo) as i64;
            let b1 = azimuth_bin(ac + hi) as i64;
            let n = BINS as i64;
            let span = (b1 - b0).rem_euclid(n);
            for s in 0..=span {
                let k = (b0 + s).rem_euclid(n) as usize;
                self.bins[k].push(i as u16);
            }
        }
    }

    /// Casts one sweep against `snap` (boxes) and `world` (ground), with noise from `rng`.
    pub fn sweep(&mut self, world: &World, snap: &Snapshot, rng: &mut ChaCha8Rng) -> Sweep {
        self.bin_boxes(&snap.boxes);
        let n = self.rays();
        let mut pts = PointsSoA::with_capacity(n);
        let mut ring = Vec::with_capacity(n);
        let mut time = Vec::with_capacity(n);
        let mut hit = Vec::with_capacity(n);
        let o = self.mount.t;
        let period = 1.0 / self.cfg.rate_hz;
        let (rmin, rmax) = (self.cfg.min_range, self.cfg.max_range);
        let sigma = self.cfg.range_noise_std;
        let mut gauss = Gauss::default();
        for r in 0..n {
            let d = self.dir_base[r];
            // Ground plane z = 0 in base_link.
            let mut best = if d[2] < -1e-9 { -o[2] / d[2] } else { f64::INFINITY };
            let mut best_box: Option<(usize, f64)> = None;
            for &bi in &self.bins[usize::from(self.bin_of_ray[r])] {
                let b = &snap.boxes[usize::from(bi)];
                if let Some((t, cos_inc)) = ray_box(o, d, b) {
                    if t < best {
                        best = t;
                        best_box = Some((usize::from(bi), cos_inc));
                    }
                }
            }
            // Random draws happen for every ray, so that a change in one ray does not shift the others.
            let drop_u: f64 = rng.gen();
            let noise = gauss.sample(rng);
            let inten_noise = gauss.sample(rng);
            if !(best >= rmin && best <= rmax) || drop_u < self.cfg.dropout {
                continue;
            }
            let (id, material, cos_inc) = match best_box {
                Some((bi, c)) => {
                    let b = &snap.boxes[bi];
                    (b.id, b.material, c)
                }
                None => {
                    let (xw, yw) = snap.ego.to_world(o[0] + best * d[0], o[1] + best * d[1]);
                    (0, world.ground(xw, yw).0, -d[2])
                }
            };
            let range = best + sigma * noise;
            let dl = self.dir_lidar[r];
            let inten = material_intensity(material, cos_inc, best) * (1.0 + 0.08 * inten_noise);
            pts.push(
                (dl[0] * range) as f32,
                (dl[1] * range) as f32,
                (dl[2] * range) as f32,
                inten.clamp(0.0, 255.0) as f32,
            );
            ring.push((r % self.beams) as u16);
            time.push(((r / self.beams) as f64 * period / self.steps as f64) as f32);
            hit.push(id);
        }
        pts.ring = Some(ring);
        pts.time = Some(time);
        Sweep { points: pts, hit }
    }
}

fn azimuth_bin(a: f64) -> usize {
    let a = crate::math::wrap_angle(a) + std::f64::consts::PI; // [0, 2π]
    ((a / (2.0 * std::f64::consts::PI) * BINS as f64) as usize).min(BINS - 1)
}

fn material_intensity(m: Material, cos_inc: f64, range: f64) -> f64 {
    let falloff = 1.0 / (1.0 + range / 150.0);
    m.reflectivity() * (0.35 + 0.65 * cos_inc.abs()) * falloff
}

/// Nearest positive intersection of the ray `o + t·d` with an oriented box; returns (t, |cos incidence|).
#[inline]
fn ray_box(o: V3, d: V3, b: &SceneBox) -> Option<(f64, f64)> {
    let ol = b.to_local(o);
    let dl = [b.cos * d[0] + b.sin * d[1], -b.sin * d[0] + b.cos * d[1], d[2]];
    let h = [b.size[0] * 0.5, b.size[1] * 0.5, b.size[2] * 0.5];
    let (mut tn, mut tf) = (f64::NEG_INFINITY, f64::INFINITY);
    let mut axis = 0;
    for k in 0..3 {
        if dl[k].abs() < 1e-12 {
            if ol[k].abs() > h[k] {
                return None;
            }
            continue;
        }
        let inv = 1.0 / dl[k];
        let (mut t1, mut t2) = ((-h[k] - ol[k]) * inv, (h[k] - ol[k]) * inv);
        if t1 > t2 {
            std::mem::swap(&mut t1, &mut t2);
        }
        if t1 > tn {
            tn = t1;
            axis = k;
        }
        tf = tf.min(t2);
        if tn > tf {
            return None;
        }
    }
    if tn <= 0.0 {
        return None; // the sensor is inside or the box is behind
    }
    Some((tn, dl[axis].abs()))
}

/// Standard normal draws (Box–Muller, `libm` for bit-identical results on every target).
#[derive(Default)]
struct Gauss {
    spare: Option<f64>,
}

impl Gauss {
    fn sample(&mut self, rng: &mut ChaCha8Rng) -> f64 {
        if let Some(s) = self.spare.take() {
            return s;
        }
        let u1: f64 = 1.0 - rng.gen::<f64>(); // (0, 1]
        let u2: f64 = rng.gen();
        let r = (-2.0 * libm::log(u1)).sqrt();
        let a = 2.0 * std::f64::consts::PI * u2;
        self.spare = Some(r * libm::sin(a));
        r * libm::cos(a)
    }
}

/// The per-sweep noise stream: independent of every other sweep, fixed by (seed, sweep).
pub fn sweep_rng(seed: u64, sweep: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5EED_11DA_0000_0000);
    rng.set_stream(sweep.wrapping_add(1));
    rng
}
