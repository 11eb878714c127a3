//! Decoding throughput, for eyeballing the hot path: `cargo test --release -p seqr-ingest
//! --test throughput -- --ignored --nocapture`. Ignored by default (timing is not a test).
//! Batches of ~1 MB are decoded repeatedly, as a server does, so memory is warm.

use std::time::Instant;

use seqr_ingest::{Limits, decode_clef, decode_legacy};

const BATCH: usize = 2_000;
const ROUNDS: usize = 100;

fn clef_line(i: usize) -> String {
    format!(
        r#"{{"@t":"2026-11-24T23:40:{:02}.1234567Z","@mt":"HTTP {{RequestMethod}} {{RequestPath}} responded {{StatusCode}} in {{Elapsed:0.0000}} ms","@r":["12.3456"],"@l":"Warning","@tr":"d7a8be8ffe34c7b823c40733d6572e6e","@sp":"81052e753d7d7440","RequestMethod":"GET","RequestPath":"/api/products/{i}","StatusCode":200,"Elapsed":12.345678,"SourceContext":"Serilog.AspNetCore.RequestLoggingMiddleware","RequestId":"0HN1:0000{i}","ConnectionId":"0HN1","Application":"Roastery Web Frontend","ThreadId":{i}}}"#,
        i % 60
    )
}

fn measure(name: &str, body: &[u8], decode: impl Fn(&[u8]) -> usize) {
    assert_eq!(decode(body), BATCH);
    let start = Instant::now();
    for _ in 0..ROUNDS {
        assert_eq!(decode(body), BATCH);
    }
    let elapsed = start.elapsed().as_secs_f64();
    println!(
        "{name}: {:.0} events/s, {:.0} MB/s ({} bytes/event)",
        (BATCH * ROUNDS) as f64 / elapsed,
        (body.len() * ROUNDS) as f64 / 1e6 / elapsed,
        body.len() / BATCH
    );
}

#[test]
#[ignore]
fn clef_throughput() {
    let body: String = (0..BATCH).map(|i| clef_line(i) + "\n").collect();
    measure("CLEF", body.as_bytes(), |b| {
        decode_clef(b, &Limits::default()).unwrap().len()
    });
}

#[test]
#[ignore]
fn legacy_throughput() {
    let events: Vec<String> = (0..BATCH)
        .map(|i| format!(r#"{{"Timestamp":"2026-11-24T23:40:30.448Z","Level":"Information","MessageTemplate":"Hello {{User}} from {{Client}}","Properties":{{"User":"alice","Client":"seq-logging","RunTag":"fixture-run","N":{i},"Nested":{{"A":[1,2,3],"B":null}}}}}}"#))
        .collect();
    let body = format!(r#"{{"Events":[{}]}}"#, events.join(","));
    measure("Legacy", body.as_bytes(), |b| {
        decode_legacy(b, &Limits::default()).unwrap().len()
    });
}
