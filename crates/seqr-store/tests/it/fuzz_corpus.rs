//! Replays the fuzz targets' seed corpus (`fuzz/corpus/<target>/`) and any crash artifacts
//! (`fuzz/artifacts/<target>/`) through the targets' own checks (`fuzz/common/mod.rs`), so
//! they run in `cargo test`; a crash the fuzzer finds becomes a regression test once its input
//! is copied into the corpus.
//!
//! A seed's file name says what it must give:
//! - `ok-n<N>-*` (part, WAL): an untouched file written by the store, decoding to exactly `N`
//!   events (and its checksums are what the targets' resealing recomputes);
//! - `ok-*` (row, manifest): an untouched row or manifest, accepted;
//! - `cut-n<N>-*` (WAL): a damaged tail, cut so that exactly `N` events remain;
//! - `no-*`: damaged so that it must be refused (0 events, or not accepted);
//! - anything else (mutations with no fixed outcome, inputs the fuzzer added, artifacts):
//!   must only not panic.
//!
//! `write_seeds` (ignored) regenerates the seeds from stores written through the public API:
//! `SEQR_WRITE_FUZZ_SEEDS=1 cargo test -p seqr-store --test it fuzz_corpus::write_seeds -- --ignored`

#[path = "../../fuzz/common/mod.rs"]
mod checks;

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use seqr_store::{Event, Store, StoreOptions, Timestamp};
use seqr_types::Properties;

use crate::common::{BASE, rich};

const TARGETS: [&str; 4] = ["part", "wal", "row", "manifest"];
const TICKS_PER_DAY: i64 = 864_000_000_000;
/// Largest seed written (the corpus stays small enough to commit and to replay quickly).
const MAX_SEED: usize = 20 << 10;
/// Larger seeds get only a few mutated copies.
const MUTATE_ALL: usize = 8 << 10;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// The target's check: events decoded (part, WAL) or 1/0 for accepted/refused (row,
/// manifest).
fn check(target: &str, bytes: &[u8]) -> usize {
    match target {
        "part" => checks::check_part(bytes),
        "wal" => checks::check_wal(bytes),
        "row" => usize::from(checks::check_row(bytes)),
        "manifest" => usize::from(checks::check_manifest(bytes)),
        _ => unreachable!("{target}"),
    }
}

/// What a seed named `name` must give (see the module docs); `None`: anything but a panic.
enum Expect {
    Exactly(usize),
    Accepted,
    Refused,
}

fn expectation(target: &str, name: &str) -> Option<Expect> {
    let count = |rest: &str| {
        let digits: String = rest
            .strip_prefix('n')?
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().ok().map(Expect::Exactly)
    };
    if let Some(rest) = name.strip_prefix("ok-") {
        return match target {
            "part" | "wal" => count(rest),
            _ => Some(Expect::Accepted),
        };
    }
    if let Some(rest) = name.strip_prefix("cut-") {
        return count(rest);
    }
    name.starts_with("no-").then_some(Expect::Refused)
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default()
}

#[test]
fn fuzz_corpus_replays_cleanly() {
    let fuzz = fuzz_dir();
    let mut failures = Vec::new();
    for target in TARGETS {
        let corpus = files(&fuzz.join("corpus").join(target));
        let name_of = |p: &PathBuf| p.file_name().unwrap().to_string_lossy().into_owned();
        let untouched = corpus
            .iter()
            .filter(|p| name_of(p).starts_with("ok-"))
            .count();
        assert!(
            corpus.len() >= 10 && untouched >= 3,
            "corpus/{target} should have at least 10 seeds, 3 of them untouched (ok-*): has {} ({untouched})",
            corpus.len()
        );
        let mut all = corpus;
        all.extend(files(&fuzz.join("artifacts").join(target)));
        for path in &all {
            let name = name_of(path);
            let bytes = std::fs::read(path).expect("read a corpus file");
            let got = match catch_unwind(AssertUnwindSafe(|| check(target, &bytes))) {
                Ok(n) => n,
                Err(panic) => {
                    failures.push(format!(
                        "{}: panicked: {}",
                        path.display(),
                        panic_message(&*panic)
                    ));
                    continue;
                }
            };
            let wrong = match expectation(target, &name) {
                Some(Expect::Exactly(n)) if got != n => Some(format!("{n} events")),
                Some(Expect::Accepted) if got == 0 => Some("accepted".to_owned()),
                Some(Expect::Refused) if got != 0 => Some("refused".to_owned()),
                _ => None,
            };
            if let Some(wanted) = wrong {
                failures.push(format!("{}: wanted {wanted}, got {got}", path.display()));
            }
            // Resealing an untouched file must change nothing: otherwise the targets'
            // resealed runs would feed the decoders inputs refused at the first checksum.
            if name.starts_with("ok-") {
                let sealed = match target {
                    "part" => checks::reseal_part(&bytes),
                    "wal" => checks::reseal_wal(&bytes),
                    "manifest" => checks::reseal_manifest(&bytes),
                    _ => Some(bytes.clone()),
                };
                if sealed.as_deref() != Some(&bytes[..]) {
                    failures.push(format!("{}: resealing changes it", path.display()));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} corpus file(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

// ---- Seed generation ----------------------------------------------------------------------

fn props(json: &str) -> Properties {
    serde_json::from_str(json).unwrap_or_else(|e| panic!("{json}: {e}"))
}

fn at(ticks: i64) -> Event {
    Event {
        timestamp: Timestamp::from_ticks(ticks),
        ..Event::default()
    }
}

/// One day of varied events: every built-in field, nested and empty objects, arrays, numbers
/// that must keep their text, unicode and escapes, one property with a different type in
/// each event, repeated and unique strings.
fn mixed() -> Vec<Event> {
    let mut v = Vec::new();
    // Nothing but a timestamp.
    v.push(at(BASE));
    let mut e = at(BASE + 1);
    e.level = Some("Information".into());
    e.message_template = Some("User {User} logged in from {Ip}".into());
    e.event_type = seqr_types::event_type::of_template("User {User} logged in from {Ip}");
    e.properties =
        props(r#"{"User":"alice","Ip":"10.0.0.1","Client":{"Ip":"10.0.0.1","Port":5341}}"#);
    v.push(e);
    let mut e = at(BASE + 2);
    e.level = Some("Error".into());
    e.message_template = Some("Payment {Id} failed".into());
    e.message = Some("Payment 7 failed".into());
    e.exception = Some(
        "System.InvalidOperationException: nope\n   at Shop.Pay(Int32 id)\n   at Shop.Main()"
            .into(),
    );
    e.properties = props(
        r#"{"Id":7,"Amount":1.50,"Sci":1e3,"SciPlus":1E+3,"NegZero":-0.0,"Zero":0,"Neg":-42,"Tiny":0.000001,"Max18":999999999999999999,"Over18":1000000000000000000,"Dec18":12345678901234567.8,"Huge":123456789012345678901234567890,"Neg0int":-0}"#,
    );
    v.push(e);
    let mut e = at(BASE + 3);
    e.message_template = Some("Unicode {Text} and {Esc}".into());
    e.properties = props(
        r#"{"Text":"héllo wörld ✓ 🎉 日本語","Esc":"\"quoted\"\n\t\\ \u0000 \u001f \ud83d\ude00","":"empty key","a.b":"dotted key","Ключ":"значение","@at":"escaped at"}"#,
    );
    v.push(e);
    let mut e = at(BASE + 4);
    e.properties = props(
        r#"{"Empty":{},"EmptyList":[],"Null":null,"T":true,"F":false,"List":[1,"two",3.0,null,{"k":[{}]}],"Deep":{"a":{"b":{"c":{"d":{"e":"deep"}}}}},"Mixed":{"x":1,"y":{},"z":[]}}"#,
    );
    v.push(e);
    let mut e = at(BASE + 5);
    e.level = Some("Warning".into());
    e.message_template = Some("Span {Name}".into());
    e.trace_id = Some("4bf92f3577b34da6a3ce929d0e0e4736".into());
    e.span_id = Some("00f067aa0ba902b7".into());
    e.parent_id = Some("53995c3f42cd8ad8".into());
    e.span_start = Some(Timestamp::from_ticks(BASE + 5 - 1_234_567));
    e.span_kind = Some("Server".into());
    e.resource = Some(props(
        r#"{"service":{"name":"checkout","version":"1.2.3"},"host.name":"web-1"}"#,
    ));
    e.scope = Some(props(r#"{"name":"Shop.Checkout","version":"0.1"}"#));
    e.properties = props(r#"{"Name":"POST /pay","http":{"status_code":200}}"#);
    v.push(e);
    let mut e = at(BASE + 6);
    e.message_template = Some("{Count:000} items in {Elapsed:0.00} ms".into());
    e.renderings = vec!["007".into(), "3.14".into()];
    e.properties = props(r#"{"Count":7,"Elapsed":3.14159}"#);
    e.extensions = props(r#"{"@custom":{"x":1},"@flag":true}"#);
    v.push(e);
    // Same timestamp as the previous event (ordered by arrival), empty resource and scope.
    let mut e = at(BASE + 6);
    e.resource = Some(Properties::new());
    e.scope = Some(Properties::new());
    e.level = Some("verbose".into());
    v.push(e);
    // One property, a different type each time; repeated and unique strings; upper-case and
    // odd-length hex that must not be taken for hex columns.
    let values = [
        r#""text""#,
        "12",
        "-3.25",
        "true",
        "null",
        r#"{"nested":1}"#,
        "[1,2]",
        r#""""#,
        "1e-7",
        "18446744073709551616",
    ];
    for (i, value) in values.iter().enumerate() {
        let i = i as i64;
        let mut e = at(BASE + 10 + i);
        e.level = Some(["Debug", "Information"][i as usize % 2].into());
        e.message_template = Some("Value {V} of {Kind}".into());
        e.trace_id = Some(
            [
                "4BF92F3577B34DA6A3CE929D0E0E4736",
                "abc",
                "0af7651916cd43dd8448eb211c80319c",
            ][i as usize % 3]
                .into(),
        );
        e.properties = props(&format!(
            r#"{{"V":{value},"Kind":"k{}","Seq":{},"Ratio":{}.{:02}}}"#,
            i % 3,
            1000 + i,
            i,
            i * 7 % 100
        ));
        v.push(e);
    }
    // A run of events sharing one shape: dictionary strings, a constant, integer ranges.
    for i in 0..24i64 {
        let mut e = at(BASE + 100 + i * 1_000);
        e.level = Some(["Information", "Warning", "Error"][i as usize % 3].into());
        e.message_template = Some("Request {Method} {Path} took {Ms} ms".into());
        e.trace_id = Some(format!(
            "{:032x}",
            0x1234_5678_9abc_u64 * (i as u64 % 5 + 1)
        ));
        e.span_id = Some(format!("{:016x}", i as u64 * 7919 + 1));
        e.properties = props(&format!(
            r#"{{"Method":"{}","Path":"/api/v1/items/{}","Ms":{},"Service":"api","Ok":{}}}"#,
            ["GET", "POST"][i as usize % 2],
            i,
            i * i * 13 - 50,
            i % 4 != 0
        ));
        v.push(e);
    }
    v
}

/// OpenTelemetry-style spans, two days apart.
fn spans() -> Vec<Event> {
    (0..20i64)
        .map(|i| {
            let mut e = at(BASE + (i % 2) * 2 * TICKS_PER_DAY + i * 10_000_000);
            e.message_template = Some("{SpanName}".into());
            e.trace_id = Some(format!("{:032x}", (i / 4) as u128 * 0xdead_beef_u128 + 1));
            e.span_id = Some(format!("{:016x}", i + 1));
            if i % 4 != 0 {
                e.parent_id = Some(format!("{:016x}", i / 4 * 4 + 1));
            }
            e.span_start = Some(Timestamp::from_ticks(
                BASE + (i % 2) * 2 * TICKS_PER_DAY + i * 10_000_000 - 5_000 * (i + 1),
            ));
            e.span_kind = Some(["Server", "Client", "Internal"][i as usize % 3].into());
            e.resource = Some(props(&format!(
                r#"{{"service":{{"name":"svc-{}","instance":{{"id":"{}"}}}},"telemetry.sdk.language":"rust"}}"#,
                i % 2,
                i % 3
            )));
            e.scope = Some(props(r#"{"name":"opentelemetry","version":"0.27"}"#));
            e.properties = props(&format!(
                r#"{{"SpanName":"op-{}","http.method":"GET","http.status_code":{},"db":{{"rows":{}}}}}"#,
                i % 5,
                [200, 404, 500][i as usize % 3],
                i * 100
            ));
            e
        })
        .collect()
}

/// One event with more property paths than a block keeps as columns (1024).
fn wide() -> Vec<Event> {
    let mut e = at(BASE);
    e.message_template = Some("Wide".into());
    let mut json = String::from("{");
    for k in 0..1100 {
        if k > 0 {
            json.push(',');
        }
        json.push_str(&format!(r#""k{k}":{{"v":{}}}"#, k % 7));
    }
    json.push('}');
    e.properties = props(&json);
    let mut small = at(BASE + 1);
    small.properties = props(r#"{"k1":{"v":1}}"#);
    vec![e, small]
}

/// Stores by name, each with the events appended in the given groups (one WAL record each).
fn stores() -> Vec<(&'static str, Vec<Vec<Event>>)> {
    let mut mixed = mixed();
    let rest = mixed.split_off(18);
    let mut middle = mixed.split_off(8);
    let first = mixed;
    let tail = middle.split_off(1);
    let spans = spans();
    let rich: Vec<Event> = (0..45).map(rich).collect();
    vec![
        ("one", vec![vec![at(BASE)]]),
        ("mixed", vec![first, middle, tail, rest]),
        ("spans", spans.chunks(7).map(<[Event]>::to_vec).collect()),
        ("rich", rich.chunks(15).map(<[Event]>::to_vec).collect()),
        ("wide", vec![wide()]),
    ]
}

fn options() -> StoreOptions {
    StoreOptions {
        flush_events: 100_000,
        block_events: 16,
        ..StoreOptions::default()
    }
}

struct Seeds {
    root: PathBuf,
    bytes: usize,
    files: BTreeMap<&'static str, usize>,
}

impl Seeds {
    fn put(&mut self, target: &'static str, name: &str, data: &[u8]) {
        assert!(
            data.len() <= MAX_SEED,
            "{target}/{name} is {} bytes",
            data.len()
        );
        let dir = self.root.join(target);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), data).unwrap();
        self.bytes += data.len();
        *self.files.entry(target).or_default() += 1;
    }
}

/// (start, end, events) of each WAL record.
fn wal_records(wal: &[u8]) -> Vec<(usize, usize, usize)> {
    let mut out = Vec::new();
    let mut at = 28;
    while at + 8 <= wal.len() {
        let len = u32::from_le_bytes(wal[at..at + 4].try_into().unwrap()) as usize;
        let count = u32::from_le_bytes(wal[at + 16..at + 20].try_into().unwrap()) as usize;
        out.push((at, at + 8 + len, count));
        at += 8 + len;
    }
    assert_eq!(at, wal.len(), "WAL records cover the file");
    out
}

/// The rows of a WAL file (record layout in docs/FORMAT.md).
fn wal_rows(wal: &[u8]) -> Vec<&[u8]> {
    let mut rows = Vec::new();
    for (start, end, count) in wal_records(wal) {
        let mut p = start + 20;
        for _ in 0..count {
            let n = u32::from_le_bytes(wal[p..p + 4].try_into().unwrap()) as usize;
            rows.push(&wal[p + 4..p + 4 + n]);
            p += 4 + n;
        }
        assert_eq!(p, end);
    }
    rows
}

fn flipped(data: &[u8], at: usize) -> Vec<u8> {
    let mut v = data.to_vec();
    v[at] ^= 0x5a;
    v
}

fn zero_tail(data: &[u8], from: usize) -> Vec<u8> {
    let mut v = data.to_vec();
    v[from..].fill(0);
    v
}

fn part_seeds(s: &mut Seeds, label: &str, part: &[u8], expected: usize) {
    assert_eq!(seqr_store::fuzzing::part(part), expected, "{label}");
    s.put("part", &format!("ok-n{expected}-{label}.part"), part);
    let len = part.len();
    if len > MUTATE_ALL {
        for at in [12, len / 2] {
            let sealed = checks::reseal_part(&flipped(part, at)).unwrap();
            s.put("part", &format!("sealed-flip{at}-{label}.part"), &sealed);
        }
        return;
    }
    // Every byte is under a checksum: any damage refuses the whole part.
    for cut in [len / 2, len - 1, len - 117] {
        s.put("part", &format!("no-cut{cut}-{label}.part"), &part[..cut]);
    }
    for at in [3, 8, len / 3, len - 60, len - 10] {
        s.put(
            "part",
            &format!("no-flip{at}-{label}.part"),
            &flipped(part, at),
        );
    }
    s.put(
        "part",
        &format!("no-zerotail-{label}.part"),
        &zero_tail(part, len - len / 4),
    );
    // Damage with the checksums recomputed: reaches the block and column decoders.
    for at in [
        9,
        12,
        20,
        len / 4,
        len / 2,
        len.saturating_sub(200),
        len - 140,
    ] {
        let sealed = checks::reseal_part(&flipped(part, at)).unwrap();
        s.put("part", &format!("sealed-flip{at}-{label}.part"), &sealed);
    }
}

fn wal_seeds(s: &mut Seeds, label: &str, wal: &[u8], expected: usize) {
    assert_eq!(seqr_store::fuzzing::wal(wal), expected, "{label}");
    s.put("wal", &format!("ok-n{expected}-{label}.log"), wal);
    let len = wal.len();
    if len > MUTATE_ALL {
        for at in [48, len / 2] {
            let sealed = checks::reseal_wal(&flipped(wal, at)).unwrap();
            s.put("wal", &format!("sealed-flip{at}-{label}.log"), &sealed);
        }
        return;
    }
    let records = wal_records(wal);
    // Events in the records that end at or before `at`.
    let before = |at: usize| -> usize {
        records
            .iter()
            .filter(|r| r.1 <= at)
            .map(|r| r.2)
            .sum::<usize>()
    };
    for cut in [27, 28, 40, len / 2, len - 1] {
        let name = if cut < 28 {
            format!("no-cut{cut}-{label}.log")
        } else {
            format!("cut-n{}-cut{cut}-{label}.log", before(cut))
        };
        s.put("wal", &name, &wal[..cut]);
    }
    s.put("wal", &format!("no-flip3-{label}.log"), &flipped(wal, 3));
    let last = records.last().unwrap();
    for at in [30, len / 2, last.0 + 4, last.0 + 12, len - 1] {
        // Damage in the last record is a torn tail; earlier, a valid record follows it.
        let name = if at >= last.0 {
            format!("cut-n{}-flip{at}-{label}.log", before(last.0))
        } else {
            format!("no-flip{at}-{label}.log")
        };
        s.put("wal", &name, &flipped(wal, at));
    }
    let from = (last.0 + last.1) / 2;
    s.put(
        "wal",
        &format!("cut-n{}-zerotail-{label}.log", before(from)),
        &zero_tail(wal, from),
    );
    // Damage with the record checksums recomputed: reaches the row decoder.
    for at in [48, len / 3, len / 2, len - 2] {
        let sealed = checks::reseal_wal(&flipped(wal, at)).unwrap();
        s.put("wal", &format!("sealed-flip{at}-{label}.log"), &sealed);
    }
}

fn manifest_seeds(s: &mut Seeds, label: &str, m: &[u8]) {
    assert!(seqr_store::fuzzing::manifest(m), "{label}");
    s.put("manifest", &format!("ok-{label}"), m);
    let len = m.len();
    for cut in [8, 39, len / 2, len - 1] {
        s.put("manifest", &format!("no-cut{cut}-{label}"), &m[..cut]);
    }
    for at in [0, 9, 36, len - 5, len - 1] {
        s.put("manifest", &format!("no-flip{at}-{label}"), &flipped(m, at));
    }
    // Resealed: a changed sequence still decodes; a changed count or name length does not.
    let sealed = checks::reseal_manifest(&flipped(m, 9)).unwrap();
    s.put("manifest", &format!("ok-sealed-flip9-{label}"), &sealed);
    for at in [36, 40, len - 6].into_iter().filter(|&at| at < len) {
        let sealed = checks::reseal_manifest(&flipped(m, at)).unwrap();
        s.put("manifest", &format!("sealed-flip{at}-{label}"), &sealed);
    }
}

fn row_seeds(s: &mut Seeds, label: &str, i: usize, row: &[u8]) {
    assert!(seqr_store::fuzzing::row(row), "{label} row {i}");
    s.put("row", &format!("ok-{label}-{i:02}"), row);
    // A row must be consumed exactly: short or long, it is refused.
    if i.is_multiple_of(4) {
        let len = row.len();
        s.put("row", &format!("no-cut-{label}-{i:02}"), &row[..len - 1]);
        let mut long = row.to_vec();
        long.push(0);
        s.put("row", &format!("no-long-{label}-{i:02}"), &long);
        s.put(
            "row",
            &format!("flip-{label}-{i:02}"),
            &flipped(row, len / 2),
        );
    }
}

fn read_files(dir: &Path, keep: impl Fn(&Path) -> bool) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if keep(&p) {
                out.push((p.clone(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
#[ignore = "writes the fuzz seed corpus; run with SEQR_WRITE_FUZZ_SEEDS=1"]
fn write_seeds() {
    if std::env::var_os("SEQR_WRITE_FUZZ_SEEDS").is_none() {
        eprintln!("set SEQR_WRITE_FUZZ_SEEDS=1 to write fuzz/corpus/");
        return;
    }
    let mut s = Seeds {
        root: fuzz_dir().join("corpus"),
        bytes: 0,
        files: BTreeMap::new(),
    };
    for (label, groups) in stores() {
        let mut per_day: BTreeMap<i64, usize> = BTreeMap::new();
        for e in groups.iter().flatten() {
            *per_day
                .entry(e.timestamp.ticks().div_euclid(TICKS_PER_DAY))
                .or_default() += 1;
        }
        let total: usize = per_day.values().sum();

        // Parts and manifest: a cleanly shut down store.
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), options()).unwrap();
        for g in &groups {
            store.append_blocking(g.clone()).unwrap();
        }
        store.shutdown().unwrap();
        drop(store);
        let parts = read_files(dir.path(), |p| p.extension().is_some_and(|x| x == "part"));
        assert_eq!(parts.len(), per_day.len(), "{label}: one part per day");
        for ((_, part), (day, &n)) in parts.iter().zip(&per_day) {
            part_seeds(&mut s, &format!("{label}-d{}", day % 1000), part, n);
        }
        let manifest = std::fs::read(dir.path().join("MANIFEST")).unwrap();
        manifest_seeds(&mut s, label, &manifest);
        if label == "one" {
            // After shutdown: one WAL file holding only its header.
            let wals = read_files(dir.path(), |p| p.extension().is_some_and(|x| x == "log"));
            assert_eq!(wals.len(), 1);
            assert_eq!(seqr_store::fuzzing::wal(&wals[0].1), 0);
            s.put("wal", "ok-n0-header-only.log", &wals[0].1);
        }

        // WAL and rows: the same appends, then a crash (the handle dropped, no shutdown).
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), options()).unwrap();
        for g in &groups {
            store.append_blocking(g.clone()).unwrap();
        }
        drop(store);
        let wals = read_files(dir.path(), |p| p.extension().is_some_and(|x| x == "log"));
        assert_eq!(wals.len(), 1, "{label}: one WAL file");
        let wal = &wals[0].1;
        if wal.len() <= MAX_SEED {
            wal_seeds(&mut s, label, wal, total);
        }
        for (i, row) in wal_rows(wal).into_iter().enumerate() {
            if label != "rich" || i.is_multiple_of(5) {
                row_seeds(&mut s, label, i, row);
            }
        }
    }
    // The empty store's manifest.
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), options()).unwrap();
    store.shutdown().unwrap();
    drop(store);
    if let Ok(m) = std::fs::read(dir.path().join("MANIFEST")) {
        manifest_seeds(&mut s, "empty", &m);
    }
    eprintln!("wrote {:?}, {} bytes", s.files, s.bytes);
    assert!(s.bytes <= 1 << 20, "the corpus should stay under 1 MiB");
}
