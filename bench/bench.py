"""Ingest-and-search benchmark of a seqr binary (the measuring half of `make bench`).

Run it through bench/run.sh, which generates the data and builds the loader.
Directly:

  python3 bench/bench.py --seqr target/release/seqr --loader <seqr-bench-loader> \
      --events bench/out/events.clef --n 1000000 [--connections 8] [--batch 1000] \
      [--out bench/out/results.txt] [--keep-storage]

Steps: start `seqr serve --listen 127.0.0.1:0 --storage <fresh dir under bench/out>`;
post the CLEF file to /api/events/raw?clef with the loader (wall time from the
first request to the last 201, request latency percentiles); read the
server's VmHWM and CPU time; wait for background merges to settle (the part
count in api/diagnostics/storage unchanged for 15 s); time a few searches
(/api/events/signal first page, a deep page via afterId, the whole store paged
10000 at a time) and the five reference queries of performance.md; check
that the paged event count equals N with no duplicate ids; stop the server
with SIGTERM and measure the storage directory (du -sb). Also reports how
much CPU other processes took during the ingest (/proc/stat), since a busy
shared machine skews every figure. Prints a table and
writes it to --out (and the raw figures as JSON beside it). Exit status 1 if
the load had failed requests or the count is wrong. Stdlib only.
"""

import argparse
import json
import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def proc_status(pid, key):
    """A kB field of /proc/<pid>/status (e.g. VmHWM, VmRSS) in bytes."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return None


def proc_cpu_seconds(pid):
    """utime + stime of a process, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def system_busy_seconds():
    """CPU-seconds spent busy by the whole machine so far (all cores, from /proc/stat)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def du_bytes(path):
    out = subprocess.run(["du", "-sb", path], check=True, capture_output=True, text=True).stdout
    return int(out.split()[0])


def get(base, path, **query):
    """GET base+path?query; returns (seconds, status, raw body)."""
    url = f"{base}{path}?{urllib.parse.urlencode(query)}"
    t0 = time.perf_counter()
    with urllib.request.urlopen(url, timeout=300) as resp:
        body = resp.read()
        status = resp.status
    return time.perf_counter() - t0, status, body


def timed(base, path, repeat, **query):
    """Run the same GET `repeat` times; returns (first_ms, median_ms, last parsed body)."""
    times, parsed = [], None
    for _ in range(repeat):
        secs, _, body = get(base, path, **query)
        times.append(secs * 1e3)
        parsed = json.loads(body)
    return times[0], statistics.median(times), parsed


def start_server(seqr, storage, log_path):
    logf = open(log_path, "w")
    # Authentication off: the benchmark measures ingestion and search, not sign-in.
    proc = subprocess.Popen([seqr, "serve", "--listen", "127.0.0.1:0", "--storage", storage,
                             "--no-authentication"],
                            stdout=subprocess.PIPE, stderr=logf, text=True)
    deadline = time.monotonic() + 30
    url = None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        logf.write(line)
        logf.flush()
        m = re.search(r"Listening on (http://\S+)", line)
        if m:
            url = m.group(1).rstrip("/")
            break
    if not url:
        proc.kill()
        raise SystemExit(f"bench: seqr did not print 'Listening on http://...' (log: {log_path})")
    # Keep draining stdout so the server never blocks on a full pipe.
    def drain():
        for line in proc.stdout:
            logf.write(line)
            logf.flush()

    threading.Thread(target=drain, daemon=True).start()
    return proc, url


# Event objects as seqr writes them start {"Id":"...","Timestamp":...; matching that is
# ~10x cheaper than json.loads of a 10 MB page. The first page is checked against a
# full parse, and any mismatch switches to full parsing for the rest.
ID_RE = re.compile(rb'\{"Id":"([^"]+)","Timestamp"')


def parse_page(body, fast):
    """(event ids, Statistics) of one /api/events/signal answer."""
    if fast:
        at = body.rfind(b'"Statistics":')
        try:
            stats = json.loads(body[at + len(b'"Statistics":'):body.rstrip().rfind(b"}")])
            return [m.decode() for m in ID_RE.findall(body)], stats
        except ValueError:
            pass
    page = json.loads(body)
    return [e["Id"] for e in page.get("Events") or []], page.get("Statistics") or {}


def page_all(pid, base, page_size, n_expected):
    """Page through every event, newest first.

    Returns (count, distinct ids, id at the middle, seconds, pages, server VmRSS samples,
    milliseconds per page request)."""
    t0 = time.perf_counter()
    after, count, ids, mid_id, pages, rss, page_ms = None, 0, set(), None, 0, [], []
    middle = n_expected // 2
    fast = None
    while True:
        q = {"count": page_size}
        if after:
            q["afterId"] = after
        secs, status, body = get(base, "/api/events/signal", **q)
        page_ms.append(secs * 1e3)
        if fast is None:
            fast = parse_page(body, True)[0] == parse_page(body, False)[0]
        page_ids, stats = parse_page(body, fast)
        pages += 1
        if pages % 10 == 1:
            rss.append(proc_status(pid, "VmRSS"))
        for i in page_ids:
            if count == middle:
                mid_id = i
            ids.add(i)
            count += 1
        if stats.get("Status") == "Complete":
            break
        after = stats.get("LastReadEventId")
        if not after:
            raise SystemExit(f"bench: page {pages}: Status {stats.get('Status')!r} without LastReadEventId")
        if pages > n_expected // max(page_size, 1) + 1000:
            raise SystemExit("bench: paging does not terminate")
    rss.append(proc_status(pid, "VmRSS"))
    return count, len(ids), mid_id, time.perf_counter() - t0, pages, rss, page_ms


# The five reference queries of ../shared/design/performance.md, over HTTP. `{trace}` is the
# TraceId of the middle event of the file (a needle).
REFERENCE_QUERIES = [
    ("q1", "/api/data", "select count(*) from stream where @Level in ['Error', 'Fatal']"),
    ("q2", "/api/data", "select count(*) from stream where StartsWith(RequestPath, '/api/orders') "
                        "group by StatusCode"),
    ("q3", "/api/data", "select count(*) from stream where @Message like '%timeout%' ci "
                        "or @Exception like '%timeout%' ci"),
    ("q4", "/api/events/signal", "TraceId = '{trace}'"),
    ("q5", "/api/data", "select count(*) from stream group by time(1h), @Level"),
]


def middle_trace_id(events_path, n):
    """The TraceId of the first event at or after the middle of the file that has one."""
    with open(events_path, "rb") as f:
        for i, line in enumerate(f):
            if i >= n // 2:
                m = re.search(rb'"TraceId":"([0-9a-f]{32})"', line)
                if m:
                    return m.group(1).decode()
    return None


def reference_queries(base, events_path, n, repeat):
    """{name: (median ms, first ms, answer summary)} of the reference queries."""
    trace = middle_trace_id(events_path, n)
    out = {}
    for name, path, text in REFERENCE_QUERIES:
        if "{trace}" in text:
            if not trace:
                continue
            text = text.format(trace=trace)
        if path == "/api/data":
            q = {"q": text, "rangeStartUtc": "2000-01-01T00:00:00Z"}
        else:
            q = {"filter": text, "count": 100}
        first, median, body = timed(base, path, repeat, **q)
        if path == "/api/data":
            summary = json.dumps(body.get("Rows") or body.get("Series") or body.get("Slices"))[:80]
        else:
            summary = f"{len(body.get('Events') or [])} events"
        out[name] = {"median_ms": median, "first_ms": first, "answer": summary, "query": text}
        log(f"{name}: {median:.1f} ms median (first {first:.1f} ms): {summary}")
    return out


def storage_parts(base):
    """Parts in service, from api/diagnostics/storage."""
    _, _, body = get(base, "/api/diagnostics/storage")
    return json.loads(body)["Totals"]["Parts"]


def wait_for_merges(base, settle_s=15, limit_s=600):
    """Waits until the part count has not changed for `settle_s` (background merges start once
    ingestion has been quiet for a few seconds). Returns (parts before, parts after, seconds)."""
    t0 = time.perf_counter()
    first = last = storage_parts(base)
    stable_since = time.perf_counter()
    while time.perf_counter() - t0 < limit_s:
        time.sleep(1)
        now = storage_parts(base)
        if now != last:
            last, stable_since = now, time.perf_counter()
        elif time.perf_counter() - stable_since >= settle_s:
            break
    return first, last, time.perf_counter() - t0


def fmt_bytes(b):
    return f"{b / 1048576:.1f} MiB" if b is not None else "n/a"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seqr", required=True)
    ap.add_argument("--loader", required=True)
    ap.add_argument("--events", required=True, help="CLEF file to ingest")
    ap.add_argument("--n", type=int, required=True, help="number of events in the file")
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--rate", type=float, default=None, help="pace the load at this many events/s (default: flat out)")
    ap.add_argument("--page", type=int, default=10000, help="page size for the full-store paging check")
    ap.add_argument("--out", default=None)
    ap.add_argument("--keep-storage", action="store_true")
    a = ap.parse_args()

    out_dir = os.path.dirname(os.path.abspath(a.out or a.events))
    os.makedirs(out_dir, exist_ok=True)
    storage = tempfile.mkdtemp(prefix="storage.", dir=out_dir)
    log_path = os.path.join(out_dir, "seqr.log")
    r = {"n": a.n, "connections": a.connections, "batch": a.batch, "page": a.page, "rate": a.rate,
         "seqr": os.path.abspath(a.seqr), "events_file_bytes": os.path.getsize(a.events)}
    failures = []

    proc, base = start_server(a.seqr, storage, log_path)
    log(f"seqr pid {proc.pid} at {base}, storage {storage}")
    try:
        cpu0 = proc_cpu_seconds(proc.pid)
        r["rss_idle"] = proc_status(proc.pid, "VmRSS")

        # --- ingest ---
        host_port = urllib.parse.urlsplit(base).netloc
        log(f"posting {a.n} events, {a.batch}/request, {a.connections} connections ...")
        with open("/proc/loadavg") as f:
            r["loadavg_before"] = float(f.read().split()[0])
        busy0, kids0, wall0 = system_busy_seconds(), children_cpu_seconds(), time.perf_counter()
        res = subprocess.run([a.loader, "--addr", host_port, "--file", a.events, "--path", "/api/events/raw?clef",
                              "--batch", str(a.batch), "--connections", str(a.connections)]
                             + (["--rate", str(a.rate)] if a.rate else []),
                             capture_output=True, text=True)
        sys.stderr.write(res.stderr)
        for line in res.stdout.splitlines():
            k, _, v = line.partition("=")
            r["load_" + k] = float(v) if "." in v else int(v)
        if res.returncode != 0 or r.get("load_errors", 1) != 0:
            failures.append(f"load driver: {r.get('load_errors', '?')} failed requests (exit {res.returncode})")
        r["cpu_ingest_s"] = proc_cpu_seconds(proc.pid) - cpu0
        r["cpu_window_s"] = (time.perf_counter() - wall0) * (os.cpu_count() or 1)
        r["cpu_loader_s"] = children_cpu_seconds() - kids0
        # CPU the rest of the machine used meanwhile (other builds and tests skew the figures).
        r["cpu_others_s"] = max(0.0, system_busy_seconds() - busy0 - r["cpu_ingest_s"] - r["cpu_loader_s"])
        r["hwm_after_ingest"] = proc_status(proc.pid, "VmHWM")
        r["rss_after_ingest"] = proc_status(proc.pid, "VmRSS")
        log(f"ingest: {r.get('load_events_per_s', 0):,.0f} events/s")

        # --- merges ---
        log("waiting for background merges to settle ...")
        r["parts_after_ingest"], r["parts_after_merges"], r["merge_wait_s"] = wait_for_merges(base)
        r["hwm_after_merges"] = proc_status(proc.pid, "VmHWM")
        log(f"parts: {r['parts_after_ingest']} after ingest, {r['parts_after_merges']} after merges")

        # --- searches ---
        r["q_first_cold_ms"], r["q_first_ms"], first = timed(base, "/api/events/signal", 5, count=100, render="true")
        if len(first.get("Events") or []) != min(100, a.n):
            failures.append(f"first page: {len(first.get('Events') or [])} events, expected {min(100, a.n)}")
        log("paging through the whole store to count events ...")
        count, distinct, mid_id, scan_s, pages, rss, page_ms = page_all(proc.pid, base, a.page, a.n)
        r.update(paged_count=count, paged_distinct=distinct, scan_s=scan_s, scan_pages=pages, rss_during_scan=rss,
                 scan_page_ms=page_ms)
        if count != a.n or distinct != a.n:
            failures.append(f"event count: paged {count} events ({distinct} distinct ids), expected {a.n}")
        if mid_id:
            r["q_deep_cold_ms"], r["q_deep_ms"], deep = timed(base, "/api/events/signal", 5,
                                                              count=100, render="true", afterId=mid_id)
            if len(deep.get("Events") or []) != min(100, a.n - a.n // 2 - 1):
                failures.append(f"deep page after event #{a.n // 2}: {len(deep.get('Events') or [])} events")
        r["reference"] = reference_queries(base, a.events, a.n, 7)
        _, r["q_list_ms"], arr = timed(base, "/api/events", 3, count=100)
        if not isinstance(arr, list):
            failures.append("GET /api/events?count=100 is not a JSON array")

        r["hwm_before_shutdown"] = proc_status(proc.pid, "VmHWM")
        r["cpu_total_s"] = proc_cpu_seconds(proc.pid) - cpu0
    finally:
        t0 = time.perf_counter()
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait()
            failures.append("seqr did not exit within 120 s of SIGTERM")
        r["shutdown_s"] = time.perf_counter() - t0
        if rc not in (0, -signal.SIGTERM):
            failures.append(f"seqr exited with status {rc} after SIGTERM (log: {log_path})")

    r["disk_bytes"] = du_bytes(storage)
    r["disk_bytes_per_event"] = r["disk_bytes"] / a.n
    if not a.keep_storage:
        shutil.rmtree(storage, ignore_errors=True)

    report = render(r, failures)
    print(report)
    if a.out:
        with open(a.out, "w") as f:
            f.write(report + "\n")
        with open(os.path.splitext(a.out)[0] + ".json", "w") as f:
            json.dump({**r, "failures": failures}, f, indent=2)
        log(f"wrote {a.out}")
    return 1 if failures else 0


def render(r, failures):
    g = r.get
    ms = lambda k: f"{g(k):.1f} ms" if g(k) is not None else "n/a"  # noqa: E731
    rows = [
        ("events", f"{r['n']:,} ({r['events_file_bytes'] / r['n']:.0f} B/event as CLEF)"),
        ("load", f"{r['connections']} connections x {r['batch']} events/request, CLEF to /api/events/raw?clef, "
                 + (f"paced at {r['rate']:,.0f} events/s" if r.get("rate") else "flat out")),
        ("ingest rate", f"{g('load_events_per_s', 0):,.0f} events/s ({g('load_mib_per_s', 0):.1f} MiB/s), "
                        f"wall {g('load_wall_s', 0):.2f} s first request -> last 201"),
        ("request latency", f"p50 {g('load_p50_ms', 0):.1f} ms, p90 {g('load_p90_ms', 0):.1f} ms, "
                            f"p99 {g('load_p99_ms', 0):.1f} ms, max {g('load_max_ms', 0):.1f} ms"),
        ("server CPU", f"{g('cpu_ingest_s', 0):.1f} s during ingest "
                       f"({g('n') / max(g('cpu_ingest_s') or 1e-9, 1e-9):,.0f} events per CPU-second)"),
        ("machine noise", f"other processes used {g('cpu_others_s', 0):.1f} CPU-s during the ingest "
                          f"of {g('cpu_window_s', 0):.1f} available (loader {g('cpu_loader_s', 0):.1f} s incl. reading the file; load average "
                          f"{g('loadavg_before', 0):.2f} before)" + ("  << BUSY MACHINE, figures skewed"
                          if g('cpu_others_s', 0) > 0.1 * g('cpu_window_s', 1) else "")),
        ("peak RSS (VmHWM)", f"{fmt_bytes(g('hwm_after_ingest'))} after ingest, "
                             f"{fmt_bytes(g('hwm_before_shutdown'))} before shutdown (idle {fmt_bytes(g('rss_idle'))})"),
        ("RSS while paging", f"{fmt_bytes(min(g('rss_during_scan') or [0]))} .. {fmt_bytes(max(g('rss_during_scan') or [0]))}"
                             f" (VmRSS sampled every 10 pages; {fmt_bytes((g('rss_during_scan') or [0])[-1])} at the end)"),
        ("merges", f"{g('parts_after_ingest')} parts after ingest, {g('parts_after_merges')} after background "
                   f"merges (settled in {g('merge_wait_s', 0):.0f} s; VmHWM then {fmt_bytes(g('hwm_after_merges'))})"),
        ("disk after shutdown", f"{g('disk_bytes', 0):,} bytes = {g('disk_bytes_per_event', 0):.1f} bytes/event "
                                f"(du -sb, after SIGTERM; shutdown took {g('shutdown_s', 0):.2f} s)"),
        ("search: first page", f"{ms('q_first_ms')} median of 5 (first {ms('q_first_cold_ms')}); "
                               f"signal?count=100&render=true"),
        ("search: deep page", f"{ms('q_deep_ms')} median of 5 (first {ms('q_deep_cold_ms')}); "
                              f"afterId=<event #{r['n'] // 2:,}>, count=100"),
        ("search: /api/events", f"{ms('q_list_ms')} median of 3; count=100"),
        ("full scan by paging", f"{g('scan_s', 0):.2f} s for {g('scan_pages', 0)} pages of {r['page']} "
                                f"({g('paged_count', 0) / max(g('scan_s') or 1e-9, 1e-9):,.0f} events/s); per page: first "
                                f"{(g('scan_page_ms') or [0])[0]:.0f} ms, median {statistics.median(g('scan_page_ms') or [0]):.0f} ms, "
                                f"last {(g('scan_page_ms') or [0])[-1]:.0f} ms"),
        *[(f"{k} ({v['query'][:40]}...)" if len(v['query']) > 40 else f"{k} ({v['query']})",
           f"{v['median_ms']:.1f} ms median of 7 (first {v['first_ms']:.1f} ms): {v['answer']}")
          for k, v in (g('reference') or {}).items()],
        ("count check", f"paged {g('paged_count', 0):,} events, {g('paged_distinct', 0):,} distinct ids, "
                        f"expected {r['n']:,}: " + ("OK" if g('paged_count') == r['n'] == g('paged_distinct') else "WRONG")),
    ]
    width = max(len(k) for k, _ in rows)
    lines = [f"seqr benchmark  {time.strftime('%Y-%m-%d %H:%M:%S')}  ({os.cpu_count()} cores)  {r['seqr']}",
             "-" * 100]
    lines += [f"{k.ljust(width)}  {v}" for k, v in rows]
    lines.append("-" * 100)
    lines.append("RESULT: OK" if not failures else "RESULT: FAILED\n" + "\n".join(f"  - {f}" for f in failures))
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
