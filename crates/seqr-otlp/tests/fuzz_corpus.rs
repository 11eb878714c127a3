//! Replays the fuzz target's corpus (`fuzz/corpus/decode/`, seeded from the captured `otel-*`
//! client requests, their truncations, bit flips and cross-readings) and any crash artifacts
//! through the target's checks, so they run in `cargo test`.

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

#[test]
fn fuzz_corpus_replays_cleanly() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let corpus = files(&fuzz.join("corpus/decode"));
    assert!(
        corpus.len() >= 50,
        "the seed corpus should have at least 50 inputs, has {}",
        corpus.len()
    );
    let mut all = corpus;
    all.extend(files(&fuzz.join("artifacts/decode")));
    let mut decoded = 0;
    for path in &all {
        let bytes = std::fs::read(path).expect("read a corpus file");
        if let Err(panic) = std::panic::catch_unwind(|| common::check_input(&bytes)) {
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            panic!("{} failed the fuzz checks: {msg}", path.display());
        }
        decoded += 1;
    }
    assert_eq!(decoded, all.len());
}
