#![recursion_limit = "1024"]
#![allow(warnings, unknown_lints, clippy::all)]

extern crate base64;
#[macro_use]
extern crate error_chain;
#[macro_use]
extern crate lazy_static;
extern crate regex;
#[macro_use]
extern crate serde;
#[cfg(test)]
extern crate serde_bytes;
extern crate serde_xml_rs;
extern crate tiny_http;
extern crate url;
extern crate xml;

pub mod client;
pub mod error;
pub mod server;
mod xmlfmt;

pub use client::{call, call_value, Client};
pub use server::{rouille, Server};
pub use url::Url;
pub use xmlfmt::{from_params, into_params, Call, Fault, Params, Response, Value};

/// Largest request (server) or response (client) body accepted, in bytes.
pub const XMLRPC_MAX_BODY: usize = 16 << 20;
