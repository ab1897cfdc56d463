//! XML-RPC client: one HTTP/1.1 POST per connection on `std::net` (sensorium's replacement of the
//! hyper 0.10 client; see README.md). Bounded: connect timeout, read/write timeouts, header and body
//! size caps, chunked transfer decoded with checked arithmetic.

use super::error::{Result, ResultExt};
use super::xmlfmt::{from_params, into_params, parse, Call, Fault, Params, Response};
use serde::{Deserialize, Serialize};
use std;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;
use Url;
use XMLRPC_MAX_BODY;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const IO_TIMEOUT: Duration = Duration::from_secs(30);
const MAX_HEADER_BYTES: usize = 64 << 10;

pub fn call_value<Tkey>(uri: &Url, name: Tkey, params: Params) -> Result<Response>
where
    Tkey: Into<String>,
{
    Client::new()?.call_value(uri, name, params)
}

pub fn call<'a, Tkey, Treq, Tres>(
    uri: &Url,
    name: Tkey,
    req: Treq,
) -> Result<std::result::Result<Tres, Fault>>
where
    Tkey: Into<String>,
    Treq: Serialize,
    Tres: Deserialize<'a>,
{
    Client::new()?.call(uri, name, req)
}

pub struct Client {
    _private: (),
}

impl Client {
    pub fn new() -> Result<Client> {
        Ok(Client { _private: () })
    }

    pub fn call_value<Tkey>(&mut self, uri: &Url, name: Tkey, params: Params) -> Result<Response>
    where
        Tkey: Into<String>,
    {
        use super::xmlfmt::value::ToXml;
        let body = Call {
            name: name.into(),
            params,
        }
        .to_xml();
        let response = post(uri, body.as_bytes())?;
        parse::response(&response[..]).map_err(Into::into)
    }

    pub fn call<'a, Tkey, Treq, Tres>(
        &mut self,
        uri: &Url,
        name: Tkey,
        req: Treq,
    ) -> Result<std::result::Result<Tres, Fault>>
    where
        Tkey: Into<String>,
        Treq: Serialize,
        Tres: Deserialize<'a>,
    {
        match self.call_value(uri, name, into_params(&req)?) {
            Ok(Ok(v)) => from_params(v).map(Ok).map_err(Into::into),
            Ok(Err(v)) => Ok(Err(v)),
            Err(v) => Err(v),
        }
    }
}

/// POSTs `body` to `uri` and returns the response body of a 200 answer.
fn post(uri: &Url, body: &[u8]) -> Result<Vec<u8>> {
    if uri.scheme() != "http" {
        bail!("XML-RPC over {} is not supported: {}", uri.scheme(), uri);
    }
    let host = uri
        .host_str()
        .ok_or_else(|| format!("no host in {}", uri))?
        .to_string();
    let port = uri.port_or_known_default().unwrap_or(80);
    let path = match uri.query() {
        Some(q) => format!("{}?{}", uri.path(), q),
        None => uri.path().to_string(),
    };
    let path = if path.is_empty() { "/".to_string() } else { path };
    let addrs: Vec<_> = (host.trim_matches(|c| c == '[' || c == ']'), port)
        .to_socket_addrs()
        .chain_err(|| format!("resolving {}", uri))?
        .collect();
    let mut stream = None;
    let mut last_err = None;
    for a in &addrs {
        match TcpStream::connect_timeout(a, CONNECT_TIMEOUT) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last_err = Some(e),
        }
    }
    let mut stream = match stream {
        Some(s) => s,
        None => bail!(
            "connecting to {}: {}",
            uri,
            last_err.map_or_else(|| "no address".to_string(), |e| e.to_string())
        ),
    };
    stream
        .set_read_timeout(Some(IO_TIMEOUT))
        .and_then(|_| stream.set_write_timeout(Some(IO_TIMEOUT)))
        .chain_err(|| "setting socket timeouts")?;
    let _ = stream.set_nodelay(true);
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: {}:{}\r\nUser-Agent: sensorium-xmlrpc\r\nContent-Type: text/xml\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        path,
        host,
        port,
        body.len()
    );
    stream
        .write_all(head.as_bytes())
        .and_then(|_| stream.write_all(body))
        .and_then(|_| stream.flush())
        .chain_err(|| format!("sending the request to {}", uri))?;
    read_response(BufReader::new(stream)).chain_err(|| format!("reading the response of {}", uri))
}

/// Reads one HTTP/1.x response: status 200 required; the body by Content-Length, chunked, or to EOF.
pub fn read_response<R: BufRead>(mut r: R) -> Result<Vec<u8>> {
    let mut header_bytes = 0usize;
    let mut line = String::new();
    let mut read_line = |r: &mut R, line: &mut String| -> Result<()> {
        line.clear();
        let n = r
            .by_ref()
            .take((MAX_HEADER_BYTES - header_bytes.min(MAX_HEADER_BYTES)) as u64 + 1)
            .read_line(line)
            .chain_err(|| "reading the response head")?;
        header_bytes += n;
        if n == 0 {
            bail!("connection closed in the response head");
        }
        if header_bytes > MAX_HEADER_BYTES {
            bail!("response head over {} bytes", MAX_HEADER_BYTES);
        }
        Ok(())
    };
    read_line(&mut r, &mut line)?;
    let mut status = line.split_whitespace();
    let version = status.next().unwrap_or("");
    let code = status.next().unwrap_or("");
    if !version.starts_with("HTTP/1.") {
        bail!("not an HTTP/1.x response: {:?}", line.trim_end());
    }
    if code != "200" {
        bail!("HTTP status {}", line.trim_end());
    }
    let mut content_length: Option<usize> = None;
    let mut chunked = false;
    loop {
        read_line(&mut r, &mut line)?;
        let l = line.trim_end_matches(|c| c == '\r' || c == '\n');
        if l.is_empty() {
            break;
        }
        let mut kv = l.splitn(2, ':');
        let key = kv.next().unwrap_or("").trim().to_ascii_lowercase();
        let value = kv.next().unwrap_or("").trim();
        if key == "content-length" {
            let n: usize = value
                .parse()
                .map_err(|_| format!("bad Content-Length {:?}", value))?;
            if content_length.map_or(false, |c| c != n) {
                bail!("conflicting Content-Length headers");
            }
            content_length = Some(n);
        } else if key == "transfer-encoding" {
            let last = value.rsplit(',').next().unwrap_or("").trim().to_ascii_lowercase();
            if last != "chunked" {
                bail!("unsupported Transfer-Encoding {:?}", value);
            }
            chunked = true;
        }
    }
    let mut body = Vec::new();
    if chunked {
        // Transfer-Encoding wins over Content-Length (RFC 7230 3.3.3)
        loop {
            read_line(&mut r, &mut line)?;
            let size_text = line.trim_end().split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size_text, 16)
                .map_err(|_| format!("bad chunk size {:?}", size_text))?;
            if size == 0 {
                break; // trailers are not read: the connection closes
            }
            if body.len().checked_add(size).map_or(true, |t| t > XMLRPC_MAX_BODY) {
                bail!("response body over {} bytes", XMLRPC_MAX_BODY);
            }
            let start = body.len();
            body.resize(start + size, 0);
            r.read_exact(&mut body[start..])
                .chain_err(|| "reading a chunk")?;
            let mut crlf = [0u8; 2];
            r.read_exact(&mut crlf).chain_err(|| "reading a chunk end")?;
            if &crlf != b"\r\n" {
                bail!("chunk not followed by CRLF");
            }
        }
    } else if let Some(n) = content_length {
        if n > XMLRPC_MAX_BODY {
            bail!("response body of {} bytes over {}", n, XMLRPC_MAX_BODY);
        }
        body.resize(n, 0);
        r.read_exact(&mut body).chain_err(|| "reading the body")?;
    } else {
        r.take(XMLRPC_MAX_BODY as u64 + 1)
            .read_to_end(&mut body)
            .chain_err(|| "reading the body")?;
        if body.len() > XMLRPC_MAX_BODY {
            bail!("response body over {} bytes", XMLRPC_MAX_BODY);
        }
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::read_response;

    #[test]
    fn reads_content_length_chunked_and_eof_bodies() {
        let r = read_response(&b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello world"[..]).unwrap();
        assert_eq!(r, b"hello");
        let r = read_response(
            &b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;x=y\r\n world\r\n0\r\n\r\n"[..],
        )
        .unwrap();
        assert_eq!(r, b"hello world");
        let r = read_response(&b"HTTP/1.1 200 OK\r\n\r\nall of it"[..]).unwrap();
        assert_eq!(r, b"all of it");
    }

    #[test]
    fn rejects_what_hyper_0_10_mishandled_and_oversized_bodies() {
        // RUSTSEC-2021-0079: a chunk size that overflows
        let r = read_response(
            &b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nx\r\n0\r\n\r\n"[..],
        );
        assert!(r.is_err());
        let r = read_response(&b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n"[..]);
        assert!(r.is_err());
        let r = read_response(&b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"[..]);
        assert!(r.is_err());
        let r = read_response(&b"HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n"[..]);
        assert!(r.is_err());
        let r = read_response(&b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"[..]);
        assert!(r.is_err());
        let long = format!("HTTP/1.1 200 OK\r\nX: {}\r\n\r\n", "a".repeat(70_000));
        assert!(read_response(long.as_bytes()).is_err());
        assert!(read_response(&b""[..]).is_err());
    }
}
