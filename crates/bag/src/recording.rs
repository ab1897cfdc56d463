//! A recording of either ROS version behind one reader: a ROS1 bag ([`BagReader`]), or an MCAP file or
//! rosbag2 folder ([`Ros2Bag`]), told apart by the file's magic (a folder is a rosbag2 bag).

use crate::error::{BagError, BagWarning};
use crate::reader::{BagMessage, BagReader, ReadOptions};
use crate::ros2::{Ros2Bag, MCAP_MAGIC, SQLITE_MAGIC};
use sensorium_core::Stamp;
use std::collections::BTreeMap;
use std::path::Path;

pub enum Recording {
    Ros1(BagReader),
    Ros2(Ros2Bag),
}

impl Recording {
    pub fn open(path: &Path) -> Result<Recording, BagError> {
        if path.is_dir() {
            return Ros2Bag::open(path).map(Recording::Ros2);
        }
        let mut head = [0u8; 16];
        let n = std::fs::File::open(path)
            .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
            .unwrap_or(0);
        if head.starts_with(MCAP_MAGIC) || (n == 16 && &head == SQLITE_MAGIC) {
            Ros2Bag::open(path).map(Recording::Ros2)
        } else {
            BagReader::open(path).map(Recording::Ros1)
        }
    }

    /// `ROS1 bag`, `ROS 2 bag folder` or `ROS 2 bag` (an MCAP or sqlite3 file).
    pub fn format(&self) -> &'static str {
        match self {
            Recording::Ros1(_) => "ROS1 bag",
            Recording::Ros2(r) if r.path().is_dir() => "ROS 2 bag folder",
            Recording::Ros2(_) => "ROS 2 bag",
        }
    }

    pub fn topic_counts(&self) -> BTreeMap<String, u64> {
        match self {
            Recording::Ros1(r) => r.topic_counts(),
            Recording::Ros2(r) => r.topic_counts(),
        }
    }

    /// Topic → datatype (ROS1 `pkg/Name`, ROS 2 `pkg/msg/Name`).
    pub fn topic_types(&self) -> BTreeMap<String, String> {
        match self {
            Recording::Ros1(r) => r
                .connections()
                .iter()
                .map(|c| (c.topic.clone(), c.datatype.clone()))
                .collect(),
            Recording::Ros2(r) => r.topic_types(),
        }
    }

    pub fn start_time(&self) -> Option<Stamp> {
        match self {
            Recording::Ros1(r) => r.start_time(),
            Recording::Ros2(r) => r.start_time(),
        }
    }

    pub fn end_time(&self) -> Option<Stamp> {
        match self {
            Recording::Ros1(r) => r.end_time(),
            Recording::Ros2(r) => r.end_time(),
        }
    }

    /// `start_s` seconds after the recording's start for `duration_s` seconds, as record-time bounds.
    pub fn window(&self, start_s: Option<f64>, duration_s: Option<f64>) -> (Option<Stamp>, Option<Stamp>) {
        crate::reader::window(self.start_time(), start_s, duration_s)
    }

    pub fn messages<'a>(
        &'a self,
        opts: &ReadOptions,
    ) -> Box<dyn Iterator<Item = Result<BagMessage, BagError>> + Send + 'a> {
        match self {
            Recording::Ros1(r) => Box::new(r.messages(opts)),
            Recording::Ros2(r) => r.messages(opts),
        }
    }

    pub fn warnings(&self) -> Vec<BagWarning> {
        match self {
            Recording::Ros1(r) => r.warnings(),
            Recording::Ros2(r) => r.warnings(),
        }
    }
}
