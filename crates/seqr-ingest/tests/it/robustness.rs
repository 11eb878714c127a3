//! Fuzz-style robustness: mutated client bodies must be decoded or rejected, never panic.
//! Deterministic (a fixed xorshift seed), so any failure reproduces.

use crate::common;

use std::io::Write;

use flate2::Compression;
use flate2::write::{GzEncoder, ZlibEncoder};
use seqr_ingest::{Limits, decode_clef, decode_legacy, decompress};
use seqr_types::template;

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Fragments that push parsers into their edge cases.
const TOKENS: &[&[u8]] = &[
    b"{",
    b"}",
    b"[",
    b"]",
    b"\"",
    b"\\",
    b"\n",
    b"\r\n",
    b"\r",
    b",",
    b":",
    b"null",
    b"true",
    b"\"@t\"",
    b"\"@i\"",
    b"\"@r\"",
    b"\"@@x\"",
    b"\"Events\"",
    b"\"Timestamp\"",
    b"1e999",
    b"-0",
    b"18446744073709551616",
    b"\\u0000",
    b"\\ud800",
    b"\xFF",
    b"\xEF\xBB\xBF",
    b"\xC3",
    b"{A:0.00}",
    b"{{",
    b"}}",
    b"{0,-5:x8}",
    b"\"2026-01-01T00:00:00Z\"",
    b" ",
];

fn mutate(rng: &mut XorShift, input: &[u8]) -> Vec<u8> {
    let mut data = input.to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(data.len() + 1);
        match rng.below(6) {
            0 if !data.is_empty() => {
                let i = rng.below(data.len());
                data[i] ^= 1 << rng.below(8);
            }
            1 => {
                let end = (at + rng.below(16)).min(data.len());
                data.drain(at..end);
            }
            2 => {
                let token = TOKENS[rng.below(TOKENS.len())];
                data.splice(at..at, token.iter().copied());
            }
            3 => {
                let end = (at + rng.below(64)).min(data.len());
                let copy = data[at..end].to_vec();
                data.splice(at..at, copy);
            }
            4 => data.truncate(at),
            _ => {
                if !data.is_empty() {
                    let i = rng.below(data.len());
                    data[i] = rng.next() as u8;
                }
            }
        }
    }
    data
}

fn exercise(body: &[u8], limits: &Limits) {
    for result in [decode_clef(body, limits), decode_legacy(body, limits)] {
        match result {
            Ok(events) => {
                for e in events {
                    let _ = e.rendered_message();
                    let tokens = template::parse(e.template_or_message());
                    let _ = template::render_tokens(&tokens, &e.properties, &e.renderings);
                }
            }
            Err(e) => {
                let text = e.to_string();
                assert!(text.ends_with('.'), "{text}");
                assert!(matches!(e.http_status(), 400 | 413));
            }
        }
    }
}

fn seeds() -> Vec<Vec<u8>> {
    let mut seeds: Vec<Vec<u8>> = common::ingestion_requests()
        .into_iter()
        .map(|r| r.body)
        .filter(|b| !b.is_empty())
        .collect();
    seeds.push(
        br#"{"@t":"2024-04-26T01:46:04.8772700Z","@mt":"{A:0.00} {B,-4} {c.d:x8}","@r":["1.00","ff"],"@i":"e80d5c02","A":1,"B":"x","c":{"d":255},"@st":"2024-04-26T01:46:04Z","@ra":{"a":1}}"#
            .to_vec(),
    );
    seeds
}

#[test]
fn mutated_bodies_never_panic() {
    let seeds = seeds();
    assert!(seeds.len() >= 10);
    let limits = [
        Limits::default(),
        Limits {
            max_event_bytes: 200,
            max_body_bytes: 2000,
        },
    ];
    let mut rng = XorShift(0x5EED_CAFE_F00D_D00D);
    for i in 0..30_000 {
        let seed = &seeds[i % seeds.len()];
        let body = mutate(&mut rng, seed);
        exercise(&body, &limits[i % 2]);
    }
}

#[test]
fn splicing_bodies_together_never_panics() {
    let seeds = seeds();
    let mut rng = XorShift(0x0123_4567_89AB_CDEF);
    for _ in 0..3_000 {
        let a = &seeds[rng.below(seeds.len())];
        let b = &seeds[rng.below(seeds.len())];
        let mut body = a[..rng.below(a.len())].to_vec();
        body.extend_from_slice(&b[rng.below(b.len())..]);
        exercise(&body, &Limits::default());
    }
}

#[test]
fn mutated_compressed_bodies_never_panic() {
    let mut rng = XorShift(0xDEAD_BEEF_1234_5678);
    for seed in seeds() {
        let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
        gz.write_all(&seed).unwrap();
        let gz = gz.finish().unwrap();
        let mut zl = ZlibEncoder::new(Vec::new(), Compression::fast());
        zl.write_all(&seed).unwrap();
        let zl = zl.finish().unwrap();
        assert_eq!(decompress(&gz, "gzip", 1 << 20).unwrap(), seed);
        assert_eq!(decompress(&zl, "gzip,deflate", 1 << 20).unwrap(), seed);
        for _ in 0..300 {
            for (data, encoding) in [(&gz, "gzip"), (&zl, "deflate"), (&zl, "gzip, deflate")] {
                let mutated = mutate(&mut rng, data);
                if let Ok(out) = decompress(&mutated, encoding, 4096) {
                    assert!(out.len() <= 4096);
                    exercise(&out, &Limits::default());
                }
            }
        }
    }
}
