#!/usr/bin/env bash
# Real-client compatibility test: drives the real Seq client libraries
# (npm seq-logging, pino-seq, @datalust/winston-seq; PyPI seqlog in legacy-JSON
# and CLEF modes) and the OpenTelemetry Python SDK and JS exporters (otel.py,
# otel.mjs: OTLP/HTTP logs and traces; otel_grpc.py: OTLP/gRPC) against a freshly started
# seqr, then checks through the search API that every event arrived as sent (check.py).
# The same seqr listens for GELF and syslog: gelf.py drives pygelf and graypy (UDP, chunked
# UDP, TCP, HTTP), syslog_clients.py drives Python's SysLogHandler (UDP, TCP), util-linux
# logger --rfc5424 (UDP, TCP) and rsyslogd forwarding a file over TCP. Then starts a second
# seqr that requires API keys and drives seq-logging with and without one (keys.mjs), and
# the OTLP/gRPC exporter with the key as gRPC metadata (apikey.mjs makes the key). A third seqr
# serves HTTPS with a self-signed certificate: the Node and Python clients and the OTel exporters
# (HTTP and gRPC) and rsyslogd (syslog over TLS, gtls) ingest over TLS trusting its CA, and
# check.py reads back over HTTPS. Also checks
# the five reference queries over HTTP against an independent computation
# (reference_queries.py, needs ../shared/tools/gen_events.py beside the repo).
#
# Usage:  tests/clients/run.sh            (from anywhere in the repo)
#   SEQR_BIN       seqr binary to test (default: <repo>/target/debug/seqr); not built here
#   CHECK_TIMEOUT  seconds to poll the search API for the events (default 8 for check.py,
#                  15 for gelf.py, syslog_clients.py and otel_grpc.py)
#
# Installs its dependencies on first use, and again only when the pinned
# versions change: `npm ci` into tests/clients/node_modules (package-lock.json)
# and a venv at tests/clients/.venv (requirements.txt). Needs node >= 18 with
# npm, and python3 with venv support (Debian: apt-get install python3-venv), util-linux
# logger (bsdutils) and rsyslogd (rsyslog, with rsyslog-gnutls for TLS); `make deps` installs
# them.
# Works offline once installed. Exit status 0 only if every check passed.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(git -C "$here" rev-parse --show-toplevel)"
SEQR_BIN="${SEQR_BIN:-$root/target/debug/seqr}"
[[ "$SEQR_BIN" == /* ]] || SEQR_BIN="$PWD/$SEQR_BIN"  # relative to the caller's directory

die() { echo "tests/clients: $*" >&2; exit 1; }

[[ -x "$SEQR_BIN" ]] || die "no seqr binary at $SEQR_BIN (build it with 'cargo build -p seqr', or set SEQR_BIN)"
command -v node >/dev/null || die "node is not installed (Node >= 18 needed for global fetch)"
command -v npm >/dev/null || die "npm is not installed"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
(( node_major >= 18 )) || die "node $(node --version) is too old: the clients need Node >= 18 (global fetch)"
command -v python3 >/dev/null || die "python3 is not installed"
command -v logger >/dev/null || die "util-linux logger is not installed (Debian: apt-get install bsdutils; make deps)"
command -v rsyslogd >/dev/null || [[ -x /usr/sbin/rsyslogd ]] \
    || die "rsyslogd is not installed (Debian: apt-get install rsyslog; make deps)"

hash_of() { sha256sum "$1" | cut -d' ' -f1; }

# --- dependencies (idempotent; a stamp file records what was installed) ---
node_stamp="$here/node_modules/.seqr-installed"
if [[ ! -f "$node_stamp" || "$(cat "$node_stamp")" != "$(hash_of "$here/package-lock.json")" ]]; then
    echo "tests/clients: npm ci" >&2
    (cd "$here" && npm ci --no-audit --no-fund --loglevel=error) >&2
    hash_of "$here/package-lock.json" >"$node_stamp"
fi

venv="$here/.venv"
py_stamp="$venv/.seqr-installed"
if [[ ! -f "$py_stamp" || "$(cat "$py_stamp")" != "$(hash_of "$here/requirements.txt")" ]]; then
    if [[ ! -x "$venv/bin/python" ]]; then
        echo "tests/clients: creating $venv" >&2
        python3 -m venv "$venv" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
    fi
    echo "tests/clients: pip install -r requirements.txt" >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt" >&2
    hash_of "$here/requirements.txt" >"$py_stamp"
fi

# --- start seqr on an ephemeral port with a throwaway storage dir ---
tmp="$(mktemp -d "${TMPDIR:-/tmp}/seqr-clients.XXXXXX")"
pids=()
logs=()
cleanup() {
    local status=$?
    for pid in "${pids[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -KILL "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    if [[ $status -ne 0 ]]; then
        for log in "${logs[@]}"; do
            [[ -s "$log" ]] || continue
            echo "--- last lines of $(basename "$log") ---" >&2
            tail -n 30 "$log" >&2
        done
    fi
    rm -rf "$tmp"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start_seqr NAME [serve flags...]: starts a server logging to $tmp/NAME.log, sets $url, and
# for each `Accepting INPUT on HOST:PORT` line it printed (before `Listening on`) sets
# input_port[INPUT] (gelf-udp, gelf-tcp, syslog-udp, syslog-tcp).
declare -A input_port
start_seqr() {
    local name="$1"; shift
    local log="$tmp/$name.log"
    logs+=("$log")
    "$SEQR_BIN" serve --listen 127.0.0.1:0 --storage "$tmp/$name-data" "$@" >"$log" 2>&1 &
    local pid=$!
    pids+=("$pid")
    url=""
    for _ in $(seq 100); do
        url="$(sed -n 's/.*Listening on \(http:\/\/[^ ]*\).*/\1/p' "$log" | head -n 1)"
        [[ -n "$url" ]] && break
        kill -0 "$pid" 2>/dev/null || die "seqr ($name) exited before listening"
        sleep 0.1
    done
    [[ -n "$url" ]] || die "seqr ($name) printed no 'Listening on http://...' line within 10 s"
    input_port=()
    local input port
    while read -r input port; do
        input_port[$input]="$port"
    done < <(sed -n 's/^Accepting \([a-z-]*\) on .*:\([0-9]*\)$/\1 \2/p' "$log")
    echo "tests/clients: seqr ($name) $SEQR_BIN listening on $url" >&2
}

# Authentication is off: this part checks what the clients send and how it reads back.
start_seqr open --no-authentication \
    --gelf-udp 127.0.0.1:0 --gelf-tcp 127.0.0.1:0 --syslog-udp 127.0.0.1:0 --syslog-tcp 127.0.0.1:0
for input in gelf-udp gelf-tcp syslog-udp syslog-tcp; do
    [[ -n "${input_port[$input]:-}" ]] || die "seqr (open) printed no 'Accepting $input on HOST:PORT' line"
done

# --- drive the real clients ---
run_id="run$(date +%s)-$$"
node_clients=(seq-logging pino-seq winston-seq)
py_clients=(seqlog seqlog-clef)

# Bounded: a server that never answers would otherwise keep seq-logging retrying for minutes.
(cd "$here" && timeout 60 node drive.mjs "$url" "$run_id" "${node_clients[@]}") \
    || die "the Node drivers failed or timed out (see the shipping errors above)"
for c in "${py_clients[@]}"; do
    timeout 30 "$venv/bin/python" "$here/drive.py" "$c" "$url" "$run_id" || die "the $c driver failed or timed out"
done

# --- OpenTelemetry SDK exporters (OTLP/HTTP protobuf, JSON, gzip; logs and traces) ---
timeout 60 "$venv/bin/python" "$here/otel.py" "$url" "$run_id" \
    || die "the OpenTelemetry Python checks failed (see FAIL lines above)"
(cd "$here" && timeout 60 node otel.mjs "$url" "$run_id") \
    || die "the OpenTelemetry JS checks failed (see FAIL lines above)"
# OTLP/gRPC (h2c on the HTTP port), plain and gzip.
timeout 60 "$venv/bin/python" "$here/otel_grpc.py" "$url" "$run_id" \
    || die "the OpenTelemetry gRPC checks failed (see FAIL lines above)"

# --- GELF (pygelf, graypy) and syslog (SysLogHandler, logger, rsyslogd) senders ---
timeout 120 "$venv/bin/python" "$here/gelf.py" \
    "$url" "${input_port[gelf-udp]}" "${input_port[gelf-tcp]}" "$run_id" \
    || die "the GELF checks failed (see FAIL lines above)"
timeout 120 "$venv/bin/python" "$here/syslog_clients.py" \
    "$url" "${input_port[syslog-udp]}" "${input_port[syslog-tcp]}" "$run_id" \
    || die "the syslog checks failed (see FAIL lines above)"

# --- find the events through the search API and check them ---
python3 "$here/check.py" "$url" "$run_id" "${node_clients[@]}" "${py_clients[@]}" \
    || die "some client checks failed (see FAIL lines above)"

# --- HTTPS: the same real clients over TLS (HTTP/1.1, and HTTP/2 for gRPC), given the
# self-signed CA the standard way for each: NODE_EXTRA_CA_CERTS (seq-logging, pino-seq,
# winston-seq, the OTel JS exporters), REQUESTS_CA_BUNDLE (seqlog), OTEL_EXPORTER_OTLP_CERTIFICATE
# (OTel Python exporters), SSL_CERT_FILE (the checks' own urllib searches). ---
start_seqr tls --no-authentication --listen https://127.0.0.1:0 --tls-self-signed \
    --syslog-tls 127.0.0.1:0
https_url="$(sed -n 's/.*Listening on \(https:\/\/[^ ]*\).*/\1/p' "$tmp/tls.log" | head -n 1)"
[[ -n "$https_url" ]] || die "seqr (tls) printed no 'Listening on https://...' line"
grep -q "SELF-SIGNED" "$tmp/tls.log" || die "seqr (tls) did not warn about its self-signed certificate"
ca="$tmp/tls-data/tls/self-signed-ca.pem"
[[ -s "$ca" ]] || die "seqr (tls) wrote no CA file at $ca"
tls_run="$run_id-tls"
export NODE_EXTRA_CA_CERTS="$ca" REQUESTS_CA_BUNDLE="$ca" OTEL_EXPORTER_OTLP_CERTIFICATE="$ca" SSL_CERT_FILE="$ca"
(cd "$here" && timeout 60 node drive.mjs "$https_url" "$tls_run" "${node_clients[@]}") \
    || die "the Node drivers failed over HTTPS"
timeout 30 "$venv/bin/python" "$here/drive.py" seqlog "$https_url" "$tls_run" \
    || die "the seqlog driver failed over HTTPS"
timeout 60 "$venv/bin/python" "$here/otel.py" "$https_url" "$tls_run" \
    || die "the OpenTelemetry Python checks failed over HTTPS (see FAIL lines above)"
(cd "$here" && timeout 60 node otel.mjs "$https_url" "$tls_run") \
    || die "the OpenTelemetry JS checks failed over HTTPS (see FAIL lines above)"
timeout 60 "$venv/bin/python" "$here/otel_grpc.py" "$https_url" "$tls_run" \
    || die "the OpenTelemetry gRPC checks failed over TLS (see FAIL lines above)"
python3 "$here/check.py" "$https_url" "$tls_run" "${node_clients[@]}" seqlog \
    || die "some client checks failed over HTTPS (see FAIL lines above)"
# Syslog over TLS (RFC 5425): rsyslogd's gtls driver checks the certificate against the CA.
[[ -n "${input_port[syslog-tls]:-}" ]] || die "seqr (tls) printed no 'Accepting syslog-tls on HOST:PORT' line"
timeout 120 "$venv/bin/python" "$here/syslog_clients.py" --rsyslog-tls \
    "$https_url" "${input_port[syslog-tls]}" "$ca" "$tls_run" \
    || die "the syslog-over-TLS check failed (see FAIL lines above)"
unset NODE_EXTRA_CA_CERTS REQUESTS_CA_BUNDLE OTEL_EXPORTER_OTLP_CERTIFICATE SSL_CERT_FILE

# --- reference queries q1-q5 (shared/design/performance.md) against an independent count ---
# A server of its own, so its store holds exactly the generated events.
start_seqr refq --no-authentication
timeout 60 python3 "$here/reference_queries.py" "$url" \
    || die "the reference queries disagree with the independent computation (see FAIL lines above)"

# --- API keys: authentication on, keys required on loopback too (first-run setting) ---
admin_password="client-test-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
SEQR_FIRSTRUN_ADMINPASSWORD="$admin_password" start_seqr keys --first-run-require-api-key true
(cd "$here" && timeout 60 node keys.mjs "$url" "$admin_password" "$run_id") \
    || die "the API key checks with seq-logging failed (see FAIL lines above)"
# Legacy filters (Equal(testMarker, @"..."), Has, ==/&&) read back with a Read key, as
# seq-logging's own integration test does.
(cd "$here" && timeout 60 node legacy_filters.mjs "$url" "$admin_password" "$run_id") \
    || die "the legacy filter checks with seq-logging failed (see FAIL lines above)"
# OTLP/gRPC with the key as metadata (X-Seq-ApiKey); refused without it.
grpc_key="$(cd "$here" && timeout 30 node apikey.mjs "$url" "$admin_password" "otel-grpc $run_id" Ingest Read)" \
    || die "could not create an API key for the OTLP/gRPC checks"
timeout 60 "$venv/bin/python" "$here/otel_grpc.py" "$url" "$run_id" "$grpc_key" \
    || die "the OpenTelemetry gRPC checks with an API key failed (see FAIL lines above)"
echo "tests/clients: all real-client checks passed" >&2
