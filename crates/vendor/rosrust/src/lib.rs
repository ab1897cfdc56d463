#![allow(warnings)] // vendored (sensorium patch: see README.md)
#![recursion_limit = "1024"]

pub use crate::api::raii::{Publisher, Service, Subscriber};
pub use crate::api::handlers::{SubscriptionHandler};
pub use crate::api::{error, Clock, Parameter};
pub use crate::raw_message::{RawMessage, RawMessageDescription};
#[doc(hidden)]
pub use crate::rosmsg::RosMsg;
pub use crate::singleton::*;
pub use crate::tcpros::{Client, ClientResponse, Message, ServicePair};
pub use dynamic_msg::DynamicMsg;
pub use ros_message::{Duration, MessageValue as MsgMessage, Time, Value as MsgValue};
#[doc(hidden)]
pub use rosrust_codegen::*;
pub mod wall_time;

pub mod api;
pub mod limits;
mod dynamic_msg;
mod log_macros;
#[doc(hidden)]
pub mod msg;
mod raw_message;
#[doc(hidden)]
pub mod rosmsg;
mod rosxmlrpc;
pub mod singleton;
mod tcpros;
mod util;
