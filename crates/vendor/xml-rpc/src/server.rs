//! XML-RPC server on tiny_http (sensorium's replacement of rouille; see README.md): request bodies
//! capped at `XMLRPC_MAX_BODY` (413 beyond), at most `MAX_CONCURRENT` requests handled at once (503
//! beyond), and bound to `ROS_IP` instead of all interfaces when asked for `0.0.0.0` and `ROS_IP` is set.

use serde::{Deserialize, Serialize};
use std;
use std::collections::HashMap;
use std::io::Read;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use XMLRPC_MAX_BODY;

/// The two type names rosrust's signatures mention (`Fn(&rouille::Request) -> rouille::Response`).
pub mod rouille {
    /// An XML-RPC request: its body.
    pub struct Request {
        pub(crate) body: Vec<u8>,
    }

    /// An HTTP response: status and XML body.
    pub struct Response {
        pub(crate) status: u16,
        pub(crate) body: Vec<u8>,
    }

    impl Response {
        pub fn empty_400() -> Response {
            Response {
                status: 400,
                body: Vec::new(),
            }
        }

        pub fn from_data(_content_type: &str, body: impl Into<Vec<u8>>) -> Response {
            Response {
                status: 200,
                body: body.into(),
            }
        }
    }
}

/// Requests handled at once; more get 503.
pub const MAX_CONCURRENT: usize = 32;

use super::error::{ErrorKind, Result};
use super::xmlfmt::{error, from_params, into_params, parse, Call, Fault, Response, Value};

type Handler = Box<dyn Fn(Vec<Value>) -> Response + Send + Sync>;
type HandlerMap = HashMap<String, Handler>;

pub fn on_decode_fail(err: &error::Error) -> Response {
    Err(Fault::new(
        400,
        format!("Failed to decode request: {}", err),
    ))
}

pub fn on_encode_fail(err: &error::Error) -> Response {
    Err(Fault::new(
        500,
        format!("Failed to encode response: {}", err),
    ))
}

fn on_missing_method(_: Vec<Value>) -> Response {
    Err(Fault::new(404, "Requested method does not exist"))
}

pub struct Server {
    handlers: HandlerMap,
    on_missing_method: Handler,
}

impl Default for Server {
    fn default() -> Self {
        Server {
            handlers: HashMap::new(),
            on_missing_method: Box::new(on_missing_method),
        }
    }
}

impl Server {
    pub fn new() -> Server {
        Server::default()
    }

    pub fn register_value<K, T>(&mut self, name: K, handler: T)
    where
        K: Into<String>,
        T: Fn(Vec<Value>) -> Response + Send + Sync + 'static,
    {
        self.handlers.insert(name.into(), Box::new(handler));
    }

    pub fn register<'a, K, Treq, Tres, Thandler, Tef, Tdf>(
        &mut self,
        name: K,
        handler: Thandler,
        encode_fail: Tef,
        decode_fail: Tdf,
    ) where
        K: Into<String>,
        Treq: Deserialize<'a>,
        Tres: Serialize,
        Thandler: Fn(Treq) -> std::result::Result<Tres, Fault> + Send + Sync + 'static,
        Tef: Fn(&error::Error) -> Response + Send + Sync + 'static,
        Tdf: Fn(&error::Error) -> Response + Send + Sync + 'static,
    {
        self.register_value(name, move |req| {
            let params = match from_params(req) {
                Ok(v) => v,
                Err(err) => return decode_fail(&err),
            };
            let response = handler(params)?;
            into_params(&response).or_else(|v| encode_fail(&v))
        });
    }

    pub fn register_simple<'a, K, Treq, Tres, Thandler>(&mut self, name: K, handler: Thandler)
    where
        K: Into<String>,
        Treq: Deserialize<'a>,
        Tres: Serialize,
        Thandler: Fn(Treq) -> std::result::Result<Tres, Fault> + Send + Sync + 'static,
    {
        self.register(name, handler, on_encode_fail, on_decode_fail);
    }

    pub fn set_on_missing<T>(&mut self, handler: T)
    where
        T: Fn(Vec<Value>) -> Response + Send + Sync + 'static,
    {
        self.on_missing_method = Box::new(handler);
    }

    pub fn bind(
        self,
        uri: &SocketAddr,
    ) -> Result<BoundServer<impl Fn(&rouille::Request) -> rouille::Response + Send + Sync + 'static>>
    {
        let addr = bind_address(uri);
        let server = tiny_http::Server::http(addr)
            .map_err(|err| ErrorKind::BindFail(format!("{}: {}", addr, err)))?;
        Ok(BoundServer::new(server, move |req: &rouille::Request| {
            self.handle_outer(req)
        }))
    }

    fn handle_outer(&self, request: &rouille::Request) -> rouille::Response {
        use super::xmlfmt::value::ToXml;

        let call: Call = match parse::call(&request.body[..]) {
            Ok(data) => data,
            Err(_err) => return rouille::Response::empty_400(),
        };
        let res = self.handle(call);
        let body = res.to_xml();
        rouille::Response::from_data("text/xml", body)
    }

    fn handle(&self, req: Call) -> Response {
        self.handlers
            .get(&req.name)
            .unwrap_or(&self.on_missing_method)(req.params)
    }
}

/// `addr`, or `ROS_IP`:port when `addr` is unspecified (0.0.0.0 / ::) and ROS_IP is an IP address:
/// the node answers XML-RPC on the interface it was configured for, not on every interface.
fn bind_address(addr: &SocketAddr) -> SocketAddr {
    if addr.ip().is_unspecified() {
        if let Some(ip) = std::env::var("ROS_IP")
            .ok()
            .and_then(|v| v.trim().parse::<IpAddr>().ok())
        {
            return SocketAddr::new(ip, addr.port());
        }
    }
    *addr
}

pub struct BoundServer<F>
where
    F: Send + Sync + 'static + Fn(&rouille::Request) -> rouille::Response,
{
    server: tiny_http::Server,
    handler: Arc<F>,
    in_flight: Arc<AtomicUsize>,
}

impl<F> BoundServer<F>
where
    F: Send + Sync + 'static + Fn(&rouille::Request) -> rouille::Response,
{
    fn new(server: tiny_http::Server, handler: F) -> Self {
        Self {
            server,
            handler: Arc::new(handler),
            in_flight: Arc::new(AtomicUsize::new(0)),
        }
    }

    pub fn local_addr(&self) -> SocketAddr {
        match self.server.server_addr() {
            tiny_http::ListenAddr::IP(a) => a,
            #[allow(unreachable_patterns)]
            _ => SocketAddr::from(([0, 0, 0, 0], 0)),
        }
    }

    /// Serves until the process ends.
    pub fn run(self) {
        loop {
            match self.server.recv() {
                Ok(rq) => self.process(rq),
                Err(_) => std::thread::sleep(std::time::Duration::from_millis(5)),
            }
        }
    }

    /// Handles the requests that have arrived, each on its own thread, and returns.
    pub fn poll(&self) {
        while let Ok(Some(rq)) = self.server.try_recv() {
            self.process(rq);
        }
    }

    fn process(&self, rq: tiny_http::Request) {
        if self.in_flight.fetch_add(1, Ordering::SeqCst) >= MAX_CONCURRENT {
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            let _ = rq.respond(tiny_http::Response::empty(503));
            return;
        }
        let handler = Arc::clone(&self.handler);
        let in_flight = Arc::clone(&self.in_flight);
        let spawned = std::thread::Builder::new()
            .name("xmlrpc-request".into())
            .spawn(move || {
                serve(rq, &*handler);
                in_flight.fetch_sub(1, Ordering::SeqCst);
            });
        if spawned.is_err() {
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

fn serve<F>(mut rq: tiny_http::Request, handler: &F)
where
    F: Fn(&rouille::Request) -> rouille::Response,
{
    if rq.body_length().map_or(false, |n| n > XMLRPC_MAX_BODY) {
        let _ = rq.respond(tiny_http::Response::empty(413));
        return;
    }
    let mut body = Vec::new();
    let read = rq
        .as_reader()
        .take(XMLRPC_MAX_BODY as u64 + 1)
        .read_to_end(&mut body);
    if read.is_err() {
        let _ = rq.respond(tiny_http::Response::empty(400));
        return;
    }
    if body.len() > XMLRPC_MAX_BODY {
        let _ = rq.respond(tiny_http::Response::empty(413));
        return;
    }
    let out = handler(&rouille::Request { body });
    let mut response = tiny_http::Response::from_data(out.body).with_status_code(out.status);
    if let Ok(h) = tiny_http::Header::from_bytes(&b"Content-Type"[..], &b"text/xml"[..]) {
        response = response.with_header(h);
    }
    let _ = rq.respond(response);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serves_calls_and_caps_request_bodies() {
        let mut server = Server::new();
        server.register_value("echo", |params| Ok(params));
        let bound = server.bind(&"127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = bound.local_addr();
        std::thread::spawn(move || bound.run());
        let uri: ::Url = format!("http://{}/", addr).parse().unwrap();
        let got = ::client::call_value(&uri, "echo", vec![Value::Int(7), Value::String("x".into())])
            .unwrap()
            .unwrap();
        assert_eq!(got, vec![Value::Int(7), Value::String("x".into())]);
        let missing = ::client::call_value(&uri, "nope", vec![]).unwrap();
        assert!(missing.is_err());
        // a body over the cap is refused without being read into memory
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        write!(
            s,
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            XMLRPC_MAX_BODY + 1
        )
        .unwrap();
        let mut answer = String::new();
        let _ = s.read_to_string(&mut answer);
        assert!(answer.starts_with("HTTP/1.1 413"), "{}", answer);
    }

    #[test]
    fn binds_ros_ip_instead_of_every_interface() {
        let any: SocketAddr = "0.0.0.0:1234".parse().unwrap();
        let lo: SocketAddr = "127.0.0.1:1234".parse().unwrap();
        assert_eq!(bind_address(&lo), lo);
        std::env::set_var("ROS_IP", "127.0.0.1");
        assert_eq!(bind_address(&any), lo);
        std::env::remove_var("ROS_IP");
        assert_eq!(bind_address(&any), any);
    }
}
