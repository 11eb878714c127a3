//! Replays the fuzz targets' corpora (`fuzz/corpus/{decode,reassemble}/`, seeded by
//! `fuzz/seed_corpus.py` from the captured pygelf and graypy payloads, their truncations, bit
//! flips, chunk sets in every order, floods and garbage) and any crash artifacts through the
//! targets' checks, so they run in `cargo test`.

mod common;

use std::path::{Path, PathBuf};

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

/// Replays a target's corpus; returns the sum of what its check counted.
fn replay(target: &str, check: fn(&[u8]) -> usize) -> usize {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let corpus = files(&fuzz.join("corpus").join(target));
    assert!(
        corpus.len() >= 40,
        "the {target} seed corpus should have at least 40 inputs, has {}",
        corpus.len()
    );
    let mut all = corpus;
    all.extend(files(&fuzz.join("artifacts").join(target)));
    let mut counted = 0;
    for path in &all {
        let bytes = std::fs::read(path).expect("read a corpus file");
        match std::panic::catch_unwind(|| check(&bytes)) {
            Ok(n) => counted += n,
            Err(panic) => {
                let msg = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                panic!("{} failed the {target} checks: {msg}", path.display());
            }
        }
    }
    counted
}

#[test]
fn decode_corpus_replays_cleanly() {
    let events = replay("decode", common::check_decode);
    assert!(events >= 30, "only {events} seeds decode to events");
}

#[test]
fn reassemble_corpus_replays_cleanly() {
    let completed = replay("reassemble", common::check_reassemble);
    assert!(completed >= 10, "only {completed} chunk sets complete");
}
