//! Frame assembly: decoded camera, LiDAR and map-text messages in, frame sets out. One assembler
//! serves every source (a recording in replay, live topics in the node).
//!
//! - The engine's synchronizer matches camera and LiDAR by header stamp.
//! - Degraded modes: when the LiDAR is stale (no sweep for period × stale factor) each image is fused
//!   alone; when the camera is stale each sweep is fused alone. A camera not seen yet counts as absent
//!   only from the second sweep on (topics do not start together: the first sweep may come a little
//!   before the first image); then every sweep still waiting goes alone.
//! - With both camera topics present, the preferred one (`prefer_compressed`) is used once it has
//!   been seen; the other's images are ignored.
//! - Map text is kept with its receive time and joins every set formed within its time to live, both
//!   times on the source's clock (bag time in replay, ROS time live), never against a header stamp
//!   (a sensor's clock may be another than the receiver's).
//! - A header stamp more than [`CLOCK_JUMP_BACK_NS`] older than the newest one is a clock jump (a looped
//!   bag, a restarted simulator): the synchronizer and the stream rates start over.
//!
//! Every message that does not end in a frame set is counted by reason ([`Assembler::drops`]).

use crate::perception::FrameSet;
use crate::streams::Role;
use sensorium_core::{MapText, PointsSoA, RgbImage, Stamp};
use sensorium_engine::sync::{MatchedSet, PolicyConfig, Synchronizer};
use std::collections::{BTreeMap, VecDeque};
use std::time::Instant;

const CAMERA: usize = 0;
const LIDAR: usize = 1;

/// A header stamp this much older than the previous one is a clock jump, not reordering (which is
/// milliseconds).
pub const CLOCK_JUMP_BACK_NS: i64 = 1_000_000_000;

/// How frame sets are formed.
#[derive(Debug, Clone)]
pub struct AssemblyConfig {
    pub sync: PolicyConfig,
    /// A stream is stale after its period × this factor.
    pub stale_factor: f64,
    /// Map text joins sets up to this many seconds after it was received; 0: until replaced.
    pub map_text_ttl: f64,
    /// With both camera topics present, use the compressed one.
    pub prefer_compressed: bool,
}

/// A frame set ready for perception.
#[derive(Debug)]
pub struct Assembled {
    pub set: FrameSet,
    /// The set's stamp: its LiDAR sweep's, else its image's.
    pub stamp: Stamp,
    /// When the message that completed the set arrived (its deadline counts from here).
    pub trigger: Instant,
    /// When the set's first message arrived (its end-to-end latency counts from here).
    pub first: Instant,
}

/// Expected period of a stream, learned from its stamps (EWMA of positive intervals).
#[derive(Debug, Default, Clone, Copy)]
pub struct Rate {
    pub last: Option<Stamp>,
    pub period: Option<f64>,
    /// Messages observed since the last reset.
    pub seen: u64,
}

impl Rate {
    pub fn observe(&mut self, s: Stamp) {
        self.seen += 1;
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

/// Small bounded store of messages waiting for the synchronizer, keyed by id, with their arrival.
struct Pending<T> {
    items: VecDeque<(u64, T, Instant)>,
    cap: usize,
    /// Messages discarded because a newer one of the same stream was matched first.
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

    /// Stores `v`; true when the store was full and its oldest message went.
    fn push(&mut self, id: u64, v: T, arrival: Instant) -> bool {
        let overflow = self.items.len() >= self.cap;
        if overflow {
            self.items.pop_front();
        }
        self.items.push_back((id, v, arrival));
        overflow
    }

    fn take(&mut self, id: u64) -> Option<(T, Instant)> {
        let i = self.items.iter().position(|(k, _, _)| *k == id)?;
        let v = self.items.remove(i).map(|(_, v, a)| (v, a));
        // everything older than a matched message can never be matched again
        let before = self.items.len();
        self.items.retain(|(k, _, _)| *k > id);
        self.unmatched += (before - self.items.len()) as u64;
        v
    }
}

/// Turns a stream of decoded inputs into frame sets.
pub struct Assembler {
    cfg: AssemblyConfig,
    sync: Box<dyn Synchronizer>,
    cams: Pending<RgbImage>,
    clouds: Pending<PointsSoA>,
    rates: [Rate; 2],
    map_text: Option<MapText>,
    next_id: u64,
    seq: u64,
    last_stamp: Option<Stamp>,
    /// Camera topics that delivered an image: [raw, compressed].
    cameras_seen: [bool; 2],
    drops: BTreeMap<String, u64>,
}

impl Assembler {
    pub fn new(cfg: AssemblyConfig) -> Result<Assembler, sensorium_engine::EngineError> {
        let queue = cfg.sync.queue.max(1);
        Ok(Assembler {
            sync: cfg.sync.build()?,
            cams: Pending::new(queue + 2),
            clouds: Pending::new(queue + 2),
            rates: [Rate::default(); 2],
            map_text: None,
            next_id: 0,
            seq: 0,
            last_stamp: None,
            cameras_seen: [false; 2],
            drops: BTreeMap::new(),
            cfg,
        })
    }

    fn drop_reason(&mut self, k: &str) {
        *self.drops.entry(k.to_string()).or_default() += 1;
    }

    /// Drops so far by reason: sync queue overflow, inputs gone, clock jumps, never matched.
    pub fn drops(&self) -> BTreeMap<String, u64> {
        let mut d = self.drops.clone();
        for (k, v) in [
            ("sync_unmatched_camera", self.cams.unmatched),
            ("sync_unmatched_lidar", self.clouds.unmatched),
        ] {
            if v > 0 {
                *d.entry(k.into()).or_default() += v;
            }
        }
        d
    }

    /// The drops at the end of a recording: [`Assembler::drops`] plus the messages still waiting.
    pub fn finish(&self) -> BTreeMap<String, u64> {
        let mut d = self.drops();
        for (k, v) in [
            ("sync_pending_at_end_camera", self.cams.items.len() as u64),
            ("sync_pending_at_end_lidar", self.clouds.items.len() as u64),
        ] {
            if v > 0 {
                *d.entry(k.into()).or_default() += v;
            }
        }
        d
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
            .is_some_and(|l| self.rates[CAMERA].stale_at(l, self.cfg.stale_factor))
    }

    /// Map text received at `received` (on the source's clock); it replaces the previous one.
    pub fn map_text(&mut self, mut m: MapText, received: Stamp) {
        m.stamp = received;
        self.map_text = Some(m);
    }

    fn live_text(&self, now: Stamp) -> Option<MapText> {
        let ttl = self.cfg.map_text_ttl;
        self.map_text
            .as_ref()
            .filter(|t| ttl <= 0.0 || (now.diff_nanos(t.stamp) as f64) * 1e-9 <= ttl)
            .cloned()
    }

    /// The next set, formed at `now` (the source's clock: when its map text is judged live).
    fn next_set(&mut self, camera: Option<RgbImage>, lidar: Option<PointsSoA>, now: Stamp) -> FrameSet {
        self.seq += 1;
        FrameSet {
            seq: self.seq,
            camera,
            lidar,
            map_text: self.live_text(now),
        }
    }

    /// The frame set of a match. When one of its messages is gone (already fused alone in a degraded set,
    /// or pushed out of the bounded store): a LiDAR sweep whose camera frame is gone goes alone (no sweep
    /// is lost to a pause of the LiDAR stream); otherwise the set is `None`, dropped and counted as
    /// `sync_input_gone`.
    fn assemble(&mut self, set: &MatchedSet, now: Stamp, trigger: Instant) -> Option<Assembled> {
        let (mut camera, mut lidar) = (None, None);
        let mut stamp = Stamp::ZERO;
        let mut first = trigger;
        let mut complete = true;
        for &(stream, s, id) in &set.items {
            let arrival = if stream == CAMERA {
                let taken = self.cams.take(id);
                complete &= taken.is_some();
                taken.map(|(img, a)| {
                    camera = Some(img);
                    a
                })
            } else {
                let taken = self.clouds.take(id);
                complete &= taken.is_some();
                stamp = s;
                taken.map(|(cloud, a)| {
                    lidar = Some(cloud);
                    a
                })
            };
            first = arrival.map_or(first, |a| first.min(a));
            if stamp == Stamp::ZERO {
                stamp = s;
            }
        }
        if !complete {
            // its camera frame went alone while the LiDAR was stale: the sweep goes alone too
            if let (Some(l), None) = (lidar.take(), camera.as_ref()) {
                let set = self.next_set(None, Some(l), now);
                return Some(Assembled {
                    set,
                    stamp,
                    trigger,
                    first,
                });
            }
            self.drop_reason("sync_input_gone");
            return None;
        }
        let set = self.next_set(camera, lidar, now);
        Some(Assembled {
            set,
            stamp,
            trigger,
            first,
        })
    }

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

    /// An image from the camera topic of `role`, received at `received` (the source's clock) and
    /// `arrival` (wall clock); returns the frame sets it completes.
    pub fn camera(&mut self, role: Role, img: RgbImage, received: Stamp, arrival: Instant) -> Vec<Assembled> {
        let compressed = role == Role::CameraCompressed;
        self.cameras_seen[usize::from(compressed)] = true;
        if compressed != self.cfg.prefer_compressed && self.cameras_seen[usize::from(!compressed)] {
            return Vec::new(); // both camera topics: the preferred one only
        }
        let stamp = img.stamp;
        self.check_clock(stamp);
        self.rates[CAMERA].observe(stamp);
        let id = self.next_id;
        self.next_id += 1;
        if self.cams.push(id, img, arrival) {
            self.drop_reason("sync_queue_camera");
        }
        let mut out = Vec::new();
        for set in self.sync.add(CAMERA, stamp, id) {
            out.extend(self.assemble(&set, received, arrival));
        }
        // LiDAR stale: the image alone
        if self.rates[LIDAR].last.is_some() && self.rates[LIDAR].stale_at(stamp, self.cfg.stale_factor) {
            if let Some((img, first)) = self.cams.take(id) {
                let set = self.next_set(Some(img), None, received);
                out.push(Assembled {
                    set,
                    stamp,
                    trigger: arrival,
                    first,
                });
            }
        }
        out
    }

    /// A LiDAR sweep received at `received` (the source's clock) and `arrival` (wall clock); returns the
    /// frame sets it completes.
    pub fn lidar(&mut self, cloud: PointsSoA, received: Stamp, arrival: Instant) -> Vec<Assembled> {
        let stamp = cloud.stamp;
        self.check_clock(stamp);
        self.rates[LIDAR].observe(stamp);
        let id = self.next_id;
        self.next_id += 1;
        if self.clouds.push(id, cloud, arrival) {
            self.drop_reason("sync_queue_lidar");
        }
        let mut out = Vec::new();
        for set in self.sync.add(LIDAR, stamp, id) {
            out.extend(self.assemble(&set, received, arrival));
        }
        // camera stale: the sweep alone (+ map text); a camera never seen, from the second sweep on
        let waiting: Vec<u64> = match self.rates[CAMERA].last {
            Some(_) if self.rates[CAMERA].stale_at(stamp, self.cfg.stale_factor) => vec![id],
            Some(_) => Vec::new(),
            None if self.rates[LIDAR].seen >= 2 => self.clouds.items.iter().map(|(k, _, _)| *k).collect(),
            None => Vec::new(),
        };
        for k in waiting {
            if let Some((cloud, first)) = self.clouds.take(k) {
                let at = cloud.stamp;
                let set = self.next_set(None, Some(cloud), received);
                out.push(Assembled {
                    set,
                    stamp: at,
                    trigger: arrival,
                    first,
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sensorium_engine::sync::PolicyKind;

    fn cfg(policy: PolicyKind, max_interval: Option<f64>) -> AssemblyConfig {
        AssemblyConfig {
            sync: PolicyConfig {
                policy,
                streams: 2,
                queue: 10,
                max_interval,
                slop: 0.05,
                trigger: 1,
                max_age: vec![0.15],
                ..Default::default()
            },
            stale_factor: 3.0,
            map_text_ttl: 30.0,
            prefer_compressed: false,
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

    /// Received at the message's own stamp (a test source without transport delay).
    fn at(t: f64) -> Stamp {
        Stamp::from_nanos((t * 1e9) as u64)
    }

    fn cloud(t: f64) -> PointsSoA {
        PointsSoA {
            stamp: Stamp::from_nanos((t * 1e9) as u64),
            ..Default::default()
        }
    }

    #[test]
    fn fuses_pairs_then_degrades_to_lidar_only_when_the_camera_stops() {
        let now = Instant::now();
        for config in [
            cfg(PolicyKind::Latest, None),
            cfg(PolicyKind::Approximate, Some(0.05)),
        ] {
            let policy = config.sync.policy;
            let mut a = Assembler::new(config).expect("assembler");
            let mut both = 0;
            for k in 0..10 {
                let t = 100.0 + 0.1 * k as f64;
                let mut sets = a.camera(Role::CameraRaw, img(t - 0.01), at(t - 0.01), now);
                sets.extend(a.lidar(cloud(t), at(t), now));
                for s in sets {
                    assert!(
                        s.set.camera.is_some() && s.set.lidar.is_some(),
                        "{policy:?}: pair at {t}"
                    );
                    both += 1;
                }
            }
            assert!(both >= 8, "{policy:?}: {both} fused pairs");
            assert!(!a.camera_stale());
            // camera stops: after period × 3 the LiDAR is fused alone
            let mut lidar_only = 0;
            for k in 10..20 {
                for s in a.lidar(cloud(100.0 + 0.1 * k as f64), at(100.0 + 0.1 * k as f64), now) {
                    assert!(s.set.lidar.is_some(), "{policy:?}: LiDAR in every set");
                    if s.set.camera.is_none() {
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
                let mut sets = a.camera(Role::CameraRaw, img(t - 0.01), at(t - 0.01), now);
                sets.extend(a.lidar(cloud(t), at(t), now));
                for s in &sets {
                    assert!(
                        s.set.lidar.is_some(),
                        "{policy:?}: camera-only set after recovery"
                    );
                }
                recovered += sets.iter().filter(|s| s.set.camera.is_some()).count();
            }
            assert!(!a.camera_stale());
            assert!(recovered >= 4, "{policy:?}: {recovered}");
            let seqs_increase = a.seq >= (both + lidar_only + recovered) as u64;
            assert!(seqs_increase, "{policy:?}: every set numbered");
        }
    }

    #[test]
    fn the_first_sweep_after_a_lidar_pause_is_fused_even_when_its_camera_frame_went_alone() {
        let now = Instant::now();
        let mut a = Assembler::new(cfg(PolicyKind::Approximate, Some(0.05))).expect("assembler");
        let mut sets = Vec::new();
        for k in 0..10 {
            let t = 100.0 + 0.1 * k as f64;
            sets.extend(a.camera(Role::CameraRaw, img(t - 0.01), at(t - 0.01), now));
            sets.extend(a.lidar(cloud(t), at(t), now));
        }
        // the LiDAR pauses for 0.7 s: from 0.3 s on, camera frames go alone
        for k in 10..17 {
            let t = 100.0 + 0.1 * k as f64;
            sets.extend(a.camera(Role::CameraRaw, img(t - 0.01), at(t - 0.01), now));
        }
        // it resumes; its first sweep matches the camera frame that just went alone
        for k in 16..22 {
            let t = 100.0 + 0.1 * k as f64;
            if k > 16 {
                sets.extend(a.camera(Role::CameraRaw, img(t - 0.01), at(t - 0.01), now));
            }
            sets.extend(a.lidar(cloud(t), at(t), now));
        }
        let lidar: Vec<Stamp> = sets
            .iter()
            .filter_map(|s| s.set.lidar.as_ref().map(|l| l.stamp))
            .collect();
        assert!(lidar.contains(&cloud(101.6).stamp), "{lidar:?}");
        let alone = sets
            .iter()
            .find(|s| {
                s.set
                    .lidar
                    .as_ref()
                    .is_some_and(|l| l.stamp == cloud(101.6).stamp)
            })
            .expect("the sweep");
        assert!(alone.set.camera.is_none(), "its camera frame was fused before");
        let near = |a: Stamp, t: f64| (a.diff_nanos(at(t)) as f64).abs() < 1e6;
        assert!(
            sets.iter().any(
                |s| s.set.lidar.is_none() && s.set.camera.as_ref().is_some_and(|c| near(c.stamp, 101.59))
            ),
            "the camera frame went alone while the LiDAR was stale"
        );
        // the sweeps after it are pairs again
        assert!(sets
            .iter()
            .any(|s| s.set.camera.is_some() && s.set.lidar.as_ref().is_some_and(|l| near(l.stamp, 101.8))));
        assert_eq!(a.drops().get("sync_input_gone"), None, "{:?}", a.drops());
    }

    #[test]
    fn a_lidar_without_camera_goes_alone_from_the_second_sweep() {
        let t0 = Instant::now();
        let mut a = Assembler::new(cfg(PolicyKind::Approximate, Some(0.05))).expect("assembler");
        assert!(
            a.lidar(cloud(10.0), at(10.0), t0).is_empty(),
            "the first sweep waits for a camera"
        );
        let later = t0 + std::time::Duration::from_millis(100);
        let sets = a.lidar(cloud(10.1), at(10.1), later);
        let stamps: Vec<Stamp> = sets.iter().map(|s| s.stamp).collect();
        assert_eq!(stamps, vec![cloud(10.0).stamp, cloud(10.1).stamp]);
        assert!(sets.iter().all(|s| s.set.camera.is_none() && s.trigger == later));
        assert_eq!(sets[0].first, t0, "latency counts from the sweep's own arrival");
        assert_eq!(sets.iter().map(|s| s.set.seq).collect::<Vec<_>>(), vec![1, 2]);
    }

    #[test]
    fn the_preferred_camera_topic_wins_once_seen() {
        let now = Instant::now();
        let mut c = cfg(PolicyKind::Approximate, Some(0.05));
        c.prefer_compressed = true;
        let mut a = Assembler::new(c).expect("assembler");
        // raw alone is used while the compressed topic has not delivered
        a.camera(Role::CameraRaw, img(1.0), at(1.0), now);
        assert_eq!(a.camera_rate().seen, 1);
        a.camera(Role::CameraCompressed, img(1.1), at(1.1), now);
        a.camera(Role::CameraRaw, img(1.1), at(1.1), now);
        a.camera(Role::CameraCompressed, img(1.2), at(1.2), now);
        assert_eq!(a.camera_rate().seen, 3, "raw ignored once compressed is seen");
    }

    #[test]
    fn map_text_lives_on_the_receive_clock_not_against_header_stamps() {
        // a recording played live without simulated time: header stamps from 2023, receive times now
        let now = Instant::now();
        let mut c = cfg(PolicyKind::Approximate, Some(0.05));
        c.map_text_ttl = 1.0;
        let mut a = Assembler::new(c).expect("assembler");
        let recv0 = 1_800_000_000.0;
        a.map_text(
            sensorium_msgs::map_text::parse("school zone", Stamp::ZERO),
            at(recv0),
        );
        let mut with_text = Vec::new();
        for k in 0..30 {
            let (t, r) = (1_700_000_000.0 + 0.1 * k as f64, recv0 + 0.1 * k as f64);
            let mut sets = a.camera(Role::CameraRaw, img(t - 0.01), at(r - 0.01), now);
            sets.extend(a.lidar(cloud(t), at(r), now));
            with_text.extend(sets.iter().map(|s| (k, s.set.map_text.is_some())));
        }
        assert!(with_text.len() >= 25, "{with_text:?}");
        // received 0..1 s after the text: fused with it; later: not
        assert!(
            with_text.iter().all(|&(k, text)| text == (k <= 10)),
            "{with_text:?}"
        );
    }

    #[test]
    fn a_clock_jump_resets_and_is_counted_and_map_text_expires() {
        let now = Instant::now();
        let mut c = cfg(PolicyKind::Approximate, Some(0.05));
        c.map_text_ttl = 1.0;
        let mut a = Assembler::new(c).expect("assembler");
        a.map_text(
            sensorium_msgs::map_text::parse("speed_limit: 30", Stamp::ZERO),
            cloud(100.0).stamp,
        );
        let mut sets = Vec::new();
        for k in 0..5 {
            let t = 100.0 + 0.1 * k as f64;
            sets.extend(a.camera(Role::CameraRaw, img(t), at(t), now));
            sets.extend(a.lidar(cloud(t), at(t), now));
        }
        assert!(sets.iter().all(|s| s.set.map_text.is_some()));
        a.lidar(cloud(50.0), at(50.0), now);
        assert_eq!(a.drops().get("clock_jump_reset"), Some(&1));
        assert_eq!(a.lidar_rate().seen, 1, "rates start over");
        let mut later = Vec::new();
        for k in 0..5 {
            let t = 103.0 + 0.1 * k as f64;
            later.extend(a.camera(Role::CameraRaw, img(t), at(t), now));
            later.extend(a.lidar(cloud(t), at(t), now));
        }
        assert!(
            !later.is_empty() && later.iter().all(|s| s.set.map_text.is_none()),
            "text 3 s old, ttl 1 s"
        );
        // a sweep whose image never comes is still waiting when the recording ends
        assert!(a.lidar(cloud(103.5), at(103.5), now).is_empty());
        let end = a.finish();
        assert_eq!(end.get("sync_pending_at_end_lidar"), Some(&1), "{end:?}");
        assert_eq!(end.get("clock_jump_reset"), Some(&1), "{end:?}");
    }
}
