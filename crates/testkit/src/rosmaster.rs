//! A private ROS master for tests and benchmarks: Debian's `roscore` on a free port, with its own
//! `ROS_HOME`, and the environment that points ROS tools (rostopic, rosbag, rospy scripts, the node) at it.
//! Dropping it stops roscore (SIGINT, then SIGKILL), so a failed assertion leaves no ROS processes behind.

use std::io;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A child process interrupted (SIGINT, then SIGKILL after `grace`) when dropped.
pub struct Killed {
    pub child: Child,
    pub name: &'static str,
    pub grace: Duration,
}

impl Killed {
    pub fn new(child: Child, name: &'static str) -> Self {
        Self {
            child,
            name,
            grace: Duration::from_secs(5),
        }
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGINT (what Ctrl-C sends: ROS tools shut down cleanly on it).
    pub fn interrupt(&self) {
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
    }
}

impl Drop for Killed {
    fn drop(&mut self) {
        if !matches!(self.child.try_wait(), Ok(None)) {
            return;
        }
        self.interrupt();
        let t = Instant::now();
        while t.elapsed() < self.grace {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!("{}: killing after SIGINT timeout", self.name);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `roscore` on a free local port.
pub struct RosMaster {
    pub port: u16,
    home: PathBuf,
    core: Option<Killed>,
}

impl RosMaster {
    /// Is Debian's `roscore` installed?
    pub fn available() -> bool {
        Command::new("roscore").arg("--help").output().is_ok()
    }

    /// Starts roscore with `home` as ROS_HOME (logs under `home/log`) and waits until `rostopic list`
    /// answers, at most `timeout`.
    pub fn start(home: &Path, timeout: Duration) -> io::Result<Self> {
        std::fs::create_dir_all(home)?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let mut master = Self {
            port,
            home: home.to_path_buf(),
            core: None,
        };
        master.spawn_and_wait(timeout)?;
        Ok(master)
    }

    /// A master on a free port that is not started yet: its [`command`](Self::command) environment
    /// already points at the port, so a node can be started before the master (`start_now` later).
    pub fn reserve(home: &Path) -> io::Result<Self> {
        std::fs::create_dir_all(home)?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        Ok(Self {
            port,
            home: home.to_path_buf(),
            core: None,
        })
    }

    /// Starts roscore on the reserved port and waits until it answers, at most `timeout`.
    pub fn start_now(&mut self, timeout: Duration) -> io::Result<()> {
        self.spawn_and_wait(timeout)
    }

    /// `rosbag play -q BAG` against this master, to its end; panics (naming rosbag's error) when it fails.
    pub fn play(&self, bag: &Path) {
        let played = self
            .command("rosbag")
            .args(["play", "-q"])
            .arg(bag)
            .output()
            .expect("running rosbag play");
        assert!(
            played.status.success(),
            "rosbag play {}: {}",
            bag.display(),
            String::from_utf8_lossy(&played.stderr)
        );
    }

    /// Stops roscore (SIGINT, as Ctrl-C would) and starts a fresh one on the same port: a new master
    /// with a new `/run_id` and no registrations, what a vehicle sees when roscore is restarted.
    pub fn restart(&mut self, timeout: Duration) -> io::Result<()> {
        drop(self.core.take());
        self.spawn_and_wait(timeout)
    }

    fn spawn_and_wait(&mut self, timeout: Duration) -> io::Result<()> {
        let port = self.port;
        let mut core = Command::new("roscore");
        env(&mut core, port, &self.home);
        self.core = Some(Killed::new(
            core.args(["-p", &port.to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()?,
            "roscore",
        ));
        let t = Instant::now();
        loop {
            let up =
                self.command("rostopic").arg("list").output().is_ok_and(|o| {
                    o.status.success() && String::from_utf8_lossy(&o.stdout).contains("/rosout")
                });
            if up {
                return Ok(());
            }
            if let Some(Ok(Some(status))) = self.core.as_mut().map(|c| c.child.try_wait()) {
                return Err(io::Error::other(format!(
                    "roscore on port {port} exited ({status}) before answering"
                )));
            }
            if t.elapsed() > timeout {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("the ROS master on port {port} did not answer in {timeout:?}"),
                ));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    pub fn uri(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn home(&self) -> &Path {
        &self.home
    }

    /// `program` with the environment pointing at this master.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new(program);
        self.env(&mut c);
        c
    }

    /// Points `c` at this master (ROS_MASTER_URI, ROS_HOSTNAME, ROS_HOME, ROS_LOG_DIR).
    pub fn env<'a>(&self, c: &'a mut Command) -> &'a mut Command {
        env(c, self.port, &self.home)
    }

    /// `rostopic info TOPIC` (empty when it fails).
    pub fn topic_info(&self, topic: &str) -> String {
        self.command("rostopic")
            .args(["info", topic])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    }
}

fn env<'a>(c: &'a mut Command, port: u16, home: &Path) -> &'a mut Command {
    c.env("ROS_MASTER_URI", format!("http://127.0.0.1:{port}"))
        .env("ROS_HOSTNAME", "localhost")
        .env_remove("ROS_IP")
        .env("ROS_HOME", home)
        .env("ROS_LOG_DIR", home.join("log"))
}

/// Polls `f` every 200 ms until it holds; panics naming `what` after `timeout`.
pub fn wait_until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while t.elapsed() < timeout {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("timed out after {timeout:?} waiting for {what}");
}
