//! A GELF UDP listener under a flood of garbage and of chunk sets that never complete, while a
//! client sends real messages (pygelf's shape: zlib-compressed, some chunked): every real
//! message arrives, the garbage is counted, and the server's memory stays bounded.

use std::io::Write as _;
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::support::{Server, TestDir, XorShift, get, read_all};

/// How long the flood lasts.
const FLOOD: Duration = Duration::from_secs(4);

/// Real messages sent during it (every tenth one chunked).
const REAL: usize = 200;

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(data).unwrap();
    z.finish().unwrap()
}

/// A GELF message as pygelf sends it, split into chunks of `size` when `size` is given.
fn real_message(i: usize, chunk: Option<usize>, rng: &mut XorShift) -> Vec<Vec<u8>> {
    let padding: String = if chunk.is_some() {
        (0..6000)
            .map(|_| (b'a' + (rng.next_u64() % 26) as u8) as char)
            .collect()
    } else {
        String::new()
    };
    let json = format!(
        r#"{{"version":"1.1","short_message":"real {i} {padding}","timestamp":1795563662.0487945,"level":6,"host":"vm","_Flood":"survivor","_Seq":{i}}}"#
    );
    let payload = zlib(json.as_bytes());
    let Some(size) = chunk else {
        return vec![payload];
    };
    let pieces: Vec<&[u8]> = payload.chunks(size).collect();
    let id = (i as u64).to_be_bytes();
    pieces
        .iter()
        .enumerate()
        .map(|(seq, piece)| {
            let mut d = vec![0x1e, 0x0f];
            d.extend_from_slice(&id);
            d.push(seq as u8);
            d.push(pieces.len() as u8);
            d.extend_from_slice(piece);
            d
        })
        .collect()
}

/// Sends garbage and half chunk sets (fresh ids, 128 chunks announced, one sent) until stopped,
/// about `per_second` datagrams a second.
fn flood(target: SocketAddr, seed: u64, per_second: u64, stop: Arc<AtomicBool>) -> u64 {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut rng = XorShift::new(seed);
    let mut sent = 0u64;
    let started = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        let mut datagram = Vec::with_capacity(1400);
        if rng.next_u64().is_multiple_of(2) {
            datagram.extend_from_slice(&[0x1e, 0x0f]);
            datagram.extend_from_slice(&rng.next_u64().to_be_bytes());
            datagram.push((rng.next_u64() % 128) as u8);
            datagram.push(128);
        }
        let len = rng.range(1, 1300) as usize;
        datagram.extend((0..len).map(|_| rng.next_u64() as u8));
        let _ = socket.send_to(&datagram, target);
        sent += 1;
        // Pace to the rate: ahead of schedule, sleep.
        let due = Duration::from_secs_f64(sent as f64 / per_second as f64);
        if let Some(ahead) = due.checked_sub(started.elapsed()) {
            std::thread::sleep(ahead);
        }
    }
    sent
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

fn counters(server: &Server) -> serde_json::Value {
    let response = get(server.port, "/api/diagnostics/inputs").unwrap();
    assert_eq!(response.status, 200, "{}", response.text());
    response.json()[0].clone()
}

#[test]
fn real_gelf_messages_survive_a_flood_of_garbage_and_partial_chunks() {
    let dir = TestDir::new();
    let extra = [std::ffi::OsStr::new("--gelf-udp"), "127.0.0.1:0".as_ref()];
    let server = Server::try_start_with(&dir.storage(), &dir.log(), &extra)
        .unwrap_or_else(|e| panic!("{}: {}", e.reason, e.stderr));
    let target = server.input("gelf-udp");
    let baseline = rss_kib(server.pid());

    let stop = Arc::new(AtomicBool::new(false));
    let flooders: Vec<_> = (0..2)
        .map(|n| {
            let stop = stop.clone();
            std::thread::spawn(move || flood(target, 7 + n, 4_000, stop))
        })
        .collect();

    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut rng = XorShift::new(42);
    let mut peak = baseline;
    let started = Instant::now();
    for i in 0..REAL {
        let chunk = i.is_multiple_of(10).then_some(1300);
        for datagram in real_message(i, chunk, &mut rng) {
            client.send_to(&datagram, target).unwrap();
        }
        let due = FLOOD.mul_f64((i + 1) as f64 / REAL as f64);
        if let Some(ahead) = due.checked_sub(started.elapsed()) {
            std::thread::sleep(ahead);
        }
        if i % 20 == 0 {
            peak = peak.max(rss_kib(server.pid()));
        }
    }
    stop.store(true, Ordering::Relaxed);
    let flooded: u64 = flooders.into_iter().map(|f| f.join().unwrap()).sum();

    let deadline = Instant::now() + Duration::from_secs(15);
    let survivors = loop {
        let found = read_all(server.port, 1000, "filter=Flood%20%3D%20'survivor'");
        if found.len() >= REAL || Instant::now() > deadline {
            break found;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    peak = peak.max(rss_kib(server.pid()));
    let c = counters(&server);
    assert_eq!(
        survivors.len(),
        REAL,
        "every real message arrives despite {flooded} flood datagrams; counters {c:#}"
    );
    assert!(
        c["Malformed"].as_u64().unwrap() > flooded / 4,
        "the garbage is counted: {c:#}"
    );
    assert_eq!(c["StoredEvents"].as_u64().unwrap(), REAL as u64, "{c:#}");
    // Incomplete sets are held for 5 s at most, within the 32 MiB reassembly budget.
    let deadline = Instant::now() + Duration::from_secs(10);
    while counters(&server)["ChunksExpired"].as_u64().unwrap() == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    let c = counters(&server);
    assert!(c["ChunksExpired"].as_u64().unwrap() > 0, "{c:#}");
    let growth_mib = peak.saturating_sub(baseline) / 1024;
    eprintln!(
        "flood: {flooded} datagrams, peak RSS {} MiB (+{growth_mib} MiB), counters {c}",
        peak / 1024
    );
    assert!(
        growth_mib < 96,
        "memory stays bounded under the flood: grew {growth_mib} MiB"
    );
}
