//! seqr-bench-loader: posts a CLEF file to a Seq-compatible server as fast as
//! a few keep-alive connections allow, and reports throughput and latency.
//!
//! Usage:
//!   seqr-bench-loader --addr 127.0.0.1:5341 --file events.clef
//!       [--path /api/events/raw?clef] [--batch 1000] [--connections 8] [--rate EVENTS_PER_S]
//!
//! The whole file is read and split into ready-to-send HTTP requests (one per
//! `--batch` lines, `Content-Type: application/vnd.serilog.clef`) before the
//! clock starts, so the timed part is only socket writes and response reads.
//! Requests are handed out to `--connections` threads from a shared counter;
//! each thread keeps one HTTP/1.1 connection alive (reconnecting if the server
//! closes it). Every answer must be 201. With `--rate`, request i is not sent
//! before start + i * batch / rate (an open-loop pace, for latency at a fixed
//! load); without it, requests go back to back.
//!
//! Prints `key=value` lines on stdout (requests, events, bytes, wall_s,
//! events_per_s, mib_per_s, p50_ms, p90_ms, p99_ms, max_ms, errors) and exits
//! 1 if any request failed. Used by bench/run.sh.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

struct Opts {
    addr: String,
    path: String,
    file: String,
    batch: usize,
    connections: usize,
    rate: Option<f64>,
}

fn parse_args() -> Result<Opts, String> {
    let mut o = Opts {
        addr: String::new(),
        path: "/api/events/raw?clef".into(),
        file: String::new(),
        batch: 1000,
        connections: 8,
        rate: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--addr" => o.addr = value()?,
            "--path" => o.path = value()?,
            "--file" => o.file = value()?,
            "--batch" => o.batch = value()?.parse().map_err(|e| format!("--batch: {e}"))?,
            "--connections" => {
                o.connections = value()?
                    .parse()
                    .map_err(|e| format!("--connections: {e}"))?
            }
            "--rate" => o.rate = Some(value()?.parse().map_err(|e| format!("--rate: {e}"))?),
            _ => return Err(format!("unknown argument {flag}")),
        }
    }
    if o.addr.is_empty() || o.file.is_empty() {
        return Err("--addr and --file are required".into());
    }
    if o.rate.is_some_and(|r| r.is_nan() || r <= 0.0) {
        return Err("--rate must be positive".into());
    }
    if o.batch == 0 || o.connections == 0 {
        return Err("--batch and --connections must be positive".into());
    }
    Ok(o)
}

/// Split the file into complete HTTP requests of `batch` lines each.
fn build_requests(o: &Opts) -> std::io::Result<(Vec<Vec<u8>>, usize, usize)> {
    let data = std::fs::read(&o.file)?;
    let host = &o.addr;
    let mut requests = Vec::new();
    let (mut events, mut body_bytes) = (0usize, 0usize);
    let mut lines = data
        .split_inclusive(|&b| b == b'\n')
        .filter(|l| l.iter().any(|b| !b.is_ascii_whitespace()));
    loop {
        let mut body = Vec::with_capacity(o.batch * 600);
        let mut n = 0;
        for line in lines.by_ref().take(o.batch) {
            body.extend_from_slice(line);
            n += 1;
        }
        if n == 0 {
            break;
        }
        let head = format!(
            "POST {} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/vnd.serilog.clef\r\nContent-Length: {}\r\nConnection: keep-alive\r\n\r\n",
            o.path,
            body.len()
        );
        let mut req = Vec::with_capacity(head.len() + body.len());
        req.extend_from_slice(head.as_bytes());
        req.extend_from_slice(&body);
        events += n;
        body_bytes += body.len();
        requests.push(req);
    }
    Ok((requests, events, body_bytes))
}

/// Read one HTTP/1.1 response; returns (status, body, server wants close).
fn read_response(r: &mut BufReader<TcpStream>) -> std::io::Result<(u16, Vec<u8>, bool)> {
    let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_string());
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "connection closed",
        ));
    }
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad(&line))?;
    let (mut len, mut chunked, mut close) = (0usize, false, false);
    loop {
        line.clear();
        if r.read_line(&mut line)? == 0 {
            return Err(bad("eof in headers"));
        }
        let h = line.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().to_ascii_lowercase());
            match k.as_str() {
                "content-length" => len = v.parse().map_err(|_| bad(h))?,
                "transfer-encoding" => chunked = v.contains("chunked"),
                "connection" => close = v == "close",
                _ => {}
            }
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            line.clear();
            r.read_line(&mut line)?;
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| bad(&line))?;
            let mut chunk = vec![0; size + 2];
            r.read_exact(&mut chunk)?;
            if size == 0 {
                break; // assumes no trailers
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else {
        body.resize(len, 0);
        r.read_exact(&mut body)?;
    }
    Ok((status, body, close))
}

struct ThreadResult {
    latencies: Vec<Duration>,
    errors: usize,
    first_error: Option<String>,
    finished: Instant,
}

/// When request `i` may be sent, relative to the start (None: at once).
fn schedule(i: usize, batch: usize, rate: Option<f64>) -> Option<Duration> {
    rate.map(|r| Duration::from_secs_f64(i as f64 * batch as f64 / r))
}

fn worker(
    addr: &str,
    requests: &[Vec<u8>],
    next: &AtomicUsize,
    start: &Barrier,
    pace: (usize, Option<f64>),
) -> ThreadResult {
    let mut res = ThreadResult {
        latencies: Vec::new(),
        errors: 0,
        first_error: None,
        finished: Instant::now(),
    };
    let connect = || -> std::io::Result<BufReader<TcpStream>> {
        let s = TcpStream::connect(addr)?;
        s.set_nodelay(true)?;
        s.set_read_timeout(Some(Duration::from_secs(120)))?;
        Ok(BufReader::with_capacity(64 * 1024, s))
    };
    let mut conn = connect().ok();
    start.wait();
    let t_start = Instant::now();
    loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        if i >= requests.len() {
            break;
        }
        if let Some(at) = schedule(i, pace.0, pace.1) {
            let due = t_start + at;
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
        }
        let t0 = Instant::now();
        let outcome = (|| -> std::io::Result<(u16, Vec<u8>, bool)> {
            if conn.is_none() {
                conn = Some(connect()?);
            }
            let c = conn.as_mut().unwrap();
            c.get_mut().write_all(&requests[i])?;
            read_response(c)
        })();
        res.latencies.push(t0.elapsed());
        match outcome {
            Ok((201, _, close)) => {
                if close {
                    conn = None;
                }
            }
            Ok((status, body, _)) => {
                res.errors += 1;
                conn = None;
                res.first_error.get_or_insert_with(|| {
                    format!(
                        "request {i}: HTTP {status}: {}",
                        String::from_utf8_lossy(&body[..body.len().min(300)])
                    )
                });
            }
            Err(e) => {
                res.errors += 1;
                conn = None;
                res.first_error
                    .get_or_insert_with(|| format!("request {i}: {e}"));
            }
        }
        res.finished = Instant::now();
    }
    res
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[idx].as_secs_f64() * 1e3
}

fn main() -> ExitCode {
    let o = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("seqr-bench-loader: {e}");
            return ExitCode::from(2);
        }
    };
    let (requests, events, body_bytes) = match build_requests(&o) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("seqr-bench-loader: reading {}: {e}", o.file);
            return ExitCode::from(2);
        }
    };
    eprintln!(
        "seqr-bench-loader: {} requests, {events} events, {:.1} MiB, {} connections",
        requests.len(),
        body_bytes as f64 / 1048576.0,
        o.connections
    );

    let requests = Arc::new(requests);
    let next = Arc::new(AtomicUsize::new(0));
    let barrier = Arc::new(Barrier::new(o.connections + 1));
    let handles: Vec<_> = (0..o.connections)
        .map(|_| {
            let (requests, next, barrier, addr) = (
                requests.clone(),
                next.clone(),
                barrier.clone(),
                o.addr.clone(),
            );
            let pace = (o.batch, o.rate);
            std::thread::spawn(move || worker(&addr, &requests, &next, &barrier, pace))
        })
        .collect();
    barrier.wait();
    let t_start = Instant::now();

    let mut latencies = Vec::with_capacity(requests.len());
    let (mut errors, mut first_error, mut t_end) = (0, None, t_start);
    for h in handles {
        let r = h.join().expect("worker thread panicked");
        latencies.extend(r.latencies);
        errors += r.errors;
        if first_error.is_none() {
            first_error = r.first_error;
        }
        t_end = t_end.max(r.finished);
    }
    latencies.sort();
    let wall = (t_end - t_start).as_secs_f64();

    println!("requests={}", requests.len());
    println!("events={events}");
    println!("bytes={body_bytes}");
    println!("wall_s={wall:.3}");
    println!("events_per_s={:.0}", events as f64 / wall);
    println!("mib_per_s={:.1}", body_bytes as f64 / 1048576.0 / wall);
    println!("p50_ms={:.2}", percentile(&latencies, 50.0));
    println!("p90_ms={:.2}", percentile(&latencies, 90.0));
    println!("p99_ms={:.2}", percentile(&latencies, 99.0));
    println!("max_ms={:.2}", percentile(&latencies, 100.0));
    println!("errors={errors}");
    if let Some(e) = first_error {
        eprintln!("seqr-bench-loader: first failure: {e}");
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}
