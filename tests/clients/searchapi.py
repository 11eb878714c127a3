"""Shared by gelf.py, syslog_clients.py and otel_grpc.py: find events through seqr's search API and
report checks as PASS/FAIL lines that say what was expected and what the search returned.

Stdlib only. The polling timeout is CHECK_TIMEOUT seconds (default 15), as in run.sh.
"""

import datetime as dt
import json
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request

TIMEOUT = float(os.environ.get("CHECK_TIMEOUT", "15"))


def search(url, filter_text, api_key=None, count=100):
    """GET /api/events/signal?render=true&count=N&filter=... -> the Events list."""
    query = urllib.parse.urlencode({"filter": filter_text, "count": count, "render": "true"})
    headers = {"Accept": "application/json"}
    if api_key:
        headers["X-Seq-ApiKey"] = api_key
    req = urllib.request.Request(f"{url}/api/events/signal?{query}", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.load(r)["Events"]
    except urllib.error.HTTPError as e:
        body = e.read()[:300]
        raise SystemExit(f"search {filter_text!r}: HTTP {e.code}: {body!r}")


def poll(url, filter_text, want, api_key=None, timeout=None):
    """Searches until at least `want` events match (or the timeout passes); returns the last
    answer, oldest event first."""
    deadline = time.monotonic() + (TIMEOUT if timeout is None else timeout)
    while True:
        events = search(url, filter_text, api_key)
        if len(events) >= want or time.monotonic() >= deadline:
            return list(reversed(events))
        time.sleep(0.2)


def props(event):
    return {p.get("Name"): p.get("Value") for p in event.get("Properties") or []}


def parse_ts(text):
    text = re.sub(r"(\.\d{6})\d+", r"\1", text.replace("Z", "+00:00"))
    return dt.datetime.fromisoformat(text)


def brief(event, limit=600):
    """An event as the search returned it, shortened for a FAIL line."""
    if event is None:
        return "None"
    keep = {k: event.get(k) for k in ("Timestamp", "Level", "RenderedMessage", "Exception") if k in event}
    keep["Properties"] = props(event)
    text = json.dumps(keep, default=str)
    return text if len(text) <= limit else text[:limit] + "..."


class Checks:
    """Collects the checks of one sender: prints each failure as it happens (what was expected,
    what the search returned) and one summary line at the end (done())."""

    def __init__(self, sender):
        self.sender = sender
        self.failures = []
        self.passed = 0

    def expect(self, name, condition, expected="", got=""):
        if condition:
            self.passed += 1
        else:
            print(f"FAIL {self.sender}: {name}: expected {expected}; the search returned {got}")
            self.failures.append(f"{self.sender}: {name}")
        return condition

    def done(self):
        total = self.passed + len(self.failures)
        if self.failures:
            print(f"FAIL {self.sender}: {len(self.failures)} of {total} checks failed")
        else:
            print(f"PASS {self.sender}: {total} checks")
        return self.failures

    def equal(self, name, got, expected, event=None):
        ok = got == expected
        return self.expect(name, ok, repr(expected), repr(got) + ("" if ok or event is None else f" in {brief(event)}"))

    def recent(self, name, event, sent_at=None, slack=2.0):
        """The event's Timestamp is sent_at (epoch seconds, within slack) or, without one,
        within ten minutes of now."""
        ts = event.get("Timestamp")
        try:
            got = parse_ts(ts).timestamp()
        except (TypeError, ValueError) as e:
            return self.expect(name, False, "an ISO 8601 Timestamp", f"{ts!r} ({e})")
        if sent_at is None:
            return self.expect(name, abs(got - time.time()) < 600, "a Timestamp within 10 minutes of now", repr(ts))
        want = dt.datetime.fromtimestamp(sent_at, dt.timezone.utc).isoformat()
        return self.expect(name, abs(got - sent_at) <= slack, f"Timestamp {want} (within {slack} s)", repr(ts))
