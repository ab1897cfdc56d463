//! sensorium-testkit: what the tests and `sensorium bench` share and the runtime never uses.
//!
//! - [`rosmaster`]: a private Debian `roscore` on a free port, and child processes stopped when dropped.
//! - [`listener`]: the rospy listener that records what the node publishes.
//! - [`rosnode`]: `sensorium node` under test (started, stopped, its report read) and the ROS Python peer.
//! - [`testdata`]: where the repository, the real data (`../shared/data`, `SENSORIUM_DATA`) and the peer
//!   tools (Debian's ROS Python, the test venv) are; whether a missing peer fails or skips a test.

pub mod listener;
pub mod rosmaster;
pub mod rosnode;
pub mod testdata;
