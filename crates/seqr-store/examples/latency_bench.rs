//! Append latency at a paced (part-load) rate:
//! `cargo run --release -p seqr-store --example latency_bench -- [threads] [events_per_s] [batch] [seconds] [flush_events]`
//! (defaults 8, 190000, 1000, 10, 200000; `flush_events` 0 = never flush).
//! Each thread sends one batch every `threads * batch / events_per_s` seconds with
//! `append_blocking` and records the time until the acknowledgement (measured from the
//! scheduled send time, so a stall also counts against the batches queued behind it).

use std::time::{Duration, Instant};

use seqr_store::{Event, Store, StoreOptions, Timestamp};

fn event(i: u64) -> Event {
    let props = format!(
        r#"{{"RequestMethod":"GET","RequestPath":"/api/orders/{i}","StatusCode":200,"Elapsed":{}.{:03},"SourceContext":"Microsoft.AspNetCore.Hosting.Diagnostics","RequestId":"0HMQ{i:08X}:00000001","ConnectionId":"0HMQ{i:08X}","MachineName":"web-{:02}","Application":"Shop.Api","User":{{"Id":{},"Email":"user{}@example.com"}}}}"#,
        i % 900,
        i % 1000,
        i % 16,
        i % 5000,
        i % 5000
    );
    Event {
        timestamp: Timestamp::from_ticks(638_000_000_000_000_000 + i as i64 * 1000),
        level: Some("Information".into()),
        message_template: Some(
            "HTTP {RequestMethod} {RequestPath} responded {StatusCode} in {Elapsed:0.0000} ms"
                .into(),
        ),
        event_type: 0xE80D_5C02,
        trace_id: Some(format!("{:032x}", i.wrapping_mul(0x9e37_79b9_7f4a_7c15))),
        span_id: Some(format!("{:016x}", i.wrapping_mul(31))),
        properties: serde_json::from_str(&props).unwrap(),
        ..Event::default()
    }
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().unwrap())
        .collect();
    let threads = args.first().copied().unwrap_or(8);
    let rate = args.get(1).copied().unwrap_or(190_000);
    let size = args.get(2).copied().unwrap_or(1000);
    let secs = args.get(3).copied().unwrap_or(10);
    let flush_events = args.get(4).copied().unwrap_or(200_000);
    let dir = tempfile::tempdir_in(".").unwrap();
    let options = StoreOptions {
        flush_events: if flush_events == 0 {
            usize::MAX
        } else {
            flush_events
        },
        flush_bytes: if flush_events == 0 {
            usize::MAX
        } else {
            StoreOptions::default().flush_bytes
        },
        ..StoreOptions::default()
    };
    let store = Store::open(dir.path(), options).unwrap();
    let interval = Duration::from_secs_f64((threads * size) as f64 / rate as f64);
    let batches = (secs as f64 / interval.as_secs_f64()) as usize;
    let start = Instant::now() + Duration::from_millis(500);
    let mut lat: Vec<Duration> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..threads)
            .map(|t| {
                let store = store.clone();
                s.spawn(move || {
                    // 8 distinct batches per thread, cloned for each send.
                    let pool: Vec<Vec<Event>> = (0..8)
                        .map(|b| {
                            let base = ((t * 8 + b) * size) as u64;
                            (base..base + size as u64).map(event).collect()
                        })
                        .collect();
                    let offset = interval.mul_f64(t as f64 / threads as f64);
                    let mut out = Vec::with_capacity(batches);
                    for b in 0..batches {
                        let due = start + offset + interval * b as u32;
                        let batch = pool[b % pool.len()].clone();
                        let now = Instant::now();
                        if due > now {
                            std::thread::sleep(due - now);
                        }
                        store.append_blocking(batch).unwrap();
                        out.push(due.elapsed());
                    }
                    out
                })
            })
            .collect();
        hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let wall = start.elapsed().as_secs_f64();
    lat.sort_unstable();
    let st = store.stats();
    println!(
        "{threads} threads x {size}-event batches at {rate} events/s ({:.0} achieved), flush_events {flush_events}: \
         p50 {:.1} ms  p99 {:.1} ms  p99.9 {:.1} ms  max {:.1} ms  ({} batches, {} parts)",
        lat.len() as f64 * size as f64 / wall,
        pct(&lat, 0.50).as_secs_f64() * 1e3,
        pct(&lat, 0.99).as_secs_f64() * 1e3,
        pct(&lat, 0.999).as_secs_f64() * 1e3,
        lat.last().unwrap().as_secs_f64() * 1e3,
        lat.len(),
        st.parts,
    );
    store.shutdown().unwrap();
}
