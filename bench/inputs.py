"""Events per second over loopback for each input of a seqr binary (`make bench`'s inputs part).

Usage (from the repo root; the binary is not built here):

  [SEQR_BIN=target/release/seqr] python3 bench/inputs.py [--seqr BIN] [--only clef,gelf-udp,...]
      [--events 200000] [--udp-events 100000] [--gelf-http-events 20000] [--reps 3]
      [--connections 4] [--gelf-http-connections 8] [--ladder 20000,40000,...]
      [--wait-quiet SECONDS] [--out bench/out/inputs.txt]

The events are `../shared/tools/gen_events.py N --seed 42` (the workload of `bench/run.sh`:
554 bytes per event as CLEF, 7-15 properties, median 13, some nested), cached in bench/out/,
and each is rewritten into every input's own shape before the clock starts:

  clef        POST /ingest/clef, application/vnd.serilog.clef, 1000 events a request
  otlp        POST /ingest/otlp/v1/logs, application/x-protobuf (encoded here, no library:
              ExportLogsServiceRequest, a ResourceLogs per service/host/environment, the
              template as the string body, properties as typed attributes, nested as kvlist),
              1000 records a request
  gelf-udp    one uncompressed GELF 1.1 JSON datagram per event (short_message rendered,
              properties as flat _fields), paced, see below
  gelf-tcp    the same JSON, NUL-terminated
  gelf-http   POST /gelf, one event per request (8 connections by default)
  syslog-udp  one RFC 5424 message per datagram (properties as SD params), paced
  syslog-tcp  the same, octet-counted (RFC 6587)
  loki        POST /loki/api/v1/push, application/json, 1000 entries a request in streams
              by job/env/host/level, the other properties as structured metadata
  es-bulk     POST /es/_bulk, application/x-ndjson, 1000 `create` pairs a request, ECS-ish
              documents (@timestamp, message, log.level, trace.id, nested properties)

Every measurement starts `seqr serve` on a fresh storage directory with all four listeners
on 127.0.0.1:0, sends a warm-up (5% as many events), then times the rest:
- HTTP (keep-alive, one sender process per connection): from the first request to the last
  answer (every 2xx is sent after its fsync);
- TCP (one sender process per connection): from the first byte sent to the moment
  api/diagnostics/inputs shows every event stored (StoredEvents counts events after fsync);
- UDP: UDP cannot push back, so a datagram the receiver cannot take is lost. The sender is
  paced; first the rate climbs `--ladder` until a step loses anything (sent > StoredEvents),
  and one flat-out run (the sender as fast as it goes) shows the losses past it; then the
  repetitions run at the highest lossless step (stepped down and run again if one loses).
  Loss is split into the server's own counters (DroppedOverload, DroppedRate, Malformed) and
  the kernel's (`RcvbufErrors` of /proc/net/snmp: the socket's receive buffer was full).
The repetitions go in rounds over all inputs (run 1 of each, then run 2 ...), so a machine
whose speed drifts during the run widens every input's range instead of skewing one input.
Senders are forked Python processes (data built before the fork), so they share the
machine's cores with the server: each row gives the server's and the senders' CPU (from
/proc/PID/stat) as cores used over the timed window, and the CPU other processes took.
After each run the store is counted (`select count(*) from stream`) and must hold exactly
what was acknowledged. Prints a table, writes it to --out and the raw figures as JSON
beside it. Exit status 1 if a request failed or a count is wrong. Stdlib only.
"""

import argparse
import datetime
import hashlib
import json
import multiprocessing
import os
import re
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SHARED = os.path.join(os.path.dirname(ROOT), "shared")
CLK_TCK = os.sysconf("SC_CLK_TCK")
CORES = os.cpu_count() or 1

INPUTS = ["clef", "otlp", "gelf-udp", "gelf-tcp", "gelf-http", "syslog-udp", "syslog-tcp",
          "loki", "es-bulk"]
BATCH = 1000


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


# --- machine accounting -------------------------------------------------------------------

def proc_cpu_seconds(pid):
    """utime + stime of a process, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def system_busy_seconds():
    """CPU-seconds spent busy by the whole machine so far (all cores, from /proc/stat)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / CLK_TCK


def udp_rcvbuf_errors():
    """The kernel's count of datagrams dropped because a socket's receive buffer was full."""
    with open("/proc/net/snmp") as f:
        rows = [line.split() for line in f if line.startswith("Udp:")]
    return int(rows[1][rows[0].index("RcvbufErrors")])


def cpu_model():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown"


# --- the events in each input's shape -----------------------------------------------------

HOLE = re.compile(r"\{([@$]?)([A-Za-z0-9_.]+)(?:,[^:}]*)?(?::[^}]*)?\}")
LEVELS = {"Verbose": 7, "Debug": 7, "Information": 6, "Warning": 4, "Error": 3, "Fatal": 2}
OTLP_SEVERITY = {"Verbose": 1, "Debug": 5, "Information": 9, "Warning": 13, "Error": 17, "Fatal": 21}
ENVELOPE = ("@t", "@mt", "@m", "@l", "@x", "@i", "@tr", "@sp")


def text(value):
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def render(e):
    if "@m" in e:
        return e["@m"]
    return HOLE.sub(lambda m: text(e.get(m.group(2), m.group(0))), e.get("@mt", ""))


def props(e):
    return {k: v for k, v in e.items() if k not in ENVELOPE}


def flat(d, prefix=""):
    """Nested objects as dotted keys; arrays and leaves as they are."""
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(flat(v, f"{prefix}{k}."))
        else:
            out[prefix + k] = v
    return out


def epoch_ns(t):
    dt = datetime.datetime.fromisoformat(t.replace("Z", "+00:00"))
    return (int(dt.timestamp()) * 1_000_000 + dt.microsecond) * 1000


def level(e):
    return e.get("@l", "Information")


def gelf(e):
    g = {"version": "1.1", "host": e.get("MachineName", "localhost"), "short_message": render(e),
         "timestamp": round(epoch_ns(e["@t"]) / 1e9, 6), "level": LEVELS.get(level(e), 6)}
    if "@x" in e:
        g["full_message"] = e["@x"]
    for k, v in flat(props(e)).items():
        if k == "MachineName" or v is None:
            continue
        g["_" + k.replace(".", "_")] = v if isinstance(v, (str, int, float)) else text(v)
    return json.dumps(g, separators=(",", ":")).encode()


def sd_escape(v):
    return text(v).replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def syslog(e):
    pri = 16 * 8 + LEVELS.get(level(e), 6)  # local0
    p = flat(props(e))
    params = " ".join(f'{k[:32]}="{sd_escape(v)}"' for k, v in p.items()
                      if k not in ("MachineName", "Application") and v is not None)
    return (f"<{pri}>1 {e['@t']} {e.get('MachineName', '-')} {e.get('Application', '-')} "
            f"{p.get('ThreadId', '-')} - [props@32473 {params}] {render(e)}").encode()


def clef_body(events):
    return b"".join(json.dumps(e, separators=(",", ":")).encode() + b"\n" for e in events)


def loki_body(events):
    streams = {}
    for e in events:
        p = props(e)
        labels = {"job": p.pop("Application", "app"), "env": p.pop("Environment", "-"),
                  "host": p.pop("MachineName", "-"), "level": level(e)}
        meta = {k: text(v) for k, v in flat(p).items()}
        for src, dst in (("TraceId", "trace_id"), ("SpanId", "span_id")):
            if src in meta:
                meta[dst] = meta.pop(src)
        key = tuple(sorted(labels.items()))
        s = streams.setdefault(key, {"stream": labels, "values": []})
        s["values"].append([str(epoch_ns(e["@t"])), render(e), meta])
    return json.dumps({"streams": list(streams.values())}, separators=(",", ":")).encode()


def es_body(events):
    out = []
    for e in events:
        p = props(e)
        doc = {"@timestamp": e["@t"], "message": render(e), "log": {"level": level(e)}}
        if "@x" in e:
            doc["error"] = {"stack_trace": e["@x"]}
        if "TraceId" in p:
            doc["trace"] = {"id": p.pop("TraceId")}
        if "SpanId" in p:
            doc["span"] = {"id": p.pop("SpanId")}
        doc["host"] = {"name": p.pop("MachineName", "-")}
        doc["service"] = {"name": p.pop("Application", "-")}
        doc.update(p)
        out.append(b'{"create":{"_index":"logs"}}\n')
        out.append(json.dumps(doc, separators=(",", ":")).encode() + b"\n")
    return b"".join(out)


# Protobuf, by hand: just the wire types OTLP logs use.
def pb_varint(n):
    out = bytearray()
    n &= (1 << 64) - 1
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def pb_len(field, payload):
    return pb_varint(field << 3 | 2) + pb_varint(len(payload)) + payload


def pb_any(v):
    """opentelemetry.proto.common.v1.AnyValue."""
    if isinstance(v, bool):
        return pb_varint(2 << 3) + pb_varint(int(v))
    if isinstance(v, int):
        return pb_varint(3 << 3) + pb_varint(v)
    if isinstance(v, float):
        return pb_varint(4 << 3 | 1) + struct.pack("<d", v)
    if isinstance(v, str):
        return pb_len(1, v.encode())
    if isinstance(v, list):
        return pb_len(5, b"".join(pb_len(1, pb_any(x)) for x in v))
    if isinstance(v, dict):
        return pb_len(6, b"".join(pb_len(1, pb_kv(k, x)) for k, x in v.items()))
    return pb_len(1, text(v).encode())


def pb_kv(k, v):
    return pb_len(1, k.encode()) + pb_len(2, pb_any(v))


def otlp_record(e):
    p = props(e)
    for k in ("Application", "MachineName", "Environment", "SourceContext"):
        p.pop(k, None)
    trace, span = p.pop("TraceId", None), p.pop("SpanId", None)
    t = epoch_ns(e["@t"])
    rec = (pb_varint(1 << 3 | 1) + struct.pack("<Q", t)
           + pb_varint(2 << 3) + pb_varint(OTLP_SEVERITY.get(level(e), 9))
           + pb_len(3, level(e).encode())
           + pb_len(5, pb_any(e.get("@mt") or e.get("@m", "")))
           + b"".join(pb_len(6, pb_kv(k, v)) for k, v in p.items() if v is not None))
    if "@x" in e:
        rec += pb_len(6, pb_kv("exception.stacktrace", e["@x"]))
    if trace:
        rec += pb_len(9, bytes.fromhex(trace))
    if span:
        rec += pb_len(10, bytes.fromhex(span))
    rec += pb_varint(11 << 3 | 1) + struct.pack("<Q", t)
    return rec


def otlp_body(events):
    resources = {}
    for e in events:
        res = (e.get("Application", "-"), e.get("MachineName", "-"), e.get("Environment", "-"))
        scopes = resources.setdefault(res, {})
        scopes.setdefault(e.get("SourceContext", ""), []).append(otlp_record(e))
    out = []
    for (app, host, env), scopes in resources.items():
        resource = pb_len(1, b"".join(pb_len(1, pb_kv(k, v)) for k, v in (
            ("service.name", app), ("host.name", host), ("deployment.environment", env))))
        body = pb_len(1, resource)
        for scope, records in scopes.items():
            body += pb_len(2, pb_len(1, pb_len(1, scope.encode()))
                           + b"".join(pb_len(2, r) for r in records))
        out.append(pb_len(1, body))
    return b"".join(out)


def batches(events, size):
    return [events[i:i + size] for i in range(0, len(events), size)]


# Per input: how it travels and how its payload is built. `unit` is what one send carries.
HTTP_INPUTS = {
    "clef": ("/ingest/clef", "application/vnd.serilog.clef", clef_body, BATCH,
             "HTTP/1.1 keep-alive, 1000 events a request, 4 connections"),
    "otlp": ("/ingest/otlp/v1/logs", "application/x-protobuf", otlp_body, BATCH,
             "HTTP/1.1, protobuf (hand-encoded), 1000 records a request, 4 connections"),
    "gelf-http": ("/gelf", "application/json", lambda evs: gelf(evs[0]), 1,
                  "HTTP/1.1 keep-alive, 1 event a request, 8 connections"),
    "loki": ("/loki/api/v1/push", "application/json", loki_body, BATCH,
             "HTTP/1.1, JSON, 1000 entries a request, 4 connections"),
    "es-bulk": ("/es/_bulk", "application/x-ndjson", es_body, BATCH,
                "HTTP/1.1, NDJSON, 1000 create pairs a request, 4 connections"),
}
STREAM_INPUTS = {
    "gelf-tcp": (gelf, lambda m: m + b"\0", "NUL-terminated JSON, 4 connections"),
    "syslog-tcp": (syslog, lambda m: str(len(m)).encode() + b" " + m,
                   "RFC 5424, octet-counted, 4 connections"),
    "gelf-udp": (gelf, None, "1 uncompressed JSON datagram per event"),
    "syslog-udp": (syslog, None, "1 RFC 5424 message per datagram"),
}


# --- the server ---------------------------------------------------------------------------

class Server:
    def __init__(self, seqr, out_dir):
        self.storage = tempfile.mkdtemp(prefix="inputs-storage.", dir=out_dir)
        self.log_path = os.path.join(out_dir, "inputs-seqr.log")
        self.logf = open(self.log_path, "a")
        args = [seqr, "serve", "--listen", "127.0.0.1:0", "--storage", self.storage,
                "--no-authentication"]
        for kind in ("gelf-udp", "gelf-tcp", "syslog-udp", "syslog-tcp"):
            args += [f"--{kind}", "127.0.0.1:0"]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.logf, text=True)
        self.ports, self.base = {}, None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not self.base:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.logf.write(line)
            m = re.search(r"Accepting (\S+) on \S+:(\d+)", line)
            if m:
                self.ports[m.group(1)] = int(m.group(2))
            m = re.search(r"Listening on (http://\S+)", line)
            if m:
                self.base = m.group(1).rstrip("/")
        if not self.base:
            self.stop()
            raise SystemExit(f"bench: seqr did not start (log: {self.log_path})")
        self.http_port = urllib.parse.urlsplit(self.base).port
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self):
        for line in self.proc.stdout:
            self.logf.write(line)

    def get(self, path, **query):
        url = f"{self.base}{path}" + (f"?{urllib.parse.urlencode(query)}" if query else "")
        with urllib.request.urlopen(url, timeout=60) as resp:
            return json.loads(resp.read())

    def inputs(self):
        return {i["Input"]: i for i in self.get("/api/diagnostics/inputs")}

    def count(self):
        body = self.get("/api/data", q="select count(*) from stream",
                        rangeStartUtc="2000-01-01T00:00:00Z")
        return int(body["Rows"][0][0])

    def cpu(self):
        return proc_cpu_seconds(self.proc.pid)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.logf.close()
        shutil.rmtree(self.storage, ignore_errors=True)


# --- senders (forked processes; they read the module globals set before the fork) ---------

JOB = {}


def http_worker(index, go, conn):
    """Posts its share of the bodies over one keep-alive connection, request by request. The
    requests are written whole from prebuilt bytes and the answers read with a minimal parser
    (http.client costs more CPU per request than the server for one-event requests)."""
    j = JOB
    head = (f"POST {j['path']} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: {j['content_type']}\r\nContent-Length: ").encode()
    mine = [head + str(len(b)).encode() + b"\r\n\r\n" + b
            for b in j["units"][index::j["workers"]]]
    bulk = j["path"] == "/es/_bulk"
    conn.send("ready")
    go.wait()
    cpu0 = time.process_time()
    s = socket.create_connection(("127.0.0.1", j["port"]), timeout=120)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    f = s.makefile("rb")
    ok = errors = 0
    first_error = None
    for request in mine:
        s.sendall(request)
        status = int(f.readline().split()[1])
        length, chunked = 0, False
        while True:
            line = f.readline()
            if line in (b"\r\n", b""):
                break
            k, _, v = line.partition(b":")
            k = k.strip().lower()
            if k == b"content-length":
                length = int(v)
            elif k == b"transfer-encoding":
                chunked = True
        answer = f.read(length)
        if 200 <= status < 300 and not chunked and not (bulk and b'"errors":true' in answer[:200]):
            ok += 1
        else:
            errors += 1
            if first_error is None:
                first_error = f"{status}: {answer[:200]!r}" + (" (chunked answer)" if chunked else "")
            if chunked:
                break
    f.close()
    s.close()
    conn.send((ok, errors, first_error, time.process_time() - cpu0, time.perf_counter()))


def tcp_worker(index, go, conn):
    j = JOB
    data = j["streams"][index]
    conn.send("ready")
    go.wait()
    cpu0 = time.process_time()
    s = socket.create_connection(("127.0.0.1", j["port"]))
    view = memoryview(data)
    for at in range(0, len(data), 1 << 20):
        s.sendall(view[at:at + (1 << 20)])
    s.shutdown(socket.SHUT_WR)
    s.settimeout(120)
    try:
        while s.recv(65536):
            pass
    except OSError:
        pass
    s.close()
    conn.send((j["counts"][index], 0, None, time.process_time() - cpu0, time.perf_counter()))


def udp_worker(index, go, conn):
    j = JOB
    mine = j["datagrams"][index::j["workers"]]
    rate = j["rate"] / j["workers"] if j["rate"] else None
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect(("127.0.0.1", j["port"]))
    send = s.send
    conn.send("ready")
    go.wait()
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    sent = errors = 0
    for i, d in enumerate(mine):
        if rate and i % 32 == 0:
            ahead = t0 + i / rate - time.perf_counter()
            if ahead > 0:
                time.sleep(ahead)
        try:
            send(d)
            sent += 1
        except OSError:
            errors += 1
    conn.send((sent, errors, None, time.process_time() - cpu0, time.perf_counter()))


def run_workers(target, workers):
    """Forks `workers` senders and waits until each has built its data; returns (go, pipes,
    processes): setting `go` starts them all at once."""
    ctx = multiprocessing.get_context("fork")
    go = ctx.Event()
    pipes, procs = [], []
    for i in range(workers):
        parent, child = ctx.Pipe(duplex=False)
        p = ctx.Process(target=target, args=(i, go, child), daemon=True)
        p.start()
        pipes.append(parent)
        procs.append(p)
    for p in pipes:  # every sender has built its requests and waits for `go`
        if p.recv() != "ready":
            raise SystemExit("bench: a sender did not start")
    return go, pipes, procs


def collect(pipes, procs):
    results = [p.recv() for p in pipes]
    for p in procs:
        p.join()
    return results


# --- one measurement ----------------------------------------------------------------------

def measure(server, name, payload, rate=None, quiet_s=0):
    """Sends the warm-up part, then times the rest. Returns a dict of figures."""
    kind = "http" if name in HTTP_INPUTS else ("udp" if name.endswith("-udp") else "tcp")
    r = {"input": name}
    for phase in ("warm", "timed"):
        units = payload[phase]
        expected_stored = payload["events"]["warm"] + (payload["events"]["timed"] if phase == "timed" else 0)
        JOB.clear()
        if kind == "http":
            path, ctype, _, _, _ = HTTP_INPUTS[name]
            workers = CONNECTIONS["gelf-http" if name == "gelf-http" else "default"]
            JOB.update(units=units, workers=workers, port=server.http_port, path=path,
                       content_type=ctype)
            target = http_worker
        elif kind == "tcp":
            workers = CONNECTIONS["default"]
            streams = [b"".join(units[i::workers]) for i in range(workers)]
            JOB.update(streams=streams, counts=[len(units[i::workers]) for i in range(workers)],
                       port=server.ports[name])
            target = tcp_worker
        else:
            workers = 1 if rate and rate <= 150_000 else 2
            JOB.update(datagrams=units, workers=workers, port=server.ports[name],
                       rate=(rate if phase == "timed" else min(rate or 20_000, 20_000)))
            target = udp_worker
        go, pipes, procs = run_workers(target, workers)
        before = server.inputs().get(name) if kind != "http" else None
        if phase == "timed":
            wait_quiet(quiet_s)
        kernel0 = udp_rcvbuf_errors()
        cpu0, busy0, own0 = server.cpu(), system_busy_seconds(), time.process_time()
        t0 = time.perf_counter()
        go.set()
        results = collect(pipes, procs)
        t_sent = max(x[4] for x in results)
        sender_cpu = sum(x[3] for x in results)
        if kind == "http":
            t_end = t_sent
            errs = sum(x[1] for x in results)
            r["errors"] = r.get("errors", 0) + errs
            firsts = [x[2] for x in results if x[2]]
            if firsts:
                r["first_error"] = firsts[0]
        else:
            t_end, inp = wait_stored(server, name, expected_stored, kind)
        cpu1, busy1 = server.cpu(), system_busy_seconds()
        # This process's own CPU (the polling of api/diagnostics/inputs) counts as the senders'.
        sender_cpu += time.process_time() - own0
        if phase == "warm":
            continue
        wall = t_end - t0
        r.update(events=payload["events"]["timed"], wall_s=wall,
                 events_per_s=payload["events"]["timed"] / wall,
                 server_cores=(cpu1 - cpu0) / wall, sender_cores=sender_cpu / wall,
                 other_cores=max(0.0, (busy1 - busy0) - (cpu1 - cpu0) - sender_cpu) / wall,
                 events_per_server_cpu_s=payload["events"]["timed"] / max(cpu1 - cpu0, 1e-9),
                 workers=workers)
        if kind != "http":
            d = {k: inp[k] - before[k] for k in ("Messages", "StoredEvents", "Malformed",
                                                  "DroppedOverload", "DroppedRate", "DroppedStore")}
            r.update(counters=d, kernel_drops=udp_rcvbuf_errors() - kernel0)
        if kind == "udp":
            sent = sum(x[0] for x in results)
            r["sent"] = sent
            r["send_s"] = t_sent - t0
            r["send_rate"] = sent / (t_sent - t0)
            r["target_rate"] = rate
            r["lost"] = sent - r["counters"]["StoredEvents"]
            r["events_per_s"] = r["counters"]["StoredEvents"] / wall
    r["stored_total"] = server.count()
    r["expected_total"] = payload["events"]["warm"] + payload["events"]["timed"]
    return r


QUIET_S = 0
CONNECTIONS = {"default": 4, "gelf-http": 8}


def wait_quiet(limit_s, cores=0.25):
    """Waits (at most `limit_s`) until the machine's busy CPU over 0.5 s is under `cores`,
    so other work on a shared machine does not land in a measurement."""
    deadline = time.perf_counter() + limit_s
    while time.perf_counter() < deadline:
        b0 = system_busy_seconds()
        time.sleep(0.5)
        if (system_busy_seconds() - b0) / 0.5 < cores:
            return
    if limit_s:
        log(f"the machine stayed busy for {limit_s} s; measuring anyway")


def wait_stored(server, name, expected, kind, limit_s=120):
    """Polls the listener's counters until `expected` events are stored (TCP), or until
    nothing changed for 0.5 s (UDP, where some may be lost). Returns (time, counters)."""
    deadline = time.perf_counter() + limit_s
    last, since = None, time.perf_counter()
    while time.perf_counter() < deadline:
        inp = server.inputs()[name]
        now = time.perf_counter()
        if inp["StoredEvents"] >= expected:
            return now, inp
        seen = (inp["Messages"], inp["StoredEvents"], inp["Malformed"])
        if seen != last:
            last, since, at = seen, now, now
        elif kind == "udp" and now - since > 0.5:
            return at, inp
        time.sleep(0.005)
    return time.perf_counter(), server.inputs()[name]


# --- data ---------------------------------------------------------------------------------

def load_events(out_dir, n):
    gen = os.path.join(SHARED, "tools", "gen_events.py")
    if not os.path.exists(gen):
        raise SystemExit(f"bench: missing {gen} (shared/ must sit beside the repo)")
    path = os.path.join(out_dir, "inputs-events.clef")
    with open(gen, "rb") as f:
        stamp = f"n={n} seed=42 gen={hashlib.sha256(f.read()).hexdigest()}"
    try:
        with open(path + ".stamp") as f:
            cached = f.read().strip() == stamp
    except OSError:
        cached = False
    if not cached:
        log(f"generating {n} events into {path} ...")
        subprocess.run([sys.executable, gen, str(n), "--seed", "42", "-o", path + ".tmp"], check=True)
        os.replace(path + ".tmp", path)
        with open(path + ".stamp", "w") as f:
            f.write(stamp + "\n")
    with open(path, "rb") as f:
        return [json.loads(line) for line in f]


def build(name, events, warm_n, timed_n):
    """{warm: [units], timed: [units], events: {...}, bytes_per_event}."""
    warm, timed = events[:warm_n], events[warm_n:warm_n + timed_n]
    if name in HTTP_INPUTS:
        _, _, body, size, _ = HTTP_INPUTS[name]
        mk = lambda evs: [body(b) for b in batches(evs, size)]
    else:
        enc, frame, _ = STREAM_INPUTS[name]
        mk = (lambda evs: [frame(enc(e)) for e in evs]) if frame else (lambda evs: [enc(e) for e in evs])
    p = {"warm": mk(warm), "timed": mk(timed), "events": {"warm": len(warm), "timed": len(timed)}}
    p["bytes_per_event"] = sum(map(len, p["timed"])) / len(timed)
    return p


# --- runs ---------------------------------------------------------------------------------

def one(seqr, out_dir, name, payload, rate=None):
    server = Server(seqr, out_dir)
    try:
        return measure(server, name, payload, rate, QUIET_S)
    finally:
        server.stop()


def udp_search(seqr, out_dir, name, payload, ladder):
    """Climbs the ladder of paced rates until a step loses events (or the sender falls behind
    it), then runs once flat out. Returns (steps, highest lossless rate or None, flat run)."""
    steps, best = [], None
    for rate in ladder:
        r = one(seqr, out_dir, name, payload, rate)
        steps.append(r)
        log(f"{name} step {rate:,}/s: sent {r['send_rate']:,.0f}/s, lost {r['lost']} "
            f"(server {r['counters']['DroppedOverload']} overload, kernel {r['kernel_drops']})")
        if r["lost"] or r["send_rate"] < 0.9 * rate:
            break
        best = rate
    flat = one(seqr, out_dir, name, payload, None)
    log(f"{name} flat out: sent {flat['send_rate']:,.0f}/s, stored {flat['counters']['StoredEvents']:,} "
        f"of {flat['sent']:,} (lost {flat['lost']:,}: server {flat['counters']['DroppedOverload']} overload, "
        f"kernel {flat['kernel_drops']})")
    return steps, best, flat


def log_run(name, i, r):
    log(f"{name} run {i}: {r['events_per_s']:,.0f} events/s, server {r['server_cores']:.2f} cores, "
        f"senders {r['sender_cores']:.2f}, other {r['other_cores']:.2f}"
        + (f", lost {r['lost']:,}" if "lost" in r else ""))


def median_range(xs):
    return statistics.median(xs), min(xs), max(xs)


def bottleneck(runs, kind, entry):
    s = statistics.median(x["server_cores"] for x in runs)
    p = statistics.median(x["sender_cores"] for x in runs)
    o = statistics.median(x["other_cores"] for x in runs)
    busy = s + p + o
    if kind == "udp":
        lossy = [x for x in entry.get("lossy_reps", []) + entry.get("steps", []) if x["lost"]]
        where = ""
        if lossy:
            kernel = sum(x["kernel_drops"] for x in lossy)
            server = sum(x["counters"]["DroppedOverload"] + x["counters"]["DroppedRate"] for x in lossy)
            where = (" (faster: the kernel's receive buffer overflows, the receive loop falls behind)"
                     if kernel >= server else " (faster: the server drops, its store falls behind)")
        return f"receiver{where}; at this rate server {s:.2f} + senders {p:.2f} cores"
    if busy >= 0.85 * CORES:
        who = "server" if s >= p else "senders"
        return f"CPU, {who} most: server {s:.2f} + senders {p:.2f} + other {o:.2f} cores"
    return f"neither CPU full (waits: fsync/round trips): server {s:.2f} + senders {p:.2f} cores"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seqr", default=os.environ.get("SEQR_BIN") or os.path.join(ROOT, "target", "release", "seqr"),
                    help="seqr binary (default: $SEQR_BIN, else target/release/seqr)")
    ap.add_argument("--only", default=",".join(INPUTS), help="comma-separated inputs")
    ap.add_argument("--events", type=int, default=200_000, help="timed events per run (fast inputs)")
    ap.add_argument("--udp-events", type=int, default=100_000, help="timed events per UDP run")
    ap.add_argument("--gelf-http-events", type=int, default=20_000, help="timed events per /gelf run")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--connections", type=int, default=4,
                    help="sender processes (one connection each) for the TCP and batch HTTP inputs")
    ap.add_argument("--gelf-http-connections", type=int, default=8)
    ap.add_argument("--ladder", default="20000,40000,60000,80000,100000,120000,150000,200000",
                    help="UDP send rates tried, events/s")
    ap.add_argument("--wait-quiet", type=float, default=0, metavar="SECONDS",
                    help="before each timed phase wait up to SECONDS for the machine to be idle "
                         "(other load under 0.25 cores); the other load is reported either way")
    ap.add_argument("--out", default=os.path.join(HERE, "out", "inputs.txt"))
    a = ap.parse_args()
    global QUIET_S
    QUIET_S = a.wait_quiet
    CONNECTIONS.update({"default": a.connections, "gelf-http": a.gelf_http_connections})
    for name, (path, ctype, body, size, _) in list(HTTP_INPUTS.items()):
        n = a.gelf_http_connections if name == "gelf-http" else a.connections
        HTTP_INPUTS[name] = (path, ctype, body, size, re.sub(r"\d+ connections", f"{n} connections",
                                                             HTTP_INPUTS[name][4]))
    for name, (enc, frame, what) in list(STREAM_INPUTS.items()):
        STREAM_INPUTS[name] = (enc, frame, re.sub(r"\d+ connections", f"{a.connections} connections", what))
    seqr = os.path.abspath(a.seqr)
    if not os.access(seqr, os.X_OK):
        raise SystemExit(f"bench: no seqr binary at {seqr} (cargo build --release -p seqr)")
    out_dir = os.path.dirname(os.path.abspath(a.out))
    os.makedirs(out_dir, exist_ok=True)
    names = [n.strip() for n in a.only.split(",") if n.strip()]
    unknown = set(names) - set(INPUTS)
    if unknown:
        raise SystemExit(f"bench: unknown inputs {sorted(unknown)}; known: {INPUTS}")
    ladder = [int(x) for x in a.ladder.split(",")]

    started = time.perf_counter()
    open(os.path.join(out_dir, "inputs-seqr.log"), "w").close()  # the servers' logs, this run
    most = max(a.events, a.udp_events, a.gelf_http_events)
    warm_n = max(most // 20, 2000)
    events = load_events(out_dir, warm_n + most)
    results = {"date": datetime.date.today().isoformat(), "cpu": cpu_model(), "cores": CORES,
               "seqr": seqr, "inputs": {}}
    failures = []
    payloads = {}
    for name in names:
        timed_n = a.udp_events if name.endswith("-udp") else (
            a.gelf_http_events if name == "gelf-http" else a.events)
        w = max(timed_n // 20, 1000)
        payloads[name] = build(name, events, w, timed_n)
        log(f"{name}: {timed_n:,} events ({payloads[name]['bytes_per_event']:.0f} bytes each as "
            f"sent), warm-up {w:,}")
        results["inputs"][name] = {"bytes_per_event": payloads[name]["bytes_per_event"], "runs": []}
    del events
    # UDP first: the highest lossless paced rate, and a flat-out run.
    best = {}
    for name in (n for n in names if n.endswith("-udp")):
        steps, best[name], flat = udp_search(seqr, out_dir, name, payloads[name], ladder)
        results["inputs"][name].update(steps=steps, flat=flat)
    # The repetitions in rounds over all inputs, so a machine that drifts slower or faster
    # during the run shows in every input's range rather than in the comparison between them.
    for i in range(a.reps):
        for name in names:
            if name in best and not best[name]:
                continue
            r = one(seqr, out_dir, name, payloads[name], best.get(name))
            results["inputs"][name]["runs"].append(r)
            log_run(name, i + 1, r)
    # A UDP rate that lost events in a repetition is stepped down, its repetitions run again.
    for name, rate in best.items():
        entry = results["inputs"][name]
        while rate and any(x["lost"] for x in entry["runs"]):
            lower = [x for x in ladder if x < rate]
            log(f"{name}: a repetition at {rate:,}/s lost events; trying {lower[-1] if lower else 'nothing'}")
            entry.setdefault("lossy_reps", []).extend(entry["runs"])
            rate = lower[-1] if lower else None
            entry["runs"] = [one(seqr, out_dir, name, payloads[name], rate) for _ in range(a.reps)] if rate else []
        if not entry["runs"]:
            failures.append(f"{name}: no lossless rate on the ladder {ladder}")
    for name in names:
        for r in results["inputs"][name]["runs"]:
            if r.get("errors"):
                failures.append(f"{name}: {r['errors']} failed requests, first {r.get('first_error')}")
            if r["stored_total"] != r["expected_total"] and not r.get("lost"):
                failures.append(f"{name}: store holds {r['stored_total']} events, {r['expected_total']} sent")
    results["total_s"] = time.perf_counter() - started

    lines = [f"seqr inputs over loopback, {results['date']}, {CORES} cores ({results['cpu']}), "
             f"senders on the same cores; {a.reps} runs each, median (min-max)", ""]
    header = ["input", "transport", "bytes/event", "events/s", "server CPU-s per 1M", "bottleneck"]
    rows = []
    for name, entry in results["inputs"].items():
        runs = entry["runs"]
        kind = "udp" if name.endswith("-udp") else "http" if name in HTTP_INPUTS else "tcp"
        transport = (HTTP_INPUTS[name][4] if name in HTTP_INPUTS else STREAM_INPUTS[name][2])
        if not runs:
            rate = "no lossless rate"
            cpu = "-"
            neck = "-"
        else:
            m, lo, hi = median_range([x["events_per_s"] for x in runs])
            rate = f"{m:,.0f} ({lo:,.0f}-{hi:,.0f})"
            cpu = f"{statistics.median(1e6 / x['events_per_server_cpu_s'] for x in runs):.1f}"
            neck = bottleneck(runs, kind, entry)
        if kind == "udp":
            f = entry["flat"]
            transport += (f"; paced at {runs[0]['target_rate']:,}/s lossless" if runs else "") + \
                (f"; flat out {f['send_rate']:,.0f}/s sent, {f['lost']:,} of {f['sent']:,} lost "
                 f"(server overload {f['counters']['DroppedOverload']:,}, kernel buffer {f['kernel_drops']:,})")
        rows.append([name, transport, f"{entry['bytes_per_event']:.0f}", rate, cpu, neck])
    lines.append(" | ".join(header))
    lines.append(" | ".join("---" for _ in header))
    lines += [" | ".join(r) for r in rows]
    lines.append("")
    for name, entry in results["inputs"].items():
        runs = entry["runs"]
        each = ", ".join(f"{x['events_per_s']:,.0f}" for x in runs)
        cores = ", ".join(f"{x['server_cores']:.2f}/{x['sender_cores']:.2f}/{x['other_cores']:.2f}"
                          for x in runs)
        lines.append(f"{name}: runs {each} events/s; server/senders/other cores {cores}")
        for st in entry.get("lossy_reps", []):
            lines.append(f"  repetition at {st['target_rate']:,}/s lost {st['lost']:,} of {st['sent']:,} "
                         f"(kernel buffer {st['kernel_drops']:,}, server overload "
                         f"{st['counters']['DroppedOverload']})")
        for st in entry.get("steps", []):
            c = st["counters"]
            lines.append(f"  paced {st['target_rate']:,}/s: sent {st['send_rate']:,.0f}/s, "
                         f"stored {c['StoredEvents']:,} of {st['sent']:,}, lost {st['lost']:,} "
                         f"(server: overload {c['DroppedOverload']}, rate {c['DroppedRate']}, "
                         f"malformed {c['Malformed']}; kernel buffer {st['kernel_drops']:,})")
    lines.append("")
    lines.append(f"total time {results['total_s']:.0f} s")
    if failures:
        lines.append("FAILURES:")
        lines += [f"  {f}" for f in failures]
    report = "\n".join(lines)
    print(report)
    with open(a.out, "w") as f:
        f.write(report + "\n")
    with open(os.path.splitext(a.out)[0] + ".json", "w") as f:
        json.dump(results, f, indent=1)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
