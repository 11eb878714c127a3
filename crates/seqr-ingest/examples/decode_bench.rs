//! Decoding throughput of the hot path, CLEF and legacy JSON:
//! `cargo run --release -p seqr-ingest --example decode_bench -- [rounds]`.
//! Batches of 2,000 events (~1 MB) are decoded repeatedly, as a server does, so memory is warm.

use std::time::Instant;

use seqr_ingest::{Limits, decode_clef, decode_legacy};

const BATCH: usize = 2_000;
const DEFAULT_ROUNDS: usize = 100;

fn clef_line(i: usize) -> String {
    format!(
        r#"{{"@t":"2026-11-24T23:40:{:02}.1234567Z","@mt":"HTTP {{RequestMethod}} {{RequestPath}} responded {{StatusCode}} in {{Elapsed:0.0000}} ms","@r":["12.3456"],"@l":"Warning","@tr":"d7a8be8ffe34c7b823c40733d6572e6e","@sp":"81052e753d7d7440","RequestMethod":"GET","RequestPath":"/api/products/{i}","StatusCode":200,"Elapsed":12.345678,"SourceContext":"Serilog.AspNetCore.RequestLoggingMiddleware","RequestId":"0HN1:0000{i}","ConnectionId":"0HN1","Application":"Roastery Web Frontend","ThreadId":{i}}}"#,
        i % 60
    )
}

fn clef_body() -> String {
    (0..BATCH).map(|i| clef_line(i) + "\n").collect()
}

fn legacy_body() -> String {
    let events: Vec<String> = (0..BATCH)
        .map(|i| format!(r#"{{"Timestamp":"2026-11-24T23:40:30.448Z","Level":"Information","MessageTemplate":"Hello {{User}} from {{Client}}","Properties":{{"User":"alice","Client":"seq-logging","RunTag":"fixture-run","N":{i},"Nested":{{"A":[1,2,3],"B":null}}}}}}"#))
        .collect();
    format!(r#"{{"Events":[{}]}}"#, events.join(","))
}

/// Decodes `body` once to warm up and check it, then `rounds` times, and prints the rates.
fn measure(name: &str, body: &[u8], rounds: usize, decode: impl Fn(&[u8]) -> usize) {
    assert_eq!(decode(body), BATCH, "{name}: warm-up decode");
    let start = Instant::now();
    for _ in 0..rounds {
        assert_eq!(decode(body), BATCH);
    }
    let elapsed = start.elapsed().as_secs_f64();
    println!(
        "{name}: {:.0} events/s, {:.0} MB/s ({} bytes/event)",
        (BATCH * rounds) as f64 / elapsed,
        (body.len() * rounds) as f64 / 1e6 / elapsed,
        body.len() / BATCH
    );
}

fn main() {
    let rounds = match std::env::args().nth(1) {
        None => DEFAULT_ROUNDS,
        Some(arg) => match arg.parse::<usize>() {
            Ok(n) if n > 0 => n,
            _ => {
                eprintln!("usage: decode_bench [rounds]  (rounds: a positive integer)");
                std::process::exit(2);
            }
        },
    };
    if cfg!(debug_assertions) {
        eprintln!("note: a debug build; run with --release for meaningful numbers");
    }
    let limits = Limits::default();
    println!("{rounds} rounds of {BATCH}-event batches");
    measure("CLEF", clef_body().as_bytes(), rounds, |b| {
        decode_clef(b, &limits).unwrap().len()
    });
    measure("Legacy", legacy_body().as_bytes(), rounds, |b| {
        decode_legacy(b, &limits).unwrap().len()
    });
}
