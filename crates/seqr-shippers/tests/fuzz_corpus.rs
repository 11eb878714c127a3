//! Replays the fuzz targets' corpora (`fuzz/corpus/{loki,bulk}/`, seeded from the shipper
//! samples, their truncations, bit flips and cross-readings) and any crash artifacts through
//! the targets' checks, so they run in `cargo test`.

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

fn replay(target: &str, check: fn(&[u8])) {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let corpus = files(&fuzz.join("corpus").join(target));
    assert!(
        corpus.len() >= 30,
        "the {target} seed corpus should have at least 30 inputs, has {}",
        corpus.len()
    );
    let mut all = corpus;
    all.extend(files(&fuzz.join("artifacts").join(target)));
    for path in &all {
        let bytes = std::fs::read(path).expect("read a corpus file");
        if let Err(panic) = std::panic::catch_unwind(|| check(&bytes)) {
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            panic!("{} failed the fuzz checks: {msg}", path.display());
        }
    }
}

#[test]
fn loki_corpus_replays_cleanly() {
    replay("loki", common::check_loki);
}

#[test]
fn bulk_corpus_replays_cleanly() {
    replay("bulk", common::check_bulk);
}
