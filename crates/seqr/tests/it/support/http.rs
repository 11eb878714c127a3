//! A tiny blocking HTTP/1.1 client over `std::net::TcpStream`: one request per connection
//! (`Connection: close`), enough to talk to the `seqr` binary the way log shippers do.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::Duration;

use serde_json::Value;

/// Bodies larger than this are written from a second thread while the response is read, so a
/// server that answers early (413) and stops reading can't deadlock the test.
const CONCURRENT_WRITE_THRESHOLD: usize = 256 * 1024;

#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; panics (with the body) if it isn't.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "response (status {}) is not JSON ({e}): {:?}",
                self.status,
                self.text()
            )
        })
    }

    /// The `Error` member of a `{"Error":"..."}` body; panics if there is none.
    pub fn error_message(&self) -> String {
        match self.json().get("Error") {
            Some(Value::String(s)) => s.clone(),
            _ => panic!(
                "expected a {{\"Error\":\"...\"}} body with status {}, got {:?}",
                self.status,
                self.text()
            ),
        }
    }
}

/// A request to send; `headers` are sent verbatim (Host, Content-Length and Connection are
/// always computed here).
#[derive(Debug, Clone, Default)]
pub struct Request<'a> {
    pub method: &'a str,
    pub target: &'a str,
    pub headers: Vec<(String, String)>,
    pub body: &'a [u8],
}

impl<'a> Request<'a> {
    pub fn new(method: &'a str, target: &'a str) -> Self {
        Request {
            method,
            target,
            headers: Vec::new(),
            body: &[],
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn body(mut self, body: &'a [u8]) -> Self {
        self.body = body;
        self
    }

    pub fn send(&self, port: u16) -> io::Result<Response> {
        send(port, self, Duration::from_secs(60))
    }

    pub fn send_with_timeout(&self, port: u16, timeout: Duration) -> io::Result<Response> {
        send(port, self, timeout)
    }
}

pub fn get(port: u16, target: &str) -> io::Result<Response> {
    Request::new("GET", target).send(port)
}

pub fn post(
    port: u16,
    target: &str,
    content_type: Option<&str>,
    body: &[u8],
) -> io::Result<Response> {
    let mut req = Request::new("POST", target).body(body);
    if let Some(ct) = content_type {
        req = req.header("Content-Type", ct);
    }
    req.send(port)
}

fn send(port: u16, req: &Request<'_>, timeout: Duration) -> io::Result<Response> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    stream.set_nodelay(true)?;

    let mut head = format!(
        "{} {} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n",
        req.method, req.target
    );
    for (name, value) in &req.headers {
        let lower = name.to_ascii_lowercase();
        if matches!(
            lower.as_str(),
            "host" | "content-length" | "connection" | "transfer-encoding"
        ) {
            continue;
        }
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !req.body.is_empty() || req.method != "GET" {
        head.push_str(&format!("Content-Length: {}\r\n", req.body.len()));
    }
    head.push_str("Connection: close\r\n\r\n");

    if req.body.len() <= CONCURRENT_WRITE_THRESHOLD {
        let mut w = &stream;
        let mut all = head.into_bytes();
        all.extend_from_slice(req.body);
        w.write_all(&all)?;
        w.flush()?;
        return read_response(&stream);
    }

    // Large body: write it from another thread and read the response concurrently. Write
    // errors are ignored (the server may answer 413 and close without reading it all); what
    // counts is the response.
    std::thread::scope(|scope| {
        let writer = scope.spawn(|| {
            let mut w = &stream;
            w.write_all(head.as_bytes())?;
            w.write_all(req.body)?;
            w.flush()
        });
        let response = read_response(&stream);
        // Unblock the writer if it is still stuck on a full send buffer.
        let _ = stream.shutdown(Shutdown::Both);
        // Write errors don't matter (the server may answer 413 and close early); the response does.
        let _ = writer.join().expect("writer thread panicked");
        response
    })
}

fn read_response(stream: &TcpStream) -> io::Result<Response> {
    let mut r = stream;
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 16 * 1024];
    let header_end = loop {
        if let Some(pos) = find(&buf, b"\r\n\r\n") {
            break pos;
        }
        let n = r.read(&mut chunk)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "connection closed before the response head ({} bytes read)",
                    buf.len()
                ),
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).into_owned();
    let mut rest = buf[header_end + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("bad status line {status_line:?}"),
            )
        })?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let find_header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };

    let chunked = find_header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    let body = if chunked {
        // Read to EOF (we asked for Connection: close), then decode.
        r.read_to_end(&mut rest)?;
        decode_chunked(&rest)?
    } else if let Some(len) = find_header("content-length") {
        let len: usize = len
            .parse()
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad content-length"))?;
        while rest.len() < len {
            let n = r.read(&mut chunk)?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed inside the response body",
                ));
            }
            rest.extend_from_slice(&chunk[..n]);
        }
        rest.truncate(len);
        rest
    } else if status == 204 || status == 304 || (100..200).contains(&status) {
        Vec::new()
    } else {
        r.read_to_end(&mut rest)?;
        rest
    };

    let body = match find_header("content-encoding") {
        Some(enc) if enc.eq_ignore_ascii_case("gzip") => {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(&body[..]).read_to_end(&mut out)?;
            out
        }
        _ => body,
    };
    Ok(Response {
        status,
        headers,
        body,
    })
}

fn decode_chunked(mut data: &[u8]) -> io::Result<Vec<u8>> {
    let bad = |m: &str| io::Error::new(io::ErrorKind::InvalidData, m.to_string());
    let mut out = Vec::new();
    loop {
        let line_end = find(data, b"\r\n").ok_or_else(|| bad("truncated chunk size"))?;
        let size_text = String::from_utf8_lossy(&data[..line_end]);
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| bad("bad chunk size"))?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        if data.len() < size + 2 {
            return Err(bad("truncated chunk"));
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Gzip `data` (for `Content-Encoding: gzip` request bodies).
pub fn gzip(data: &[u8]) -> Vec<u8> {
    use flate2::Compression;
    use flate2::write::GzEncoder;
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    enc.write_all(data).expect("gzip into a Vec");
    enc.finish().expect("gzip into a Vec")
}
