//! Frame assembly for the live node: decoded camera / LiDAR / map-text messages in, frame sets out.
//!
//! The same rules as `sensorium_pipeline::replay`: the engine's synchronizer matches camera and LiDAR
//! by stamp; when the camera is stale (no image for period × stale factor, or never seen) each LiDAR
//! sweep is fused alone, and when the LiDAR is stale each image is fused alone (degraded modes).

use sensorium_core::{MapText, PointsSoA, RgbImage, Stamp};
use sensorium_engine::sync::{MatchedSet, PolicyConfig, Synchronizer};
use sensorium_pipeline::perception::FrameSet;
use std::collections::{BTreeMap, VecDeque};

const CAMERA: usize = 0;
const LIDAR: usize = 1;

/// A header stamp this much older than the previous one is a clock jump (looped bag, restarted sim),
/// not reordering (which is milliseconds).
pub const CLOCK_JUMP_BACK_NS: i64 = 1_000_000_000;

/// Expected period of a stream, learned from its stamps (EWMA of positive intervals).
#[derive(Debug, Default, Clone, Copy)]
pub struct Rate {
    pub last: Option<Stamp>,
    pub period: Option<f64>,
}

impl Rate {
    pub fn observe(&mut self, s: Stamp) {
        if let Some(l) = self.last {
            let dt = s.diff_nanos(l) as f64 * 1e-9;
            if dt > 0.0 && dt < 10.0 {
                self.period = Some(self.period.map_or(dt, |p| 0.9 * p + 0.1 * dt));
            }
        }
        self.last = Some(s);
    }
    /// Is the stream stale at `now` (no message for period × factor, or none ever)?
    pub fn stale_at(&self, now: Stamp, factor: f64) -> bool {
        match (self.last, self.period) {
            (Some(l), Some(p)) => now.diff_nanos(l) as f64 * 1e-9 > p * factor,
            (None, _) => true,
            _ => false,
        }
    }
}

/// Small bounded store of decoded messages waiting for the synchronizer, keyed by id.
struct Pending<T> {
    items: VecDeque<(u64, T)>,
    cap: usize,
    unmatched: u64,
}

impl<T> Pending<T> {
    fn new(cap: usize) -> Self {
        Pending {
            items: VecDeque::new(),
            cap: cap.max(2),
            unmatched: 0,
        }
    }
    fn push(&mut self, id: u64, v: T) -> bool {
        let overflow = self.items.len() >= self.cap;
        if overflow {
            self.items.pop_front();
        }
        self.items.push_back((id, v));
        overflow
    }
    fn take(&mut self, id: u64) -> Option<T> {
        let i = self.items.iter().position(|(k, _)| *k == id)?;
        let v = self.items.remove(i).map(|(_, v)| v);
        let before = self.items.len();
        self.items.retain(|(k, _)| *k > id);
        self.unmatched += (before - self.items.len()) as u64;
        v
    }
}

/// Turns a stream of decoded inputs into frame sets.
pub struct Assembler {
    sync: Box<dyn Synchronizer>,
    cams: Pending<RgbImage>,
    clouds: Pending<PointsSoA>,
    rates: [Rate; 2],
    map_text: Option<MapText>,
    next_id: u64,
    seq: u64,
    last_stamp: Option<Stamp>,
    stale_factor: f64,
    map_text_ttl: f64,
    /// Drop counts by reason (sync queue overflow, clock jumps).
    pub drops: BTreeMap<String, u64>,
}

impl Assembler {
    pub fn new(
        sync: &PolicyConfig,
        stale_factor: f64,
        map_text_ttl: f64,
    ) -> Result<Assembler, sensorium_engine::EngineError> {
        let queue = sync.queue.max(1);
        Ok(Assembler {
            sync: sync.build()?,
            cams: Pending::new(queue + 2),
            clouds: Pending::new(queue + 2),
            rates: [Rate::default(); 2],
            map_text: None,
            next_id: 0,
            seq: 0,
            last_stamp: None,
            stale_factor,
            map_text_ttl,
            drops: BTreeMap::new(),
        })
    }

    fn drop_reason(&mut self, k: &str) {
        *self.drops.entry(k.to_string()).or_default() += 1;
    }

    /// Messages never matched (older than a matched one of the same stream).
    pub fn unmatched(&self) -> (u64, u64) {
        (self.cams.unmatched, self.clouds.unmatched)
    }

    pub fn camera_rate(&self) -> Rate {
        self.rates[CAMERA]
    }

    pub fn lidar_rate(&self) -> Rate {
        self.rates[LIDAR]
    }

    /// Is the camera stale relative to the newest LiDAR stamp (degraded: LiDAR-only)?
    pub fn camera_stale(&self) -> bool {
        self.rates[LIDAR]
            .last
            .is_some_and(|l| self.rates[CAMERA].stale_at(l, self.stale_factor))
    }

    /// The latest map text (stamped with its receive time).
    pub fn set_map_text(&mut self, m: MapText) {
        self.map_text = Some(m);
    }

    fn live_text(&self, now: Stamp) -> Option<MapText> {
        let ttl = self.map_text_ttl;
        self.map_text
            .as_ref()
            .filter(|t| ttl <= 0.0 || (now.diff_nanos(t.stamp) as f64) * 1e-9 <= ttl)
            .cloned()
    }

    /// The frame set of a match; `None` when one of its messages is gone (already fused alone in a
    /// degraded set, or pushed out of the bounded store): such a set is dropped and counted.
    fn assemble(&mut self, set: &MatchedSet) -> Option<(FrameSet, Stamp)> {
        let mut fs = FrameSet::default();
        let mut stamp = Stamp::ZERO;
        let mut complete = true;
        for &(stream, s, id) in &set.items {
            match stream {
                CAMERA => {
                    fs.camera = self.cams.take(id);
                    complete &= fs.camera.is_some();
                }
                _ => {
                    fs.lidar = self.clouds.take(id);
                    complete &= fs.lidar.is_some();
                    stamp = s;
                }
            }
            if stamp == Stamp::ZERO {
                stamp = s;
            }
        }
        if !complete {
            self.drop_reason("sync_input_gone");
            return None;
        }
        self.seq += 1;
        fs.seq = self.seq;
        fs.map_text = self.live_text(stamp);
        Some((fs, stamp))
    }

    /// Time going backwards by more than [`CLOCK_JUMP_BACK_NS`] (a looped bag, a restarted sim clock):
    /// the synchronizer and the stream rates start over, counted as `clock_jump_reset`.
    fn check_clock(&mut self, stamp: Stamp) {
        if let Some(l) = self.last_stamp {
            if stamp.diff_nanos(l) < -CLOCK_JUMP_BACK_NS {
                tracing::warn!(from = %l, to = %stamp, "time went backwards: resetting the synchronizer");
                self.sync.reset();
                self.rates = Default::default();
                self.drop_reason("clock_jump_reset");
            }
        }
        self.last_stamp = Some(stamp);
    }

    /// A camera image arrived; returns the frame sets it completes.
    pub fn camera(&mut self, img: RgbImage) -> Vec<(FrameSet, Stamp)> {
        let stamp = img.stamp;
        self.check_clock(stamp);
        self.rates[CAMERA].observe(stamp);
        let id = self.next_id;
        self.next_id += 1;
        if self.cams.push(id, img) {
            self.drop_reason("sync_queue_camera");
        }
        let mut out = Vec::new();
        for set in self.sync.add(CAMERA, stamp, id) {
            out.extend(self.assemble(&set));
        }
        if self.rates[LIDAR].last.is_some() && self.rates[LIDAR].stale_at(stamp, self.stale_factor) {
            if let Some(img) = self.cams.take(id) {
                self.seq += 1;
                let set = FrameSet {
                    seq: self.seq,
                    camera: Some(img),
                    lidar: None,
                    map_text: self.live_text(stamp),
                };
                out.push((set, stamp));
            }
        }
        out
    }

    /// A LiDAR sweep arrived; returns the frame sets it completes.
    pub fn lidar(&mut self, cloud: PointsSoA) -> Vec<(FrameSet, Stamp)> {
        let stamp = cloud.stamp;
        self.check_clock(stamp);
        self.rates[LIDAR].observe(stamp);
        let id = self.next_id;
        self.next_id += 1;
        if self.clouds.push(id, cloud) {
            self.drop_reason("sync_queue_lidar");
        }
        let mut out = Vec::new();
        for set in self.sync.add(LIDAR, stamp, id) {
            out.extend(self.assemble(&set));
        }
        if self.rates[CAMERA].stale_at(stamp, self.stale_factor) {
            if let Some(cloud) = self.clouds.take(id) {
                self.seq += 1;
                let set = FrameSet {
                    seq: self.seq,
                    camera: None,
                    lidar: Some(cloud),
                    map_text: self.live_text(stamp),
                };
                out.push((set, stamp));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sensorium_engine::sync::PolicyKind;

    fn cfg() -> PolicyConfig {
        PolicyConfig {
            policy: PolicyKind::Latest,
            streams: 2,
            queue: 10,
            max_interval: None,
            slop: 0.05,
            trigger: 1,
            max_age: vec![0.15],
            ..Default::default()
        }
    }

    fn img(t: f64) -> RgbImage {
        RgbImage {
            stamp: Stamp::from_nanos((t * 1e9) as u64),
            width: 1,
            height: 1,
            data: vec![0, 0, 0],
            ..Default::default()
        }
    }

    fn cloud(t: f64) -> PointsSoA {
        PointsSoA {
            stamp: Stamp::from_nanos((t * 1e9) as u64),
            ..Default::default()
        }
    }

    #[test]
    fn fuses_pairs_then_degrades_to_lidar_only_when_the_camera_stops() {
        let node_default = crate::node::NodeSettings::new(std::path::PathBuf::new()).sync;
        for config in [cfg(), node_default] {
            let policy = config.policy;
            let mut a = Assembler::new(&config, 3.0, 30.0).expect("assembler");
            let mut both = 0;
            for k in 0..10 {
                let t = 100.0 + 0.1 * k as f64;
                let mut sets = a.camera(img(t - 0.01));
                sets.extend(a.lidar(cloud(t)));
                for (s, _) in sets {
                    assert!(s.camera.is_some() && s.lidar.is_some(), "{policy:?}: pair at {t}");
                    both += 1;
                }
            }
            assert!(both >= 8, "{policy:?}: {both} fused pairs");
            assert!(!a.camera_stale());
            // camera stops: after period × 3 the LiDAR is fused alone
            let mut lidar_only = 0;
            for k in 10..20 {
                for (s, _) in a.lidar(cloud(100.0 + 0.1 * k as f64)) {
                    assert!(s.lidar.is_some(), "{policy:?}: LiDAR in every set");
                    if s.camera.is_none() {
                        lidar_only += 1;
                    }
                }
            }
            assert!(a.camera_stale());
            assert!(lidar_only >= 6, "{policy:?}: {lidar_only} LiDAR-only sets");
            // camera back: pairs again, never a set whose LiDAR was already fused alone
            let mut recovered = 0;
            for k in 20..26 {
                let t = 100.0 + 0.1 * k as f64;
                let mut sets = a.camera(img(t - 0.01));
                sets.extend(a.lidar(cloud(t)));
                for (s, _) in &sets {
                    assert!(s.lidar.is_some(), "{policy:?}: camera-only set after recovery");
                }
                recovered += sets.iter().filter(|(s, _)| s.camera.is_some()).count();
            }
            assert!(!a.camera_stale());
            assert!(recovered >= 4, "{policy:?}: {recovered}");
        }
    }
}
