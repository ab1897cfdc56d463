//! Writes a simulated drive as a ROS1 bag: camera images (+ camera_info) at the camera rate, LiDAR
//! sweeps, ground truth stamped like each sweep, map text at ~1 Hz, and `/tf_static` once (latched).
//!
//! Header stamps carry Gaussian jitter (`timing.stamp_jitter_ms`, clipped at 3σ) around the nominal
//! sensor times; each message's record time is its stamp plus a uniform delay (`timing.record_delay_ms`).
//! Messages are written in record-time order. Jitter and delays come from their own ChaCha stream, so
//! the bag is a pure function of (config, frames, seed).

use crate::config::{BagCompression, SimConfig};
use crate::error::SimError;
use crate::math::{normal, Pose, BODY_TO_OPTICAL};
use crate::render::Rendered;
use crate::{truth, Simulator};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sensorium_bag::{Compression, ConnectionSpec};
use sensorium_core::{RgbImage, Stamp};
use sensorium_msgs::record::{RecordError, RecordFormat, RecordWriter};
use sensorium_msgs::{
    CameraInfo, CompressedImage, Header, Image, PointCloud2, RosMessage, StringMsg, TFMessage, Transform,
    TransformStamped,
};
use std::path::Path;

/// What a bag run produced.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SimReport {
    pub sweeps: u32,
    pub images: u32,
    pub map_texts: u32,
    pub points: u64,
    pub messages: u64,
    /// Size of the bag file.
    pub bytes: u64,
    /// Record times of the first and last message (s since the epoch).
    pub start: f64,
    pub end: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Tf,
    Camera,
    Lidar,
    MapText,
}

#[derive(Debug, Clone, Copy)]
struct Event {
    record_ns: u64,
    stamp_ns: u64,
    kind: Kind,
    index: u32,
}

const CALLERID: &str = "/sensorium_sim";

struct Conns {
    image: Option<u32>,
    compressed: Option<u32>,
    info: u32,
    points: u32,
    map_text: u32,
    truth: u32,
    tf: u32,
}

fn spec<T: RosMessage>(topic: &str, latching: bool) -> ConnectionSpec {
    ConnectionSpec {
        topic: topic.to_string(),
        datatype: T::DATATYPE.to_string(),
        md5sum: T::MD5SUM.to_string(),
        message_definition: T::DEFINITION.to_string(),
        callerid: Some(CALLERID.to_string()),
        latching,
    }
}

fn transform(parent: &str, child: &str, pose: &Pose, stamp: Stamp) -> TransformStamped {
    TransformStamped {
        header: Header::new(stamp, parent),
        child_frame_id: child.to_string(),
        transform: Transform {
            translation: pose.t,
            rotation: pose.quaternion(),
        },
    }
}

/// The three static transforms of the vehicle.
pub fn tf_static(sim: &Simulator, stamp: Stamp) -> TFMessage {
    let f = &sim.cfg.frames;
    TFMessage {
        transforms: vec![
            transform(&f.base, &f.lidar, &sim.t_base_lidar(), stamp),
            transform(&f.base, &f.camera, &sim.renderer.cam.base_camera, stamp),
            transform(&f.camera, &f.camera_optical, &BODY_TO_OPTICAL.inverse(), stamp),
        ],
    }
}

/// camera_info for the simulated camera.
pub fn camera_info(sim: &Simulator, header: Header) -> CameraInfo {
    let c = &sim.renderer.cam;
    CameraInfo {
        header,
        height: c.height,
        width: c.width,
        distortion_model: "plumb_bob".into(),
        d: c.d.to_vec(),
        k: c.k(),
        r: [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
        p: [c.fx, 0.0, c.cx, 0.0, 0.0, c.fy, c.cy, 0.0, 0.0, 0.0, 1.0, 0.0],
        ..Default::default()
    }
}

/// JPEG bytes of a rendered image.
pub fn jpeg_bytes(img: &Rendered, quality: u8) -> Result<Vec<u8>, SimError> {
    let mut out = Vec::new();
    let mut enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality);
    enc.encode(&img.rgb, img.width, img.height, image::ExtendedColorType::Rgb8)
        .map_err(|e| SimError::Encode {
            what: "JPEG".into(),
            detail: e.to_string(),
        })?;
    Ok(out)
}

fn secs_to_ns(s: f64) -> u64 {
    if s > 0.0 {
        (s * 1e9).round() as u64
    } else {
        0
    }
}

/// Simulates `frames` LiDAR sweeps (and everything around them) and writes the ROS1 bag at `out`.
pub fn simulate_to_bag(cfg: &SimConfig, frames: u32, seed: u64, out: &Path) -> Result<SimReport, SimError> {
    simulate_to(cfg, frames, seed, out, false)
}

/// As [`simulate_to_bag`]; `mcap`: an MCAP file of ROS 2 messages instead (the same messages, CDR).
pub fn simulate_to(
    cfg: &SimConfig,
    frames: u32,
    seed: u64,
    out: &Path,
    mcap: bool,
) -> Result<SimReport, SimError> {
    let mut sim = Simulator::new(cfg, seed, frames)?;
    let bag_err = |e: RecordError| SimError::Bag {
        path: out.to_path_buf(),
        detail: e.to_string(),
    };
    let compression = match cfg.compression {
        BagCompression::None => Compression::None,
        BagCompression::Lz4 => Compression::Lz4,
        BagCompression::Bz2 => Compression::Bz2,
    };
    let format = if mcap {
        RecordFormat::Mcap
    } else {
        RecordFormat::Ros1(compression)
    };
    let mut w = RecordWriter::create(out, format).map_err(bag_err)?;
    let t = &cfg.topics;
    let conns = Conns {
        image: if cfg.camera.raw {
            Some(w.add(spec::<Image>(&t.image_raw, false)).map_err(bag_err)?)
        } else {
            None
        },
        compressed: if cfg.camera.compressed {
            Some(
                w.add(spec::<CompressedImage>(&t.image_compressed, false))
                    .map_err(bag_err)?,
            )
        } else {
            None
        },
        info: w
            .add(spec::<CameraInfo>(&t.camera_info, false))
            .map_err(bag_err)?,
        points: w.add(spec::<PointCloud2>(&t.points, false)).map_err(bag_err)?,
        map_text: w.add(spec::<StringMsg>(&t.map_text, false)).map_err(bag_err)?,
        truth: w
            .add(spec::<StringMsg>(&t.ground_truth, false))
            .map_err(bag_err)?,
        tf: w.add(spec::<TFMessage>(&t.tf_static, true)).map_err(bag_err)?,
    };

    // The timeline: nominal times, jittered stamps, delayed record times.
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x7133_B0B0_0000_0000);
    let tm = &cfg.timing;
    let duration = f64::from(frames) / cfg.lidar.rate_hz;
    let t0 = tm.start_time;
    let sigma = tm.stamp_jitter_ms * 1e-3;
    let (dlo, dhi) = (tm.record_delay_ms[0] * 1e-3, tm.record_delay_ms[1] * 1e-3);
    let draw = |rng: &mut ChaCha8Rng, nominal: f64, jitter: bool| -> (u64, u64) {
        let j = if jitter && sigma > 0.0 {
            (normal(rng) * sigma).clamp(-3.0 * sigma, 3.0 * sigma)
        } else {
            0.0
        };
        let delay = if dhi > dlo { rng.gen_range(dlo..dhi) } else { dlo };
        let stamp = t0 + nominal + j;
        (secs_to_ns(stamp), secs_to_ns(stamp + delay))
    };
    let mut events = Vec::new();
    let first_ns = secs_to_ns(t0 - 0.05);
    events.push(Event {
        record_ns: first_ns,
        stamp_ns: first_ns,
        kind: Kind::Tf,
        index: 0,
    });
    for i in 0..frames {
        let (s, r) = draw(&mut rng, f64::from(i) / cfg.lidar.rate_hz, true);
        events.push(Event {
            record_ns: r,
            stamp_ns: s,
            kind: Kind::Lidar,
            index: i,
        });
    }
    let n_cam = (duration * cfg.camera.rate_hz - 1e-9).ceil().max(0.0) as u32;
    for j in 0..n_cam {
        let (s, r) = draw(&mut rng, f64::from(j) / cfg.camera.rate_hz, true);
        events.push(Event {
            record_ns: r,
            stamp_ns: s,
            kind: Kind::Camera,
            index: j,
        });
    }
    let n_map = (duration * tm.map_text_rate_hz - 1e-9).ceil().max(0.0) as u32;
    for k in 0..n_map {
        let (s, r) = draw(&mut rng, f64::from(k) / tm.map_text_rate_hz + 0.02, false);
        events.push(Event {
            record_ns: r,
            stamp_ns: s,
            kind: Kind::MapText,
            index: k,
        });
    }
    events.sort_by_key(|e| (e.record_ns, e.kind, e.index));

    let mut rep = SimReport {
        start: first_ns as f64 * 1e-9,
        ..Default::default()
    };
    let mut seq = [0u32; 4];
    let mut payload = Vec::new();
    let mut put =
        |w: &mut RecordWriter, conn: u32, rec: u64, msg: &dyn Fn(&mut Vec<u8>)| -> Result<(), SimError> {
            payload.clear();
            msg(&mut payload);
            w.write(conn, Stamp::from_nanos(rec), &payload).map_err(bag_err)
        };
    let f = cfg.frames.clone();
    for e in &events {
        let stamp = Stamp::from_nanos(e.stamp_ns);
        let rec = e.record_ns;
        let k = e.kind as usize;
        let mut header = |frame: &str| {
            let h = Header {
                seq: seq[k],
                stamp,
                frame_id: frame.to_string(),
            };
            seq[k] += 1;
            h
        };
        match e.kind {
            Kind::Tf => {
                let tf = tf_static(&sim, stamp);
                put(&mut w, conns.tf, rec, &|o| tf.encode(o))?;
                rep.messages += 1;
            }
            Kind::Camera => {
                let tcam = f64::from(e.index) / cfg.camera.rate_hz;
                let (_, img) = sim.render(tcam);
                let h = header(&f.camera_optical);
                if let Some(c) = conns.image {
                    let rgb = RgbImage {
                        stamp,
                        frame_id: f.camera_optical.clone(),
                        width: img.width,
                        height: img.height,
                        data: img.rgb.clone(),
                    };
                    let m = Image::from_rgb(&rgb, h.clone());
                    put(&mut w, c, rec, &|o| m.encode(o))?;
                    rep.messages += 1;
                }
                if let Some(c) = conns.compressed {
                    let m = CompressedImage {
                        header: h.clone(),
                        format: "rgb8; jpeg compressed bgr8".into(),
                        data: jpeg_bytes(&img, cfg.camera.jpeg_quality)?,
                    };
                    put(&mut w, c, rec, &|o| m.encode(o))?;
                    rep.messages += 1;
                }
                let info = camera_info(&sim, h);
                put(&mut w, conns.info, rec, &|o| info.encode(o))?;
                rep.messages += 1;
                rep.images += 1;
            }
            Kind::Lidar => {
                let fs = sim.frame_set_lidar_only(e.index, stamp.as_secs_f64());
                let h = header(&f.lidar);
                let cloud = PointCloud2::from_soa(&fs.1, h);
                put(&mut w, conns.points, rec, &|o| cloud.encode(o))?;
                let gt = StringMsg { data: fs.0.to_json() };
                put(&mut w, conns.truth, rec + 1000, &|o| gt.encode(o))?;
                rep.messages += 2;
                rep.sweeps += 1;
                rep.points += fs.1.len() as u64;
            }
            Kind::MapText => {
                let tk = f64::from(e.index) / tm.map_text_rate_hz + 0.02;
                let snap = sim.snapshot(tk);
                let mt = truth::map_text(&sim.world, &snap, &f.base);
                let m = StringMsg {
                    data: truth::map_text_json(&mt),
                };
                put(&mut w, conns.map_text, rec, &|o| m.encode(o))?;
                rep.messages += 1;
                rep.map_texts += 1;
            }
        }
        rep.end = (rec + 1000) as f64 * 1e-9;
    }
    w.finish().map_err(bag_err)?;
    rep.bytes = std::fs::metadata(out).map_err(|e| SimError::io(out, e))?.len();
    Ok(rep)
}
