"""Check that the events sent by the real-client drivers are searchable in seqr.

Usage: python3 check.py <serverUrl> <runId> <client> [client ...]

Stdlib only (urllib, json). For each client it finds the events tagged
RunTag=<runId>-<client> through GET /api/events/signal?render=true (paging
with afterId until Status is Complete, polling for up to CHECK_TIMEOUT
seconds, default 8) and asserts: exactly three events; the levels exactly as
the client sent them; the rendered messages; the property values; the
exception text on the error event; a plausible timestamp. Also checks that
GET /api/events?count=N answers a bare JSON array holding the events.
Extra Seq-compatibility observations (message template tokens, trace ids,
nested values) are printed as WARN and do not fail the run.

Prints one PASS/FAIL line per client, then "N passed, N failed"; exit 1 on
any failure. Called by run.sh.
"""

import datetime as dt
import json
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

# Levels exactly as each client puts them on the wire (Seq stores them verbatim).
LEVELS = {
    "seq-logging": ("Information", "Warning", "Error"),
    "pino-seq": ("Information", "Warning", "Error"),
    "winston-seq": ("info", "warn", "error"),
    "seqlog": ("INFO", "WARNING", "ERROR"),
    "seqlog-clef": ("INFO", "WARNING", "ERROR"),
}

PAGE = 500
MAX_PAGES = 200


def get_json(url):
    req = urllib.request.Request(url, headers={"Accept": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        status = resp.status
        body = resp.read()
    try:
        return status, json.loads(body)
    except ValueError as e:
        raise AssertionError(f"GET {url}: status {status}, body is not JSON ({e}): {body[:200]!r}")


def search_all(base):
    """Every event in the store, via /api/events/signal paging."""
    events, after = [], None
    for _ in range(MAX_PAGES):
        q = {"count": PAGE, "render": "true"}
        if after:
            q["afterId"] = after
        url = f"{base}/api/events/signal?{urllib.parse.urlencode(q)}"
        _, page = get_json(url)
        if not isinstance(page, dict) or "Events" not in page or "Statistics" not in page:
            raise AssertionError(f"GET {url}: expected an object with Events and Statistics, got {str(page)[:200]}")
        events.extend(page["Events"])
        stats = page["Statistics"]
        if stats.get("Status") == "Complete" or not page["Events"]:
            return events
        after = stats.get("LastReadEventId")
        if not after:
            raise AssertionError(f"GET {url}: Status {stats.get('Status')!r} but no LastReadEventId")
    raise AssertionError(f"search did not complete within {MAX_PAGES} pages")


def props(event):
    return {p.get("Name"): p.get("Value") for p in event.get("Properties") or []}


def parse_ts(text):
    # Trim fractional seconds to 6 digits so fromisoformat (3.11) takes 7-digit Serilog stamps.
    text = re.sub(r"(\.\d{6})\d+", r"\1", text.replace("Z", "+00:00"))
    return dt.datetime.fromisoformat(text)


class Checker:
    def __init__(self, client):
        self.client = client
        self.errors = []
        self.warnings = []

    def expect(self, cond, what):
        if not cond:
            self.errors.append(what)
        return cond

    def soft(self, cond, what):
        if not cond:
            self.warnings.append(what)
        return cond


def check_client(client, tag, events):
    c = Checker(client)
    mine = [e for e in events if props(e).get("RunTag") == tag]
    if not c.expect(len(mine) == 3, f"expected 3 events with RunTag={tag}, found {len(mine)}"):
        if not mine:
            return c
    info_l, warn_l, err_l = LEVELS[client]
    by_level = {}
    for e in mine:
        by_level.setdefault(e.get("Level"), []).append(e)
    got_levels = sorted(str(e.get("Level")) for e in mine)
    c.expect(sorted(LEVELS[client]) == got_levels,
             f"levels: expected {sorted(LEVELS[client])}, got {got_levels}")

    for e in mine:
        c.expect(isinstance(e.get("Id"), str) and e["Id"], f"event without an Id: {str(e)[:120]}")
        ts = e.get("Timestamp")
        try:
            age = abs((dt.datetime.now(dt.timezone.utc) - parse_ts(ts)).total_seconds())
            c.expect(age < 600, f"timestamp {ts!r} is {age:.0f} s away from now (misparsed?)")
        except (TypeError, ValueError) as ex:
            c.expect(False, f"timestamp {ts!r} does not parse as ISO 8601: {ex}")
        toks = e.get("MessageTemplateTokens")
        c.soft(isinstance(toks, list) and toks, f"event {e.get('Id')}: no MessageTemplateTokens")

    info = (by_level.get(info_l) or [None])[0]
    if c.expect(info is not None, f"no {info_l} event"):
        p = props(info)
        c.expect(info.get("RenderedMessage") == f"Hello alice from {client}",
                 f"{info_l}: RenderedMessage {info.get('RenderedMessage')!r} != 'Hello alice from {client}'")
        c.expect(p.get("User") == "alice", f"{info_l}: User={p.get('User')!r}, expected 'alice'")
        c.expect(p.get("Client") == client, f"{info_l}: Client={p.get('Client')!r}, expected {client!r}")
        c.expect(p.get("N") == 42 and not isinstance(p.get("N"), bool),
                 f"{info_l}: N={p.get('N')!r}, expected the number 42")
        toks = info.get("MessageTemplateTokens") or []
        rebuilt = "".join(t.get("Text", t.get("RawText", "")) for t in toks)
        if toks:
            c.soft(rebuilt == "Hello {User} from {Client}",
                   f"{info_l}: MessageTemplateTokens rebuild to {rebuilt!r}")
        if client == "seq-logging":
            nested = p.get("Nested")
            c.soft(isinstance(nested, dict) and nested.get("A") == [1, 2, 3] and nested.get("B", 0) is None,
                   f"{info_l}: Nested={nested!r}, expected {{'A': [1, 2, 3], 'B': None}}")

    warn = (by_level.get(warn_l) or [None])[0]
    if c.expect(warn is not None, f"no {warn_l} event"):
        p = props(warn)
        c.expect(p.get("Pct") == 93.5, f"{warn_l}: Pct={p.get('Pct')!r}, expected 93.5")
        c.expect(warn.get("RenderedMessage") == "Disk 93.5% full",
                 f"{warn_l}: RenderedMessage {warn.get('RenderedMessage')!r} != 'Disk 93.5% full'")
        if client in ("seq-logging", "pino-seq"):
            c.soft(warn.get("TraceId") == "4bf92f3577b34da6a3ce929d0e0e4736",
                   f"{warn_l}: TraceId={warn.get('TraceId')!r}, expected the one sent")

    err = (by_level.get(err_l) or [None])[0]
    if c.expect(err is not None, f"no {err_l} event"):
        p = props(err)
        c.expect(p.get("Op") == "save", f"{err_l}: Op={p.get('Op')!r}, expected 'save'")
        c.expect(err.get("RenderedMessage") == "Operation save failed",
                 f"{err_l}: RenderedMessage {err.get('RenderedMessage')!r} != 'Operation save failed'")
        exc = err.get("Exception") or ""
        c.expect(f"Kaboom in {client}" in exc,
                 f"{err_l}: Exception {exc[:120]!r} does not contain 'Kaboom in {client}'")
        if client.startswith("seqlog"):
            c.expect("Traceback (most recent call last)" in exc, f"{err_l}: Exception is not the Python traceback")
    return c


def main():
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    base, run_id, clients = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3:]
    unknown = [c for c in clients if c not in LEVELS]
    if unknown:
        print(f"check.py: unknown client(s) {unknown}", file=sys.stderr)
        return 2
    tags = {c: f"{run_id}-{c}" for c in clients}
    timeout = float(os.environ.get("CHECK_TIMEOUT", "8"))
    started = time.monotonic()

    # Poll until every client has its three events (or the time is up), then judge.
    events = []
    while True:
        try:
            events = search_all(base)
        except (urllib.error.URLError, AssertionError, OSError) as ex:
            last_error = ex
            events = None
        else:
            last_error = None
            seen = {}
            for e in events:
                t = props(e).get("RunTag")
                seen[t] = seen.get(t, 0) + 1
            if all(seen.get(t, 0) >= 3 for t in tags.values()):
                break
        if time.monotonic() - started > timeout:
            break
        time.sleep(0.25)
    if events is None:
        print(f"FAIL search API: {last_error}")
        print(f"0 passed, {len(clients) + 1} failed")
        return 1

    passed = failed = 0
    for client in clients:
        c = check_client(client, tags[client], events)
        for w in c.warnings:
            print(f"WARN {client}: {w}")
        if c.errors:
            failed += 1
            print(f"FAIL {client} (RunTag={tags[client]}):")
            for e in c.errors:
                print(f"     - {e}")
        else:
            passed += 1
            print(f"PASS {client}: 3 events, levels {'/'.join(LEVELS[client])}, rendered, properties, exception")

    # The legacy list endpoint: a bare JSON array, newest first.
    try:
        status, arr = get_json(f"{base}/api/events?count=100&render=true")
        ok = isinstance(arr, list) and any(props(e).get("RunTag") in tags.values() for e in arr)
        msg = f"GET /api/events?count=100: status {status}, " + (
            f"array of {len(arr)}" if isinstance(arr, list) else f"not an array: {str(arr)[:120]}")
    except (urllib.error.URLError, AssertionError, OSError) as ex:
        ok, msg = False, f"GET /api/events?count=100: {ex}"
    if ok:
        passed += 1
        print(f"PASS api-events-list: {msg} holding this run's events")
    else:
        failed += 1
        print(f"FAIL api-events-list: {msg} (expected a bare array holding this run's events)")

    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
