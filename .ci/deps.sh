#!/usr/bin/env bash
# Installs the Debian packages the test suites need, only when something is missing.
# Rust (cargo), Node.js with npm and Python 3 are expected on the machine already.
set -euo pipefail

missing=()
command -v cargo >/dev/null || { echo "deps: cargo is required (https://rustup.rs)" >&2; exit 1; }
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
command -v python3 >/dev/null || missing+=(python3)
# `python3 -m venv` needs ensurepip, which Debian ships separately.
if command -v python3 >/dev/null && ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
    missing+=(python3-venv)
fi
command -v cc >/dev/null || missing+=(build-essential)
# The UI's browser tests drive Debian's Chromium (playwright-core downloads no browser).
command -v chromium >/dev/null || missing+=(chromium)
# The real syslog senders in tests/clients: util-linux logger and rsyslogd (run there as a
# private foreground child with its own config; the test never uses the system service).
command -v logger >/dev/null || missing+=(bsdutils)
command -v rsyslogd >/dev/null || [ -x /usr/sbin/rsyslogd ] || missing+=(rsyslog)
# rsyslogd's TLS netstream driver (gtls), for syslog over TLS in tests/clients.
dpkg -s rsyslog-gnutls >/dev/null 2>&1 || missing+=(rsyslog-gnutls)
# The air-gap test (crates/seqr/tests/it/airgap.rs): strace records the server's connections
# inside a network namespace made with util-linux unshare/nsenter, iproute2 brings its loopback
# up, curl is the client.
command -v strace >/dev/null || missing+=(strace)
command -v unshare >/dev/null && command -v nsenter >/dev/null || missing+=(util-linux)
command -v ip >/dev/null || [ -x /usr/sbin/ip ] || [ -x /sbin/ip ] || missing+=(iproute2)
command -v curl >/dev/null || missing+=(curl)
# TLS tests talk to the server with `openssl s_client`.
command -v openssl >/dev/null || missing+=(openssl)
# `systemd-analyze verify` checks packaging/systemd/seqr.service (tests/it/packaging.rs). Debian
# ships it in the systemd package; verify needs no running systemd (works in containers).
command -v systemd-analyze >/dev/null || missing+=(systemd)

# cargo-deny, for `make deny` (licenses, bans, sources) and `make audit` (advisories). It has
# no optional features to trim; a --locked release build takes about 5 minutes on 2 cores, so
# it is built without LTO, with more codegen units and less optimisation: it checks a lock
# file, it need not be fast.
if ! cargo deny --version >/dev/null 2>&1; then
    echo "deps: installing cargo-deny (cargo install cargo-deny --locked)" >&2
    CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=256 \
        CARGO_PROFILE_RELEASE_OPT_LEVEL=1 CARGO_PROFILE_RELEASE_DEBUG=false \
        cargo install cargo-deny --locked
fi

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
echo "deps: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
