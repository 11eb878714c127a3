#!/usr/bin/env bash
# `make bench`: ingest and search benchmark of a seqr binary on this machine.
#
# Usage:  bench/run.sh            (from anywhere in the repo)
#   SEQR_BIN           seqr binary to measure (default: <repo>/target/release/seqr); not built here
#   BENCH_EVENTS       number of events (default 1000000)
#   BENCH_CONNECTIONS  concurrent keep-alive connections (default 8)
#   BENCH_BATCH        events per request (default 1000)
#   BENCH_RATE         pace the load at this many events/s (default: flat out), e.g. half
#                      the flat-out rate to read the request latency at 50% load
#   BENCH_KEEP=1       keep the storage directory under bench/out for inspection
#   BENCH_OUT          directory for the data, storage and results (default <repo>/bench/out),
#                      e.g. bench/out-10m to keep a 10M-event file beside the 1M one
#
# 1. Generates BENCH_EVENTS events with ../shared/tools/gen_events.py --seed 42
#    into bench/out/events.clef (cached: regenerated only when N or the
#    generator changes).
# 2. Builds the load driver bench/loader (std-only Rust, outside the workspace)
#    in release mode into <repo>/target/bench-loader.
# 3. Runs bench/bench.py: starts seqr on a fresh storage dir, posts the file to
#    /api/events/raw?clef, times searches, checks the event count, stops seqr
#    with SIGTERM, measures the disk, and prints the table, also written to
#    bench/out/results.txt (raw figures in bench/out/results.json).
# Needs python3, cargo and du. Exit status 1 if a request failed or the count is wrong.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(git -C "$here" rev-parse --show-toplevel)"
shared="$root/../shared"
SEQR_BIN="${SEQR_BIN:-$root/target/release/seqr}"
[[ "$SEQR_BIN" == /* ]] || SEQR_BIN="$PWD/$SEQR_BIN"  # relative to the caller's directory
n="${BENCH_EVENTS:-1000000}"
connections="${BENCH_CONNECTIONS:-8}"
batch="${BENCH_BATCH:-1000}"
out="${BENCH_OUT:-$here/out}"
[[ "$out" == /* ]] || out="$PWD/$out"

die() { echo "bench: $*" >&2; exit 1; }

[[ -x "$SEQR_BIN" ]] || die "no seqr binary at $SEQR_BIN (build it with 'cargo build --release -p seqr', or set SEQR_BIN)"
[[ -f "$shared/tools/gen_events.py" ]] || die "missing $shared/tools/gen_events.py (shared/ must sit beside the repo)"
[[ "$n" =~ ^[1-9][0-9]*$ ]] || die "BENCH_EVENTS must be a positive integer, got '$n'"
mkdir -p "$out"

# --- 1. data (cached by N and generator hash) ---
events="$out/events.clef"
stamp="n=$n seed=42 gen=$(sha256sum "$shared/tools/gen_events.py" | cut -d' ' -f1)"
if [[ -f "$events" && -f "$events.stamp" && "$(cat "$events.stamp")" == "$stamp" ]]; then
    echo "bench: reusing $events ($n events)" >&2
else
    echo "bench: generating $n events into $events ..." >&2
    rm -f "$events.stamp"
    python3 "$shared/tools/gen_events.py" "$n" --seed 42 -o "$events.tmp"
    mv "$events.tmp" "$events"
    echo "$stamp" >"$events.stamp"
fi

# --- 2. load driver ---
loader_target="$root/target/bench-loader"
echo "bench: building bench/loader (release) ..." >&2
cargo build --quiet --release --manifest-path "$here/loader/Cargo.toml" --target-dir "$loader_target"
loader="$loader_target/release/seqr-bench-loader"

# --- 3. measure ---
extra=()
[[ "${BENCH_KEEP:-0}" == 1 ]] && extra+=(--keep-storage)
[[ -n "${BENCH_RATE:-}" ]] && extra+=(--rate "$BENCH_RATE")
python3 "$here/bench.py" --seqr "$SEQR_BIN" --loader "$loader" --events "$events" --n "$n" \
    --connections "$connections" --batch "$batch" --out "$out/results.txt" "${extra[@]}"
