//! Ad-hoc append throughput: `cargo run --release -p seqr-store --example append_bench -- [threads] [batches] [batch_size]`.
//! Each thread appends `batches` batches of realistic ~550-byte events with `append_blocking`.

use std::time::Instant;

use seqr_store::{Event, SearchRequest, Store, StoreOptions, Timestamp};

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

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().unwrap())
        .collect();
    let threads = args.first().copied().unwrap_or(4);
    let batches = args.get(1).copied().unwrap_or(250);
    let size = args.get(2).copied().unwrap_or(1000);
    let dir = tempfile::tempdir_in(".").unwrap();
    let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
    // Each thread builds its events before the clock starts, so only the store is measured
    // (and the main thread's allocator arena is not left with a million freed events).
    let total = threads * batches * size;
    let barrier = std::sync::Barrier::new(threads + 1);
    let mut start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            let store = store.clone();
            let barrier = &barrier;
            s.spawn(move || {
                let work: Vec<Vec<Event>> = (0..batches)
                    .map(|b| {
                        let base = ((t * batches + b) * size) as u64;
                        (base..base + size as u64).map(event).collect()
                    })
                    .collect();
                barrier.wait();
                for batch in work {
                    store.append_blocking(batch).unwrap();
                }
            });
        }
        barrier.wait();
        start = Instant::now();
    });
    let secs = start.elapsed().as_secs_f64();
    println!(
        "appended {total} events in {secs:.2} s: {:.0} events/s ({threads} threads, batches of {size})",
        total as f64 / secs
    );
    for _ in 0..5 {
        let t = Instant::now();
        let st = store.stats();
        println!(
            "stats in {:?}: parts {} memtable {}",
            t.elapsed(),
            st.parts,
            st.memtable_events
        );
        let t = Instant::now();
        let r = store
            .get(seqr_store::EventId {
                ticks: 0,
                arrival: 0,
            })
            .unwrap();
        println!("get miss {:?} in {:?}", r.is_some(), t.elapsed());
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    for _ in 0..3 {
        let t = Instant::now();
        let r = store
            .search(&SearchRequest {
                count: 1000,
                ..Default::default()
            })
            .unwrap();
        println!("newest 1000: {:?} in {:?}", r.status, t.elapsed());
    }
    let t = Instant::now();
    let r = store
        .search(&SearchRequest {
            count: 1000,
            from: Some(Timestamp::from_ticks(
                638_000_000_000_000_000 + 500_000 * 1000,
            )),
            to: Some(Timestamp::from_ticks(
                638_000_000_000_000_000 + 600_000 * 1000,
            )),
            ..Default::default()
        })
        .unwrap();
    println!(
        "1000 in a middle range: {:?} in {:?}",
        r.status,
        t.elapsed()
    );
    store.shutdown().unwrap();
    let stats = store.stats();
    println!("{stats:?}");
    println!(
        "bytes on disk per event: {:.1}",
        stats.bytes_on_disk as f64 / total as f64
    );
}
