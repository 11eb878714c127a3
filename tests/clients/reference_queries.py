"""The five reference queries (shared/design/performance.md) over HTTP, checked against an
independent computation in Python over the same events.

Usage: python3 reference_queries.py <serverUrl> [--api-key KEY] [--events N] [--seed S]
                                    [--gap-ms MS] [--gen PATH]

Stdlib only. Expects a seqr whose store is empty (run.sh starts a fresh one for it):
1. generates N events (default 20,000, seed 42) with shared/tools/gen_events.py into a
   temporary file; --gap-ms (default 600) spreads them over a few hours so q5 has several
   time slices. Written as Serilog writes CLEF: Information events carry no @l (seqr must
   read them as Information), and every other traced event has its ids as @tr/@sp rather
   than TraceId/SpanId properties;
2. ingests them through POST api/events/raw?clef in batches, each answered 201;
3. runs q1-q5 through GET api/data?q=... and q1-q4 as filters of GET api/events/signal (paging
   with afterId until Status is Complete), and compares every answer with the same question
   answered here from the NDJSON: nothing of seqr is reused, and the rules seqr documents
   (docs/QUERY.md, message template rendering) are implemented again below.

Prints one PASS/FAIL line per comparison (with a diff on mismatch) and exits 1 on any
failure. Called by run.sh.
"""

import argparse
import collections
import datetime as dt
import decimal
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_GEN = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "tools", "gen_events.py"))
START = "2026-01-01T00:00:00Z"
BATCH = 1000
PAGE = 1000
MAX_PAGES = 1000


# --------------------------------------------------------------------------------------------
# JSON with numbers kept as their exact text, as seqr keeps them (its message rendering writes
# a number's JSON text, and group keys come back as JSON numbers).


class Num(str):
    """A JSON number, held as the text it was written with."""


def load_event(line):
    return json.loads(line, parse_int=Num, parse_float=Num)


def to_json(v):
    """Compact JSON of a value parsed by load_event (members in the order sent)."""
    if isinstance(v, Num):
        return str(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "null"
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ",".join(to_json(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + to_json(x) for k, x in v.items()) + "}"
    raise TypeError(type(v))


# --------------------------------------------------------------------------------------------
# @Message: the rendered message template, by the rule seqr documents for itself (Seq's
# rendering), written here from the rule, not from seqr's code:
#
# - `{{` and `}}` are literal braces. A hole runs from `{` to the first `}`; its content is
#   `[@|$]Name[,alignment][:format]` where Name is an identifier (letter or `_`, then letters,
#   digits, `_`), dotted identifiers, or all digits, and alignment a non-zero integer without
#   `+`. Anything else between the braces is literal text (braces included).
# - A dotted name is a path into nested objects, falling back to a flat key holding the dots.
# - A missing property renders as the hole's raw text (`{Missing:F2}`).
# - When the event carries `@r` and its length equals the number of holes with a format, the
#   formatted holes take the `@r` entries in order (a missing property still uses one up).
# - Otherwise strings are written unquoted, true/false as `True`/`False`, null as `null`,
#   objects and arrays as compact JSON, and numbers as their JSON text, except that a .NET
#   numeric format is applied to a number: `F`/`N` (fixed, N grouped with `,`, default 2
#   digits), `D` (integers, zero-padded), and custom patterns of `0`, `#`, `,` and one `.`
#   (`0.0000`, `#,##0`), rounding half away from zero in decimal arithmetic. `C` (currency) and
#   `R` are IGNORED: the number is written as-is (`{Total:C}` renders `123.45`, not `$123.45`).
#   A format on a non-number is ignored. Formats the generated data does not use are refused
#   loudly below rather than guessed.
# - Alignment pads with spaces to the width (right-aligned when positive).

def parse_template(t):
    tokens, i, text = [], 0, []
    while i < len(t):
        c = t[i]
        if c == "{" and t.startswith("{{", i):
            text.append("{")
            i += 2
        elif c == "{":
            end = t.find("}", i + 1)
            if end < 0:
                text.append(t[i:])
                break
            raw = t[i:end + 1]
            hole = parse_hole(raw)
            if hole is None:
                text.append(raw)
            else:
                if text:
                    tokens.append("".join(text))
                    text = []
                tokens.append(hole)
            i = end + 1
        elif c == "}":
            text.append("}")
            i += 2 if t.startswith("}}", i) else 1
        else:
            text.append(c)
            i += 1
    if text:
        tokens.append("".join(text))
    return tokens


def valid_name(name):
    if not name:
        return False
    if name.isdigit() and name.isascii():
        return True
    for seg in name.split("."):
        if not seg or not (seg[0] == "_" or seg[0].isalpha()):
            return False
        if not all(ch == "_" or ch.isalnum() for ch in seg[1:]):
            return False
    return True


def parse_hole(raw):
    content = raw[1:-1]
    if not content:
        return None
    a, f = content.find(","), content.find(":")
    alignment = fmt = None
    name = content
    if f >= 0 and (a < 0 or a > f):
        name, fmt = content[:f], content[f + 1:]
    elif a >= 0:
        name = content[:a]
        rest = content[a + 1:]
        if f >= 0:
            alignment, fmt = content[a + 1:f], content[f + 1:]
        else:
            alignment = rest
        if alignment == "":
            return None
    if name[:1] in ("@", "$"):
        name = name[1:]
    if not valid_name(name):
        return None
    if alignment is not None:
        digits = alignment[1:] if alignment.startswith("-") else alignment
        if not digits or not (digits.isdigit() and digits.isascii()) or int(alignment) == 0:
            return None
        alignment = int(alignment)
    return {"raw": raw, "name": name, "alignment": alignment, "format": fmt or None}


def lookup(props, name):
    if "." in name:
        cur = props
        for seg in name.split("."):
            cur = cur.get(seg, KeyError) if isinstance(cur, dict) else KeyError
            if cur is KeyError:
                break
        if cur is not KeyError:
            return cur
    return props.get(name, KeyError)


class UnknownFormat(Exception):
    pass


def half_away(d, places):
    q = decimal.Decimal(1).scaleb(-places)
    return d.quantize(q, rounding=decimal.ROUND_HALF_UP)  # ROUND_HALF_UP is away from zero


def grouped(int_text):
    out = []
    for i, ch in enumerate(int_text):
        if i and (len(int_text) - i) % 3 == 0:
            out.append(",")
        out.append(ch)
    return "".join(out)


def fixed_text(d, places, group):
    r = half_away(d, places)
    sign = "-" if r < 0 else ""
    text = format(abs(r), "f")
    int_part, _, frac = text.partition(".")
    if group:
        int_part = grouped(int_part)
    return sign + int_part + ("." + frac if places else "")


def format_number(text, fmt):
    """The number's text with a .NET format applied (the subset described above)."""
    with decimal.localcontext() as ctx:
        ctx.prec = 200
        d = decimal.Decimal(text)
        letter, rest = fmt[0], fmt[1:]
        if letter.isalpha() and (rest == "" or rest.isdigit()):
            precision = int(rest) if rest else None
            up = letter.upper()
            if up in ("C", "R"):
                return text
            if up == "F":
                return fixed_text(d, 2 if precision is None else precision, False)
            if up == "N":
                return fixed_text(d, 2 if precision is None else precision, True)
            if up == "D" and d == d.to_integral_value():
                digits = str(abs(int(d)))
                return ("-" if d < 0 else "") + digits.zfill(precision or 0)
            raise UnknownFormat(fmt)
        if set(fmt) <= set("0#.,") and any(ch in "0#" for ch in fmt) and fmt.count(".") <= 1:
            int_pat, _, frac_pat = fmt.partition(".")
            if int_pat.endswith(",") or "," in frac_pat:
                raise UnknownFormat(fmt)
            places = [ch for ch in int_pat if ch != ","]
            min_int = len(places) - places.index("0") if "0" in places else 0
            max_frac = len(frac_pat)
            min_frac = frac_pat.rfind("0") + 1
            r = half_away(d, max_frac)
            sign = "-" if r < 0 else ""
            int_part, _, frac = format(abs(r), "f").partition(".")
            int_part = ("" if int_part == "0" else int_part).zfill(min_int)
            if "," in int_pat:
                int_part = grouped(int_part)
            frac = frac.ljust(max_frac, "0")
            while len(frac) > min_frac and frac.endswith("0"):
                frac = frac[:-1]
            if sign and not int_part.strip("0") and not frac.strip("0"):
                sign = ""
            return sign + int_part + ("." + frac if frac else "")
        raise UnknownFormat(fmt)


def render_value(v, hole):
    if isinstance(v, Num):
        return format_number(str(v), hole["format"]) if hole["format"] else str(v)
    if isinstance(v, bool):
        return "True" if v else "False"
    if v is None:
        return "null"
    if isinstance(v, str):
        return v
    return to_json(v)


def render(event):
    if "@mt" not in event:
        return event.get("@m", "")
    props = {k: v for k, v in event.items() if not k.startswith("@")}
    tokens = parse_template(event["@mt"])
    formatted = sum(1 for t in tokens if isinstance(t, dict) and t["format"])
    r = event.get("@r")
    renderings = list(r) if isinstance(r, list) and r and len(r) == formatted else []
    out = []
    for t in tokens:
        if isinstance(t, str):
            out.append(t)
            continue
        rendering = renderings.pop(0) if t["format"] and renderings else None
        v = lookup(props, t["name"])
        if v is KeyError:
            out.append(t["raw"])
            continue
        s = rendering if rendering is not None else render_value(v, t)
        a = t["alignment"]
        if a and len(s) < abs(a):
            s = s.rjust(abs(a)) if a > 0 else s.ljust(abs(a))
        out.append(s)
    return "".join(out)


def self_test_rendering():
    """A few fixed cases of the rule above, so a slip here is not mistaken for a seqr bug."""
    ev = load_event('{"@mt":"x","A":12.34565,"B":"s","T":123.4,"N":1234567,"O":{"k":[1,null]},'
                    '"D":{"E":true},"F":-0.00004}')
    props = {k: v for k, v in ev.items() if not k.startswith("@")}
    cases = [
        ("{A:0.0000}", "12.3457"), ("{T:C}", "123.4"), ("{N:N0}", "1,234,567"),
        ("{T:F2}", "123.40"), ("{N:D9}", "001234567"), ("{B:0.00}", "s"), ("{O}", '{"k":[1,null]}'),
        ("{D.E}", "True"), ("{Nope:C}", "{Nope:C}"), ("[{B,3}|{B,-3}]", "[  s|s  ]"),
        ("{{x}} {B}", "{x} s"), ("{ B}", "{ B}"), ("{F:0.00}", "0.00"), ("{N:#,##0.#}", "1,234,567"),
    ]
    for template, want in cases:
        got = render(dict(props, **{"@mt": template}))
        assert got == want, f"self-test: {template!r} rendered {got!r}, want {want!r}"
    with_r = dict(props, **{"@mt": "{A:0.0} {B} {T:C}", "@r": ["one", "two"]})
    assert render(with_r) == "one s two", render(with_r)
    assert render(dict(with_r, **{"@r": ["one"]})) == "12.3 s 123.4"


# --------------------------------------------------------------------------------------------
# The independent answers.

def level(e):
    return e.get("@l", "Information")


def ticks_hour(ts):
    d = dt.datetime.fromisoformat(ts.replace("Z", "+00:00")).astimezone(dt.timezone.utc)
    return d.replace(minute=0, second=0, microsecond=0)


def needle(values):
    """A string value that occurs exactly once (the middle one of those, for determinism)."""
    once = [v for v, n in collections.Counter(v for v in values if isinstance(v, str)).items() if n == 1]
    return once[len(once) // 2]


def expected(events, trace_id, builtin_trace_id):
    q1 = sum(1 for e in events if level(e) in ("Error", "Fatal"))
    q2 = collections.Counter(
        str(e.get("StatusCode")) if "StatusCode" in e else "null"
        for e in events
        if isinstance(e.get("RequestPath"), str) and not isinstance(e.get("RequestPath"), Num)
        and e["RequestPath"].startswith("/api/orders")
    )
    messages = [render(e) for e in events]
    q3 = 0
    for e, msg in zip(events, messages):
        x = e.get("@x")
        if "timeout" in msg.lower() or (isinstance(x, str) and "timeout" in x.lower()):
            q3 += 1
    q4_prop = sum(1 for e in events if e.get("TraceId") == trace_id)
    q4_builtin = sum(1 for e in events if e.get("@tr") == builtin_trace_id)
    q5 = collections.Counter((ticks_hour(e["@t"]), level(e)) for e in events)
    # Rendering probes: `{Elapsed:0.0000}` pads to four decimals, so many request messages end
    # in "0 ms" only when the format is applied; `{Total:C}` shows no currency symbol.
    padded = sum(1 for m in messages if m.endswith("0 ms"))
    currency = sum(1 for m in messages if " for $" in m or " for A$" in m)
    return {"q1": q1, "q2": q2, "q3": q3, "q4": q4_prop, "q4b": q4_builtin, "q5": q5,
            "padded": padded, "currency": currency}


# --------------------------------------------------------------------------------------------
# HTTP.

class Client:
    def __init__(self, base, api_key):
        self.base = base.rstrip("/")
        self.headers = {"X-Seq-ApiKey": api_key} if api_key else {}

    def request(self, method, path, body=None, content_type=None, want=200):
        headers = dict(self.headers, Accept="application/json")
        if content_type:
            headers["Content-Type"] = content_type
        req = urllib.request.Request(self.base + "/" + path, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                status, data = resp.status, resp.read()
        except urllib.error.HTTPError as e:
            status, data = e.code, e.read()
        if status != want:
            raise AssertionError(f"{method} {path[:200]}: status {status} (want {want}): {data[:500]!r}")
        return json.loads(data) if data else None

    def get(self, path, **params):
        return self.request("GET", path + "?" + urllib.parse.urlencode(params))


def ingest(client, lines):
    for i in range(0, len(lines), BATCH):
        body = ("\n".join(lines[i:i + BATCH]) + "\n").encode("utf-8")
        client.request("POST", "api/events/raw?clef", body, "application/vnd.serilog.clef", want=201)


def search_count(client, flt):
    """Events matching `flt` through api/events/signal, paging with afterId to Complete."""
    seen, after, pages = set(), None, 0
    while True:
        pages += 1
        if pages > MAX_PAGES:
            raise AssertionError(f"filter {flt!r}: no Complete status after {MAX_PAGES} pages")
        params = {"filter": flt, "count": PAGE}
        if after:
            params["afterId"] = after
        page = client.get("api/events/signal", **params)
        for e in page["Events"]:
            if e["Id"] in seen:
                raise AssertionError(f"filter {flt!r}: event {e['Id']} returned twice while paging")
            seen.add(e["Id"])
        stats = page.get("Statistics", {})
        status = stats.get("Status")
        if status == "Complete":
            return len(seen), pages
        after = stats.get("LastReadEventId") or (page["Events"][-1]["Id"] if page["Events"] else None)
        if not after:
            raise AssertionError(f"filter {flt!r}: status {status!r} with nothing to continue after")


def iso(d):
    return d.strftime("%Y-%m-%dT%H:%M:%S.0000000Z")


def data_query(client, q, start, end):
    return client.get("api/data", q=q, rangeStartUtc=iso(start), rangeEndUtc=iso(end))


def key_text(v):
    """A value from api/data in the form expected() uses for group keys."""
    return "null" if v is None else (json.dumps(v) if not isinstance(v, str) else v)


def single_count(result, q):
    rows = result.get("Rows")
    if not isinstance(rows, list) or len(rows) != 1 or len(rows[0]) != 1:
        raise AssertionError(f"{q}: expected one row of one column, got {json.dumps(result)[:500]}")
    return rows[0][0]


def q5_counts(result, q):
    """{(hour, level): count} from a Series answer ([{Key:[level], Slices:[{Time, Rows}]}])."""
    got = collections.Counter()
    series = result.get("Series")
    if not isinstance(series, list):
        raise AssertionError(f"{q}: expected Series, got {json.dumps(result)[:500]}")
    for s in series:
        key = s["Key"]
        if len(key) != 1:
            raise AssertionError(f"{q}: series key {key!r} should hold one value (the level)")
        for sl in s["Slices"]:
            hour = dt.datetime.fromisoformat(sl["Time"][:19]).replace(tzinfo=dt.timezone.utc)
            for row in sl["Rows"]:  # every column, keys first: [level, count]
                if row[0] != key[0]:
                    raise AssertionError(f"{q}: row {row!r} in series {key!r} does not start with its key")
                got[(hour, key[0])] += row[-1]
    return got


# --------------------------------------------------------------------------------------------

def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("url")
    p.add_argument("--api-key")
    p.add_argument("--events", type=int, default=20000)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--gap-ms", type=float, default=600.0)
    p.add_argument("--gen", default=os.environ.get("GEN_EVENTS", DEFAULT_GEN))
    a = p.parse_args()

    self_test_rendering()
    if not os.path.isfile(a.gen):
        print(f"FAIL setup: no event generator at {a.gen} (shared/ must sit beside the repo, or set GEN_EVENTS)")
        return 1

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="seqr-refq-") as tmp:
        path = os.path.join(tmp, "events.clef")
        # --omit-info-level: Information events without @l, as Serilog writes them.
        subprocess.run([sys.executable, a.gen, str(a.events), "--seed", str(a.seed), "--start", START,
                        "--gap-ms", str(a.gap_ms), "--omit-info-level", "-o", path], check=True)
        with open(path, encoding="utf-8") as f:
            lines = [line for line in f.read().split("\n") if line]
    events = [load_event(line) for line in lines]
    # As Serilog's CLEF formatter writes them, every other traced event carries its ids as
    # @tr/@sp instead of properties, so @TraceId has a needle too (and TraceId must not see it).
    for i, e in enumerate(events):
        if i % 2 and "TraceId" in e:
            e["@tr"] = e.pop("TraceId")
            if "SpanId" in e:
                e["@sp"] = e.pop("SpanId")
            lines[i] = to_json(e)
    trace_id = needle([e.get("TraceId") for e in events])
    builtin_trace_id = needle([e.get("@tr") for e in events])
    exp = expected(events, trace_id, builtin_trace_id)

    client = Client(a.url, a.api_key)
    t0 = time.monotonic()
    ingest(client, lines)
    ingest_s = time.monotonic() - t0

    first = min(ticks_hour(e["@t"]) for e in events)
    last = max(ticks_hour(e["@t"]) for e in events)
    start, end = first, last + dt.timedelta(hours=1)

    q1 = "select count(*) from stream where @Level in ['Error', 'Fatal']"
    q2 = "select count(*) from stream where StartsWith(RequestPath, '/api/orders') group by StatusCode"
    q3 = "select count(*) from stream where @Message like '%timeout%' ci or @Exception like '%timeout%' ci"
    q4 = f"select count(*) from stream where TraceId = '{trace_id}'"
    q4b = f"select count(*) from stream where @TraceId = '{builtin_trace_id}'"
    q5 = "select count(*) from stream group by time(1h), @Level"

    failed = 0

    def check(name, ok, detail):
        nonlocal failed
        print(f"{'PASS' if ok else 'FAIL'} {name}: {detail}")
        if not ok:
            failed += 1

    def attempt(name, fn):
        try:
            fn()
        except (AssertionError, KeyError, TypeError, ValueError, urllib.error.URLError) as e:
            check(name, False, f"{type(e).__name__}: {e}")

    total = {}

    def run_total():
        r = data_query(client, "select count(*) from stream", start, end)
        total["n"] = single_count(r, "count(*)")
        check("ingested", total["n"] == len(events), f"api/data count(*) {total['n']}, sent {len(events)}")

    def run_scalar(name, q, want):
        def go():
            got = single_count(data_query(client, q, start, end), q)
            check(f"{name} api/data", got == want, f"seqr {got}, independent {want}  [{q}]")
        return go

    def run_q2():
        r = data_query(client, q2, start, end)
        cols = r.get("Columns")
        if cols != ["StatusCode", "count(*)"]:
            raise AssertionError(f"q2: columns {cols!r}, want ['StatusCode', 'count(*)'] (group keys first)")
        got = collections.Counter()
        for row in r["Rows"]:
            got[key_text(row[0])] += row[1]
        want = exp["q2"]
        diff = sorted(set(got) | set(want), key=lambda k: (len(k), k))
        lines_ = [f"    StatusCode {k}: seqr {got.get(k, 0)}, independent {want.get(k, 0)}"
                  for k in diff if got.get(k, 0) != want.get(k, 0)]
        check("q2 api/data", not lines_,
              f"{len(want)} groups, {sum(want.values())} events" if not lines_ else "groups differ\n" + "\n".join(lines_))

    def run_q5():
        got = q5_counts(data_query(client, q5, start, end), q5)
        want = exp["q5"]
        keys = sorted(set(got) | set(want))
        lines_ = [f"    {iso(h)} {lv}: seqr {got.get((h, lv), 0)}, independent {want.get((h, lv), 0)}"
                  for h, lv in keys if got.get((h, lv), 0) != want.get((h, lv), 0)]
        hours = len({h for h, _ in want})
        check("q5 api/data", not lines_,
              f"{len(want)} (hour, level) cells over {hours} hours, {sum(want.values())} events"
              if not lines_ else "cells differ\n" + "\n".join(lines_))

    def run_search(name, flt, want):
        def go():
            got, pages = search_count(client, flt)
            check(f"{name} api/events/signal", got == want, f"seqr {got} in {pages} page(s), independent {want}  [{flt}]")
        return go

    t0 = time.monotonic()
    attempt("ingested", run_total)
    attempt("q1 api/data", run_scalar("q1", q1, exp["q1"]))
    attempt("q2 api/data", run_q2)
    attempt("q3 api/data", run_scalar("q3", q3, exp["q3"]))
    attempt("q4 api/data", run_scalar("q4", q4, exp["q4"]))
    attempt("q4 (@TraceId) api/data", run_scalar("q4 (@TraceId)", q4b, exp["q4b"]))
    attempt("q5 api/data", run_q5)
    attempt("q3 rendering probe (format 0.0000)",
            run_scalar("q3 rendering probe (format 0.0000)",
                       "select count(*) from stream where @Message like '%0 ms'", exp["padded"]))
    attempt("q3 rendering probe (format C)",
            run_scalar("q3 rendering probe (format C)",
                       "select count(*) from stream where @Message like '% for $%' or @Message like '% for A$%'",
                       exp["currency"]))
    for name, q, want in (("q1", q1, exp["q1"]), ("q2", q2, sum(exp["q2"].values())), ("q3", q3, exp["q3"]),
                          ("q4", q4, exp["q4"]), ("q4 (@TraceId)", q4b, exp["q4b"])):
        flt = q.split(" where ", 1)[1].split(" group by ")[0]
        attempt(f"{name} api/events/signal", run_search(name, flt, want))
    query_s = time.monotonic() - t0

    print(f"{len(events)} events (seed {a.seed}) ingested in {ingest_s:.1f} s; queries {query_s:.1f} s; "
          f"total {time.monotonic() - started:.1f} s")
    print(f"reference queries: {'all passed' if failed == 0 else f'{failed} failed'}")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
