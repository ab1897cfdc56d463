//! Waiting for the ROS master before registering, as roscpp and rospy do: a node started before
//! `roscore` (a launch order, a boot sequence, a master restart under systemd) waits for it instead
//! of exiting.

use crate::node::EXIT_MASTER_RESTARTED;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tracing::{info, warn};

/// `host:port` of a master URI (`http://host:port/`, the scheme and path optional).
pub fn master_host_port(uri: &str) -> Option<String> {
    let rest = uri.split_once("://").map_or(uri, |(_, r)| r);
    let hp = rest.split('/').next()?.trim();
    if hp.is_empty() {
        return None;
    }
    // IPv6 literals keep their brackets: `[::1]:11311`
    Some(
        if hp
            .rsplit_once(':')
            .is_some_and(|(h, p)| !h.ends_with(':') && p.parse::<u16>().is_ok())
        {
            hp.to_string()
        } else {
            format!("{hp}:11311")
        },
    )
}

fn reachable(addr: &str) -> bool {
    let addrs: Vec<SocketAddr> = match addr.to_socket_addrs() {
        Ok(a) => a.collect(),
        Err(_) => return false,
    };
    addrs
        .iter()
        .any(|a| TcpStream::connect_timeout(a, Duration::from_millis(500)).is_ok())
}

/// Blocks until the master at `uri` accepts a connection or `stop` is set (SIGINT/SIGTERM while
/// waiting). Logs once that it waits and again every 30 s, like roscpp's "Failed to contact master
/// ... Retrying...". Returns false when stopped before the master came up.
pub fn wait_for_master(uri: &str, stop: &AtomicBool, poll: Duration) -> bool {
    let Some(addr) = master_host_port(uri) else {
        // not a URI we can parse: rosrust reports it when it tries to register
        return true;
    };
    let start = Instant::now();
    let mut last_log: Option<Instant> = None;
    loop {
        if reachable(&addr) {
            if last_log.is_some() {
                info!(
                    master = uri,
                    waited_s = start.elapsed().as_secs_f64(),
                    "the ROS master answers: registering"
                );
            }
            return true;
        }
        if stop.load(Ordering::SeqCst) {
            return false;
        }
        if last_log.is_none_or(|t| t.elapsed() >= Duration::from_secs(30)) {
            warn!(
                master = uri,
                "failed to contact the ROS master; retrying until it answers"
            );
            last_log = Some(Instant::now());
        }
        std::thread::sleep(poll);
    }
}

/// Watches the ROS master from its own thread (a call to an unreachable master may block for the
/// TCP timeout; the processing loop must not). Every `period` it asks the master for its system
/// state (uncached, unlike rosrust's parameters): when a master that answers no longer lists this
/// node as the publisher of `topic` (advertised before the watch starts) on two checks in a row, it
/// is a new master that never heard of the node — roscore was restarted. An unreachable master alone
/// is not a restart: publishers and subscribers already connected go on peer to peer, as in roscpp
/// and rospy.
pub(crate) fn watch_master(topic: String, period: Duration, stop: Arc<AtomicBool>) -> Arc<OnceLock<String>> {
    let restarted = Arc::new(OnceLock::new());
    let out = Arc::clone(&restarted);
    let spawned = std::thread::Builder::new()
        .name("master-watch".into())
        .spawn(move || {
            let node = rosrust::name();
            let mut missing = 0u32;
            let mut unreachable_since: Option<Instant> = None;
            while !stop.load(Ordering::SeqCst) && rosrust::is_ok() {
                match rosrust::state() {
                    Ok(state) => {
                        if let Some(t) = unreachable_since.take() {
                            info!(
                                after_s = t.elapsed().as_secs_f64(),
                                "the ROS master answers again"
                            );
                        }
                        let registered = state
                            .publishers
                            .iter()
                            .any(|t| t.name == topic && t.connections.contains(&node));
                        missing = if registered { 0 } else { missing + 1 };
                        if missing >= 2 {
                            let msg = format!(
                                "the ROS master no longer lists {node} as publisher of {topic}: it was \
                                 restarted, and rosrust cannot register again; exiting with status \
                                 {EXIT_MASTER_RESTARTED} so that roslaunch's respawn starts the node with \
                                 the new master"
                            );
                            warn!("{msg}");
                            let _ = restarted.set(msg);
                            return;
                        }
                    }
                    Err(e) => {
                        if unreachable_since.is_none() {
                            warn!("the ROS master does not answer ({e}); connected topics go on");
                            unreachable_since = Some(Instant::now());
                        }
                    }
                }
                std::thread::sleep(period);
            }
        });
    if let Err(e) = spawned {
        warn!("cannot start the master watch thread: {e}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn host_port_of_master_uris() {
        assert_eq!(
            master_host_port("http://localhost:11311/").as_deref(),
            Some("localhost:11311")
        );
        assert_eq!(
            master_host_port("http://10.0.0.2:11312").as_deref(),
            Some("10.0.0.2:11312")
        );
        assert_eq!(master_host_port("http://robot/").as_deref(), Some("robot:11311"));
        assert_eq!(
            master_host_port("http://[::1]:11311/").as_deref(),
            Some("[::1]:11311")
        );
        assert_eq!(master_host_port("http:///"), None);
    }

    #[test]
    fn waits_until_a_master_listens_and_gives_up_on_stop() {
        // a port that nothing listens on: stop ends the wait
        let free = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = free.local_addr().expect("addr").port();
        drop(free);
        let uri = format!("http://127.0.0.1:{port}/");
        let stop = AtomicBool::new(true);
        assert!(!wait_for_master(&uri, &stop, Duration::from_millis(10)));
        // a listener that appears while waiting ends the wait with true
        let stop = AtomicBool::new(false);
        let uri2 = uri.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            TcpListener::bind(("127.0.0.1", port)).expect("bind again")
        });
        let t0 = Instant::now();
        assert!(wait_for_master(&uri2, &stop, Duration::from_millis(20)));
        assert!(t0.elapsed() >= Duration::from_millis(250), "{:?}", t0.elapsed());
        drop(t.join().expect("listener thread"));
    }
}
