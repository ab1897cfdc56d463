//! ROS 1 transport (rosrust, no message codegen): raw subscriptions whose datatype comes with the
//! publisher's connection header, raw publications with each message's md5sum and definition, the
//! node's private parameters, and a watch on the ROS master.

use crate::input::{subscribe, Accept};
use crate::master::watch_master;
use crate::node::{serve, stop_flag, NodeReport, Output, Transport};
use crate::settings::NodeSettings;
use anyhow::{anyhow, Result};
use rosrust::{RawMessage, RawMessageDescription};
use sensorium_core::Stamp;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tracing::info;

pub(crate) fn ros_now() -> Stamp {
    let t = rosrust::now();
    Stamp::new(t.sec, t.nsec)
}

/// Runs the node `name` on ROS 1 until SIGINT/SIGTERM or a ROS shutdown. Waits for the ROS master first
/// (as roscpp does; a signal while waiting ends the run with an empty report). Initialises rosrust
/// without its signal handler (`try_init_with_options(name, false)`): on a signal the frame set in
/// flight is finished, queued inputs are dropped (counted as `shutdown_pending`) and the node
/// unregisters.
pub fn run_node(mut settings: NodeSettings, name: &str) -> Result<NodeReport> {
    let stop = stop_flag()?;
    let master = rosrust::api::resolve::master();
    if !crate::master::wait_for_master(&master, &stop, Duration::from_millis(500)) {
        info!(master, "stopped while waiting for the ROS master");
        return Ok(NodeReport::default());
    }
    rosrust::try_init_with_options(name, false).map_err(|e| anyhow!("rosrust init as {name}: {e}"))?;
    let applied = settings.apply_private_params();
    if !applied.is_empty() {
        info!(?applied, "private parameters applied");
    }
    // the transport refuses a message over the cap before reserving memory for it (vendored rosrust)
    rosrust::limits::set_max_message_bytes(settings.max_message_bytes);
    let node_name = rosrust::name();
    let watch_stop = Arc::new(AtomicBool::new(false));
    let mut transport = Ros1 {
        publishers: BTreeMap::new(),
        subscribers: Vec::new(),
        master_restarted: None,
        master_check_period: settings.master_check_period,
        watch_stop: Arc::clone(&watch_stop),
        node_name,
    };
    let result = serve(&settings, &mut transport, &stop);
    watch_stop.store(true, Ordering::SeqCst); // not joined: it may sit in a call to a dead master
    drop(transport);
    rosrust::shutdown();
    result
}

struct Ros1 {
    node_name: String,
    publishers: BTreeMap<&'static str, rosrust::Publisher<RawMessage>>,
    subscribers: Vec<rosrust::Subscriber>,
    /// Set by the master watch (started once `~scene` is advertised, the topic it looks for).
    master_restarted: Option<Arc<OnceLock<String>>>,
    master_check_period: Duration,
    watch_stop: Arc<AtomicBool>,
}

impl Transport for Ros1 {
    fn node_name(&self) -> String {
        self.node_name.clone()
    }

    fn now(&self) -> Stamp {
        ros_now()
    }

    fn ok(&self) -> bool {
        rosrust::is_ok()
    }

    fn advertise(&mut self, outputs: &[Output]) -> Result<()> {
        for &o in outputs {
            let (msg_type, definition, md5sum) = o.message();
            let description = RawMessageDescription {
                msg_definition: definition.to_string(),
                md5sum: md5sum.to_string(),
                msg_type: msg_type.to_string(),
            };
            let p = rosrust::publish_with_description::<RawMessage>(o.topic(), o.depth(), description)
                .map_err(|e| anyhow!("advertising {}: {e}", o.topic()))?;
            self.publishers.insert(o.topic(), p);
        }
        if self.master_restarted.is_none() {
            self.master_restarted = Some(watch_master(
                format!("{}/scene", self.node_name.trim_end_matches('/')),
                self.master_check_period,
                Arc::clone(&self.watch_stop),
            ));
        }
        Ok(())
    }

    fn subscribe(&mut self, inputs: Vec<Accept>) -> Result<()> {
        for a in inputs {
            self.subscribers.push(subscribe(a)?);
        }
        Ok(())
    }

    fn unsubscribe(&mut self) {
        self.subscribers.clear();
    }

    fn has_subscribers(&self, output: Output) -> bool {
        self.publishers
            .get(output.topic())
            .is_some_and(|p| p.subscriber_count() > 0)
    }

    fn publish(&self, output: Output, ros1: Vec<u8>) -> Result<()> {
        let p = self
            .publishers
            .get(output.topic())
            .ok_or_else(|| anyhow!("{} is not advertised", output.topic()))?;
        p.send(RawMessage(ros1)).map_err(|e| anyhow!("{e}"))
    }

    fn restarted(&self) -> Option<String> {
        self.master_restarted.as_ref().and_then(|r| r.get().cloned())
    }

    fn oversized(&self) -> u64 {
        rosrust::limits::oversized_messages()
    }

    fn linger(&self) {
        if self.has_subscribers(Output::Diagnostics) {
            // the publisher's connection threads send it; the process must not end first
            std::thread::sleep(Duration::from_millis(300));
        }
    }
}
