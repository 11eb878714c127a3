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

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
echo "deps: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
