//! ROS 2 transport: `ros2-client` on RustDDS, pure Rust (nothing to source, no ROS 2 installed).
//!
//! The node registers in the ROS 2 graph through ros2-client (`ros2 node list`, `/rosout`, the
//! parameter services that `ros2 param` uses). Its data topics are DDS readers and writers of raw CDR
//! ([`RawCdr`]): inputs are decoded by the shared [`sensorium_pipeline::streams::decode`] (CDR by the
//! `pkg/msg/Type` name), outputs are the ROS 1 bodies the node builds, converted to CDR by
//! [`sensorium_msgs::ros2::Ros2Type`] (the same code that writes MCAP). ROS 2 naming: topic `/a/b` is
//! DDS topic `rt/a/b`, type `pkg/msg/T` is DDS type `pkg::msg::dds_::T_`; `~x` is `<node>/x`.
//!
//! QoS: sensor inputs best effort, keep last `sensor_depth` (a best-effort reader matches reliable and
//! best-effort writers alike); `/tf_static` reliable and transient local (what tf2's static broadcaster
//! offers); outputs reliable, keep last (what `rclpy`'s default subscription asks for). Each is a
//! setting ([`Ros2Settings`]).

use crate::input::Accept;
use crate::node::{serve, stop_flag, NodeReport, Output, Transport};
use crate::settings::NodeSettings;
use anyhow::{anyhow, Context as _, Result};
use ros2_client::{Context, NodeName, NodeOptions, ParameterValue};
use rustdds::mio1::{Events, Interest, Poll, Token};
use rustdds::no_key::{DataWriter, SimpleDataReader};
use rustdds::policy::{Durability, History, Reliability};
use rustdds::{DomainParticipantBuilder, QosPolicies, QosPolicyBuilder, TopicKind};
use sensorium_core::Stamp;
use sensorium_msgs::ros2::{ros2_name, Ros2Type};
use sensorium_pipeline::streams::Role;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tracing::{info, warn};

mod raw;
pub use raw::{RawAdapter, RawCdr};

/// A node parameter's value, as `ros2 param` shows it.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    Bool(bool),
    Int(i64),
    Double(f64),
    Str(String),
    StrArray(Vec<String>),
}

impl From<Param> for ParameterValue {
    fn from(p: Param) -> ParameterValue {
        match p {
            Param::Bool(b) => ParameterValue::Boolean(b),
            Param::Int(i) => ParameterValue::Integer(i),
            Param::Double(d) => ParameterValue::Double(d),
            Param::Str(s) => ParameterValue::String(s),
            Param::StrArray(v) => ParameterValue::StringArray(v),
        }
    }
}

/// The ROS 2 side of the node's settings (configuration section `[ros]`).
#[derive(Debug, Clone)]
pub struct Ros2Settings {
    /// DDS domain (`ROS_DOMAIN_ID` unless configured).
    pub domain_id: u16,
    /// Sensor inputs (images, camera info, clouds, map text): reliable instead of best effort.
    pub sensor_reliable: bool,
    /// Sensor inputs: history depth.
    pub sensor_depth: i32,
    /// `/tf_static`: transient local (late joiners get the transforms) instead of volatile.
    pub tf_static_transient_local: bool,
    /// Outputs: reliable instead of best effort.
    pub output_reliable: bool,
    /// `SO_RCVBUF` / `SO_SNDBUF` requested for the DDS sockets (the kernel caps them at
    /// `net.core.rmem_max` / `wmem_max`).
    pub socket_receive_buffer_bytes: usize,
    pub socket_send_buffer_bytes: usize,
    /// Declared as the node's ROS 2 parameters (read-only: the configuration is read at start).
    pub parameters: Vec<(String, Param)>,
}

impl Default for Ros2Settings {
    fn default() -> Self {
        Ros2Settings {
            domain_id: domain_from_env(),
            sensor_reliable: false,
            sensor_depth: 5,
            tf_static_transient_local: true,
            output_reliable: true,
            socket_receive_buffer_bytes: 8 << 20,
            socket_send_buffer_bytes: 8 << 20,
            parameters: Vec::new(),
        }
    }
}

/// `ROS_DOMAIN_ID`, 0 when unset or not a number of 0..=232.
pub fn domain_from_env() -> u16 {
    std::env::var("ROS_DOMAIN_ID")
        .ok()
        .and_then(|v| v.trim().parse::<u16>().ok())
        .filter(|d| *d <= 232)
        .unwrap_or(0)
}

/// ROS 2 type of an input role.
pub fn input_type(role: Role) -> Option<&'static str> {
    Some(match role {
        Role::CameraRaw => "sensor_msgs/msg/Image",
        Role::CameraCompressed => "sensor_msgs/msg/CompressedImage",
        Role::CameraInfo => "sensor_msgs/msg/CameraInfo",
        Role::Lidar => "sensor_msgs/msg/PointCloud2",
        Role::MapText => "std_msgs/msg/String",
        Role::TfStatic => "tf2_msgs/msg/TFMessage",
        _ => return None,
    })
}

/// DDS type name of a ROS 2 type: `pkg/msg/T` → `pkg::msg::dds_::T_`.
pub fn dds_type(ros2: &str) -> String {
    let mut parts: Vec<&str> = ros2.split('/').collect();
    let last = parts.pop().unwrap_or_default();
    format!("{}::dds_::{last}_", parts.join("::"))
}

/// DDS topic name of a ROS 2 topic: absolute `/a/b` → `rt/a/b`; relative `a` → `rt<ns>/a`;
/// private `~x` → `rt<node>/x`.
pub fn dds_topic(topic: &str, namespace: &str, node: &str) -> String {
    let ns = namespace.trim_end_matches('/');
    let full = if let Some(rest) = topic.strip_prefix('~') {
        format!("{ns}/{node}/{}", rest.trim_start_matches('/'))
    } else if topic.starts_with('/') {
        topic.to_string()
    } else {
        format!("{ns}/{topic}")
    };
    format!("rt{full}")
}

/// `[/ns/]name` → (namespace, base name).
fn split_name(name: &str) -> (String, String) {
    let name = name.trim_end_matches('/');
    match name.rsplit_once('/') {
        Some((ns, base)) if !ns.is_empty() => (ns.to_string(), base.to_string()),
        Some((_, base)) => ("/".to_string(), base.to_string()),
        None => ("/".to_string(), name.to_string()),
    }
}

fn qos(reliable: bool, transient_local: bool, depth: i32) -> QosPolicies {
    QosPolicyBuilder::new()
        .reliability(if reliable {
            Reliability::Reliable {
                max_blocking_time: rustdds::Duration::from_millis(100),
            }
        } else {
            Reliability::BestEffort
        })
        .durability(if transient_local {
            Durability::TransientLocal
        } else {
            Durability::Volatile
        })
        .history(History::KeepLast { depth })
        .build()
}

fn system_now() -> Stamp {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    Stamp::new(d.as_secs() as u32, d.subsec_nanos())
}

/// Runs the node `name` (`[/namespace/]base`) on ROS 2 until SIGINT/SIGTERM. The same processing as on
/// ROS 1 ([`serve`]); on a signal the frame set in flight is finished and the node leaves the graph.
pub fn run_node_ros2(settings: NodeSettings, name: &str) -> Result<NodeReport> {
    let stop = stop_flag()?;
    let r = &settings.ros2;
    let (namespace, base) = split_name(name);
    let participant = DomainParticipantBuilder::new(r.domain_id)
        .socket_receive_buffer_size(r.socket_receive_buffer_bytes)
        .socket_send_buffer_size(r.socket_send_buffer_bytes)
        .build()
        .map_err(|e| anyhow!("DDS participant on domain {}: {e:?}", r.domain_id))?;
    let context =
        Context::from_domain_participant(participant.clone()).map_err(|e| anyhow!("ROS 2 context: {e:?}"))?;
    let node_name = NodeName::new(&namespace, &base).map_err(|e| anyhow!("node name {name:?}: {e:?}"))?;
    // the parameters are declared with the configuration's values; later changes are refused
    let declared = Arc::new(AtomicBool::new(false));
    let frozen = Arc::clone(&declared);
    let mut options = NodeOptions::new()
        .enable_rosout(true)
        .start_parameter_services(true)
        .parameter_validator(Box::new(move |name, _value| {
            if !frozen.load(Ordering::SeqCst) {
                return Ok(());
            }
            Err(format!(
                "{name} is read when the node starts: set it in the configuration (--config, \
                 SENSORIUM__SECTION__KEY, --ros-args -p {name}:=VALUE) and restart the node"
            ))
        }));
    for (k, v) in &r.parameters {
        options = options.declare_parameter(k, v.clone().into());
    }
    let mut node = context
        .new_node(node_name, options)
        .map_err(|e| anyhow!("ROS 2 node {name}: {e:?}"))?;
    declared.store(true, Ordering::SeqCst);
    let spinner = node.spinner().map_err(|e| anyhow!("ROS 2 node spinner: {e:?}"))?;
    let spin = std::thread::Builder::new()
        .name("ros2-spin".into())
        .spawn(move || {
            if let Err(e) = futures::executor::block_on(spinner.spin()) {
                warn!("ROS 2 spinner: {e:?}");
            }
        })
        .context("starting the ROS 2 spinner")?;
    info!(
        node = node.fully_qualified_name(),
        domain = r.domain_id,
        "ROS 2 node up"
    );
    let publisher = participant
        .create_publisher(&QosPolicies::qos_none())
        .map_err(|e| anyhow!("DDS publisher: {e:?}"))?;
    let subscriber = participant
        .create_subscriber(&QosPolicies::qos_none())
        .map_err(|e| anyhow!("DDS subscriber: {e:?}"))?;
    let mut transport = Ros2 {
        settings: r.clone(),
        max_message_bytes: settings.max_message_bytes,
        namespace,
        base,
        fq_name: node.fully_qualified_name(),
        participant,
        publisher,
        subscriber,
        writers: BTreeMap::new(),
        reader_thread: None,
        reader_stop: Arc::new(AtomicBool::new(false)),
        oversized: Arc::new(AtomicU64::new(0)),
        listeners: Mutex::new(BTreeMap::new()),
    };
    let result = serve(&settings, &mut transport, &stop);
    transport.unsubscribe();
    drop(transport);
    drop(node); // signals the spinner to stop
    let _ = spin.join();
    result
}

struct Writer {
    writer: DataWriter<RawCdr, RawAdapter>,
    ros2: Ros2Type,
}

struct Ros2 {
    settings: Ros2Settings,
    max_message_bytes: usize,
    namespace: String,
    base: String,
    fq_name: String,
    participant: rustdds::DomainParticipant,
    publisher: rustdds::Publisher,
    subscriber: rustdds::Subscriber,
    writers: BTreeMap<&'static str, Writer>,
    reader_thread: Option<JoinHandle<()>>,
    reader_stop: Arc<AtomicBool>,
    oversized: Arc<AtomicU64>,
    /// Per output: when its subscribers were last looked up, and whether there were any.
    listeners: Mutex<BTreeMap<&'static str, (Instant, bool)>>,
}

impl Ros2 {
    fn topic(&self, name: &str, ros2_type: &str, qos: &QosPolicies) -> Result<rustdds::Topic> {
        let dds_name = dds_topic(name, &self.namespace, &self.base);
        self.participant
            .create_topic(dds_name.clone(), dds_type(ros2_type), qos, TopicKind::NoKey)
            .map_err(|e| anyhow!("DDS topic {dds_name} ({ros2_type}): {e:?}"))
    }
}

impl Transport for Ros2 {
    fn node_name(&self) -> String {
        self.fq_name.clone()
    }

    fn now(&self) -> Stamp {
        system_now()
    }

    fn ok(&self) -> bool {
        true
    }

    fn advertise(&mut self, outputs: &[Output]) -> Result<()> {
        for &o in outputs {
            let (ros1_type, definition, _) = o.message();
            let ros2 = Ros2Type::parse(ros1_type, definition)
                .map_err(|e| anyhow!("{ros1_type} in ROS 2 form: {e}"))?;
            let q = qos(self.settings.output_reliable, false, o.depth() as i32);
            let topic = self.topic(o.topic(), &ros2_name(ros1_type), &q)?;
            let writer = self
                .publisher
                .create_datawriter_no_key::<RawCdr, RawAdapter>(&topic, Some(q))
                .map_err(|e| anyhow!("advertising {}: {e:?}", o.topic()))?;
            self.writers.insert(o.topic(), Writer { writer, ros2 });
        }
        Ok(())
    }

    fn subscribe(&mut self, inputs: Vec<Accept>) -> Result<()> {
        let mut readers = Vec::new();
        for a in inputs {
            let Some(ros2_type) = input_type(a.role()) else {
                continue;
            };
            let q = if a.role() == Role::TfStatic {
                qos(true, self.settings.tf_static_transient_local, 100)
            } else {
                qos(self.settings.sensor_reliable, false, self.settings.sensor_depth)
            };
            let topic = self.topic(a.topic(), ros2_type, &q)?;
            let reader = self
                .subscriber
                .create_simple_datareader_no_key::<RawCdr, RawAdapter>(&topic, Some(q))
                .map_err(|e| anyhow!("subscribing to {}: {e:?}", a.topic()))?;
            readers.push((reader, a, ros2_type));
        }
        let stop = Arc::clone(&self.reader_stop);
        let oversized = Arc::clone(&self.oversized);
        let max = self.max_message_bytes;
        self.reader_thread = Some(
            std::thread::Builder::new()
                .name("ros2-inputs".into())
                .spawn(move || read_inputs(readers, &stop, &oversized, max))
                .context("starting the ROS 2 input thread")?,
        );
        Ok(())
    }

    fn unsubscribe(&mut self) {
        self.reader_stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.reader_thread.take() {
            let _ = t.join();
        }
    }

    /// From DDS discovery (remote readers of the topic), read at most twice a second.
    fn has_subscribers(&self, output: Output) -> bool {
        let Ok(mut cache) = self.listeners.lock() else {
            return true;
        };
        if let Some((at, any)) = cache.get(output.topic()) {
            if at.elapsed() < Duration::from_millis(500) {
                return *any;
            }
        }
        let name = dds_topic(output.topic(), &self.namespace, &self.base);
        let any = self
            .participant
            .discovered_readers()
            .iter()
            .any(|r| r.subscription_topic_data.topic_name() == &name);
        cache.insert(output.topic(), (Instant::now(), any));
        any
    }

    fn publish(&self, output: Output, ros1: Vec<u8>) -> Result<()> {
        let w = self
            .writers
            .get(output.topic())
            .ok_or_else(|| anyhow!("{} is not advertised", output.topic()))?;
        let cdr = w.ros2.to_cdr(&ros1).map_err(|e| anyhow!("to CDR: {e}"))?;
        w.writer
            .write(RawCdr::new(cdr), None)
            .map_err(|e| anyhow!("{e:?}"))
    }

    fn oversized(&self) -> u64 {
        self.oversized.load(Ordering::Relaxed)
    }

    fn linger(&self) {
        if let Some(w) = self.writers.get(Output::Diagnostics.topic()) {
            if self.has_subscribers(Output::Diagnostics) {
                let _ = w.writer.wait_for_acknowledgments(Duration::from_millis(300));
            }
        }
    }

    fn shutdown_reason(&self) -> &'static str {
        "ROS 2 shutdown"
    }
}

type Reader = SimpleDataReader<RawCdr, RawAdapter>;

/// The input thread: waits on every reader, takes what arrived and offers it to the node.
fn read_inputs(
    mut readers: Vec<(Reader, Accept, &'static str)>,
    stop: &AtomicBool,
    oversized: &AtomicU64,
    max_bytes: usize,
) {
    let mut poll = match Poll::new() {
        Ok(p) => p,
        Err(e) => {
            warn!("ROS 2 inputs: cannot poll: {e}");
            return;
        }
    };
    for (i, (r, a, _)) in readers.iter_mut().enumerate() {
        if let Err(e) = poll.registry().register(r, Token(i), Interest::READABLE) {
            warn!(topic = a.topic(), "ROS 2 inputs: cannot wait on the reader: {e}");
        }
    }
    let mut events = Events::with_capacity(16);
    let take_all = |readers: &[(Reader, Accept, &'static str)], i: usize| {
        let (r, a, ty) = &readers[i];
        r.drain_read_notifications();
        loop {
            match r.try_take_one() {
                Ok(Some(sample)) => {
                    let msg = sample.into_value();
                    if msg.len() > max_bytes {
                        oversized.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    a.offer(ty, msg.as_bytes(), system_now);
                }
                Ok(None) => break,
                Err(e) => {
                    warn!(topic = a.topic(), "ROS 2 read: {e:?}");
                    a.count("read_error");
                    break;
                }
            }
        }
    };
    while !stop.load(Ordering::SeqCst) {
        if let Err(e) = poll.poll(&mut events, Some(Duration::from_millis(100))) {
            if e.kind() != std::io::ErrorKind::Interrupted {
                warn!("ROS 2 inputs: poll: {e}");
            }
            continue;
        }
        if events.is_empty() {
            // edge-triggered wake-ups can be coalesced: look at every reader now and then
            for i in 0..readers.len() {
                take_all(&readers, i);
            }
            continue;
        }
        for ev in events.iter() {
            if ev.token().0 < readers.len() {
                take_all(&readers, ev.token().0);
            }
        }
    }
}
