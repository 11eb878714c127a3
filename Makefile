# seqr: the one entry point. `make run` serves; `make test` runs every test suite.
CARGO ?= cargo
ARGS ?=

.PHONY: all ui build run test deps lint deny audit test-rust test-clients test-ui screenshots test-crash-long fuzz bench bench-ui clean

all: build

## The web UI (ui/, TypeScript + Preact, built by Vite into ui/dist, which the server embeds).
ui:
	cd ui && npm ci --no-audit --no-fund --loglevel=error && npm run build

## Release build of the server binary, with the web UI inside.
build: ui
	$(CARGO) build --release -p seqr

## Build and start the server with embedded storage (./seqr-data, http://127.0.0.1:5341).
## Extra flags: make run ARGS="--listen 0.0.0.0:5341 --storage /var/lib/seqr"
run: build
	./target/release/seqr serve $(ARGS)

## Every test suite: formatting and lints, dependency licenses/bans/sources (cargo-deny), Rust
## unit and integration tests (including the crash test), and the real Seq client libraries
## driven against a running server.
test: deps ui lint deny test-rust test-clients test-ui

## System packages the test suites need (installed only when missing; needs root or sudo).
deps:
	@bash .ci/deps.sh

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

## Dependency policy (deny.toml): permissive licenses only, no wildcard versions, crates.io only.
## Works offline. cargo-deny is installed by .ci/deps.sh (`make deps`).
deny:
	$(CARGO) deny check licenses bans sources

## Known vulnerabilities (RustSec advisory database). Fetches the database from GitHub, so it
## cannot run on machines without network access; it is therefore not part of `make test`.
audit:
	@$(CARGO) deny check advisories || { \
	    status=$$?; \
	    echo "audit: cargo deny check advisories failed (exit $$status). If the messages above say the" >&2; \
	    echo "audit: advisory database could not be fetched, this machine has no access to" >&2; \
	    echo "audit: https://github.com/rustsec/advisory-db; run \`make audit\` where it has." >&2; \
	    exit $$status; }

test-rust:
	$(CARGO) test --workspace

test-clients:
	$(CARGO) build -p seqr
	SEQR_BIN=target/debug/seqr bash tests/clients/run.sh

## The web UI in headless Chromium (Debian's chromium, driven by playwright-core).
test-ui: ui
	$(CARGO) build -p seqr
	SEQR_BIN=target/debug/seqr node ui/tests/browser.mjs
	SEQR_BIN=target/debug/seqr UI_BASE_PATH=/seq UI_CHECK='^(signs in|searches|live tail shows|an API key)' node ui/tests/browser.mjs

## Refreshes docs/screenshots from the UI over generated data (the browser tests write only
## to the git-ignored ui/tests/output).
screenshots: ui
	$(CARGO) build -p seqr
	SEQR_BIN=target/debug/seqr node ui/tests/screenshots.mjs
	mkdir -p docs/screenshots
	cp ui/tests/output/screenshots/*.png docs/screenshots/

## The kill -9 crash test in its long mode (200 cycles; CRASH_CYCLES=N to change).
CRASH_CYCLES ?= 200
test-crash-long:
	SEQR_CRASH_CYCLES=$(CRASH_CYCLES) $(CARGO) test -p seqr --test it crash::kill_9_at_random_moments -- --nocapture

## Every fuzz target for FUZZ_SECONDS each (default 60), no sanitizer, on stable; needs
## `cargo install cargo-fuzz`. New inputs go to each target's corpus/, crashes to artifacts/.
FUZZ_SECONDS ?= 60
fuzz:
	cd crates/seqr-query/fuzz && $(CARGO) fuzz run -s none parse -- -max_total_time=$(FUZZ_SECONDS)
	cd crates/seqr-store/fuzz && $(CARGO) fuzz run -s none part -- -max_total_time=$(FUZZ_SECONDS) -timeout=10
	cd crates/seqr-store/fuzz && $(CARGO) fuzz run -s none wal -- -max_total_time=$(FUZZ_SECONDS) -timeout=10
	cd crates/seqr-store/fuzz && $(CARGO) fuzz run -s none row -- -max_total_time=$(FUZZ_SECONDS) -timeout=10
	cd crates/seqr-store/fuzz && $(CARGO) fuzz run -s none manifest -- -max_total_time=$(FUZZ_SECONDS) -timeout=10
	cd crates/seqr-otlp/fuzz && $(CARGO) fuzz run -s none decode -- -max_total_time=$(FUZZ_SECONDS) -timeout=10
	cd crates/seqr-gelf/fuzz && $(CARGO) fuzz run -s none decode -- -max_total_time=$(FUZZ_SECONDS) -timeout=10
	cd crates/seqr-gelf/fuzz && $(CARGO) fuzz run -s none reassemble -- -max_total_time=$(FUZZ_SECONDS) -timeout=10
	cd crates/seqr-syslog/fuzz && $(CARGO) fuzz run -s none decode -- -max_total_time=$(FUZZ_SECONDS) -timeout=10
	cd crates/seqr-syslog/fuzz && $(CARGO) fuzz run -s none frame -- -max_total_time=$(FUZZ_SECONDS) -timeout=10
	cd crates/seqr-shippers/fuzz && $(CARGO) fuzz run -s none loki -- -max_total_time=$(FUZZ_SECONDS) -timeout=10
	cd crates/seqr-shippers/fuzz && $(CARGO) fuzz run -s none bulk -- -max_total_time=$(FUZZ_SECONDS) -timeout=10

## Ingestion and search benchmark: 1M generated events over HTTP (BENCH_EVENTS=N to change),
## then the UI's time to first page.
bench: build
	SEQR_BIN=target/release/seqr bash bench/run.sh
	SEQR_BIN=target/release/seqr python3 bench/inputs.py --wait-quiet 5
	SEQR_BIN=target/release/seqr node ui/tests/first-page-bench.mjs

## The UI's time to first page alone (100,000 events in range; BENCH_UI_EVENTS=N to change).
bench-ui: build
	SEQR_BIN=target/release/seqr node ui/tests/first-page-bench.mjs

clean:
	$(CARGO) clean
	rm -rf bench/out tests/clients/node_modules tests/clients/.venv ui/node_modules ui/dist
