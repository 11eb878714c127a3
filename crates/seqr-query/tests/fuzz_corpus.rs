//! Replays the fuzz target's corpus (`fuzz/corpus/parse/`) and any crash artifacts
//! (`fuzz/artifacts/parse/`) through the target's own checks, so they run in `cargo test`.

mod common;

use std::path::{Path, PathBuf};

use common::{check_input, sample_events};

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
    let corpus = files(&fuzz.join("corpus/parse"));
    assert!(
        corpus.len() >= 50,
        "the seed corpus should have at least 50 inputs, has {}",
        corpus.len()
    );
    let events = sample_events();
    let mut all = corpus;
    all.extend(files(&fuzz.join("artifacts/parse")));
    for path in &all {
        let bytes = std::fs::read(path).expect("read a corpus file");
        // The fuzz target ignores what is not UTF-8 and what is over 4 KiB; so does this.
        let Ok(src) = std::str::from_utf8(&bytes) else {
            continue;
        };
        if bytes.len() > 4096 {
            continue;
        }
        let outcome = std::panic::catch_unwind(|| check_input(src, &events));
        if let Err(panic) = outcome {
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            panic!("{} failed the fuzz checks: {msg}", path.display());
        }
    }
}
