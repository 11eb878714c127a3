"""Drive real syslog senders against a running seqr's syslog listeners, then check what arrived.

Usage: python3 syslog_clients.py <serverUrl> <syslogUdpPort> <syslogTcpPort> <runId>
       python3 syslog_clients.py --rsyslog-tls <serverUrl> <syslogTlsPort> <caFile> <runId>

Stdlib only; needs util-linux `logger` and Debian's `rsyslogd` (Makefile deps installs both).
Each sender's messages carry TAG = <runId>-<sender>:

  stdlib-udp, stdlib-tcp   logging.handlers.SysLogHandler, facility LOCAL0, formatter
                           "%(name)s[%(process)d]: %(message)s" (RFC 3164 style, no timestamp or
                           hostname; TCP frames end in NUL): INFO, WARNING, and ERROR with a
                           traceback (kept inside its one message)
  logger-udp               `logger --rfc5424` with structured data exampleSDID@32473
                           (iut="3", eventSource="App"), -t myapp -p local3.warning, --msgid, --id
  logger-tcp-octet         the same over TCP with --octet-count (RFC 6587 octet counting)
  logger-tcp-lf            the same over TCP without --octet-count (newline framing)
  rsyslog                  rsyslogd -n with a private config (imfile only; no system config,
                           no /dev/log, no imklog) following a file, Tag fileapp, local1.notice,
                           forwarding with omfwd over TCP, octet-counted,
                           RSYSLOG_SyslogProtocol23Format; three lines appended to the file
  rsyslog-tls (--rsyslog-tls)  the same rsyslogd over TLS (RFC 5425) with Debian's gtls
                           netstream driver (rsyslog-gnutls), verifying the server's certificate
                           against caFile and its name (x509/name, permitted peer localhost)

Checks, through the search API: the number of events, level as syslog names it, the trimmed
message, facility, hostname (the sender's, or the peer address when the message has none),
app_name, proc_id, message_id, structured data as an array of one-key objects and the timestamp.
Exit status 0 only if every check passes.
"""

import logging
import logging.handlers
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from searchapi import Checks, brief, poll, props

HOST = "127.0.0.1"
LEVELS = {"INFO": "info", "WARNING": "warning", "ERROR": "err"}


def send_stdlib(port, transport, tag):
    socktype = socket.SOCK_STREAM if transport == "tcp" else socket.SOCK_DGRAM
    handler = logging.handlers.SysLogHandler(address=(HOST, port), facility=logging.handlers.SysLogHandler.LOG_LOCAL0,
                                             socktype=socktype)
    handler.setFormatter(logging.Formatter("%(name)s[%(process)d]: %(message)s"))
    log = logging.getLogger("pysyslog")
    log.propagate = False
    log.setLevel(logging.INFO)
    log.addHandler(handler)
    log.info(f"Hello alice from {tag}")
    log.warning(f"Disk 93.5% full {tag}")
    try:
        raise ValueError(f"Kaboom in {tag}")
    except ValueError:
        log.exception(f"Operation save failed {tag}")
    log.removeHandler(handler)
    handler.close()


def check_stdlib(url, sender, tag):
    c = Checks(sender)
    events = poll(url, f"@Message like '%{tag}%'", 3)
    c.expect("3 events", len(events) == 3, "3 events", [brief(e, 200) for e in events])
    want = {
        f"Hello alice from {tag}": "info",
        f"Disk 93.5% full {tag}": "warning",
        f"Operation save failed {tag}": "err",
    }
    for e in events:
        message = e.get("RenderedMessage") or ""
        first = message.split("\n", 1)[0]
        if not c.expect(f"message {first!r} was sent", first in want, list(want), repr(message)):
            continue
        p = props(e)
        c.equal(f"{first}: level", e.get("Level"), want[first], e)
        c.equal(f"{first}: facility", p.get("facility"), "local0", e)
        c.equal(f"{first}: app_name (the logger name)", p.get("app_name"), "pysyslog", e)
        c.equal(f"{first}: proc_id", p.get("proc_id"), str(os.getpid()), e)
        c.equal(f"{first}: hostname (none sent: the peer address)", p.get("hostname"), HOST, e)
        c.recent(f"{first}: timestamp (none sent: arrival)", e, time.time(), slack=30)
        if want[first] == "err":
            c.expect(f"{first}: the traceback stays in the message", message.rstrip().endswith(f"ValueError: Kaboom in {tag}")
                     and "\nTraceback (most recent call last):\n" in message,
                     "message, newline, traceback ending in the ValueError", repr(message))
        else:
            c.equal(f"{first}: message trimmed (the NUL terminator dropped)", message, first, e)
    return c.done()


def send_logger(port, transport, tag):
    """Returns the time just before sending (logger stamps the message itself)."""
    args = ["logger", "--rfc5424", "--server", HOST, "--port", str(port)]
    if transport == "udp":
        args += ["--udp"]
    elif transport == "tcp-octet":
        args += ["--tcp", "--octet-count"]
    else:
        args += ["--tcp"]
    args += ["--sd-id", "exampleSDID@32473", "--sd-param", 'iut="3"', "--sd-param", 'eventSource="App"',
             "--msgid", "ID47", "--id=4242", "-t", "myapp", "-p", "local3.warning", f"Disk full on {tag}"]
    sent_at = time.time()
    done = subprocess.run(args, capture_output=True, text=True, timeout=10)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed with {done.returncode}: {done.stderr.strip()}")
    return sent_at


def check_logger(url, sender, tag, sent_at):
    c = Checks(sender)
    events = poll(url, f"@Message like '%{tag}%'", 1)
    if not c.expect("1 event", len(events) == 1, "1 event", [brief(e, 300) for e in events]):
        return c.done()
    e = events[0]
    p = props(e)
    c.equal("message", e.get("RenderedMessage"), f"Disk full on {tag}", e)
    c.equal("level", e.get("Level"), "warning", e)
    c.equal("facility", p.get("facility"), "local3", e)
    c.equal("app_name", p.get("app_name"), "myapp", e)
    c.equal("proc_id", p.get("proc_id"), "4242", e)
    c.equal("message_id", p.get("message_id"), "ID47", e)
    c.equal("hostname", p.get("hostname"), socket.gethostname(), e)
    c.equal("structured data", p.get("exampleSDID@32473"), [{"iut": "3"}, {"eventSource": "App"}], e)
    c.equal("logger's own timeQuality structured data", p.get("timeQuality"), [{"tzKnown": "1"}, {"isSynced": "0"}], e)
    c.recent("timestamp as logger stamped it", e, sent_at, slack=2)
    return c.done()


RSYSLOG_CONF = """\
# Private config for the test: nothing but imfile in, omfwd out. No system config is read
# (-f), no imuxsock (/dev/log) or imklog; state files go to the work directory. rsyslogd's own
# messages go through this config (processInternalMessages), into a file here, instead of to
# the system log socket.
global(workDirectory="{work}" processInternalMessages="on"{global_tls})
module(load="imfile")
ruleset(name="forward") {{
  action(type="omfwd" target="127.0.0.1" port="{port}" protocol="tcp"
         TCP_Framing="octet-counted" Template="RSYSLOG_SyslogProtocol23Format"{action_tls})
}}
input(type="imfile" File="{file}" Tag="fileapp:" Facility="local1" Severity="notice"
      ruleset="forward")
action(type="omfile" file="{internal}")
"""


def rsyslogd_path():
    return shutil.which("rsyslogd") or next((p for p in ("/usr/sbin/rsyslogd", "/sbin/rsyslogd") if os.access(p, os.X_OK)), None)


# TLS with certificate and name checks: the server's certificate must chain to the CA and
# name localhost (the self-signed certificate seqr makes does).
RSYSLOG_GLOBAL_TLS = ' defaultNetstreamDriverCAFile="{ca}"'
RSYSLOG_ACTION_TLS = ('\n         StreamDriver="gtls" StreamDriverMode="1" StreamDriverAuthMode="x509/name"'
                      '\n         StreamDriverPermittedPeers="localhost"')


def run_rsyslog(url, port, tag, ca=None):
    c = Checks("rsyslog-tls" if ca else "rsyslog")
    rsyslogd = rsyslogd_path()
    if not c.expect("rsyslogd installed", rsyslogd is not None, "rsyslogd on PATH or in /usr/sbin (apt-get install rsyslog)",
                    "not found"):
        return c.done()
    tmp = tempfile.mkdtemp(prefix="seqr-rsyslog.")
    work, app_log, conf = os.path.join(tmp, "work"), os.path.join(tmp, "app.log"), os.path.join(tmp, "rsyslog.conf")
    internal = os.path.join(tmp, "rsyslogd-internal.log")
    os.mkdir(work)
    open(app_log, "w").close()
    with open(conf, "w") as f:
        f.write(RSYSLOG_CONF.format(
            work=work, port=port, file=app_log, internal=internal,
            global_tls=RSYSLOG_GLOBAL_TLS.format(ca=ca) if ca else "",
            action_tls=RSYSLOG_ACTION_TLS if ca else ""))
    output = open(os.path.join(tmp, "rsyslogd.out"), "w+")
    proc = subprocess.Popen([rsyslogd, "-n", "-f", conf, "-i", os.path.join(tmp, "rsyslogd.pid")],
                            stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT)
    lines = [f"first line {tag}", f"second line {tag}", f"third line {tag}   "]
    try:
        with open(app_log, "a") as f:
            for line in lines:
                f.write(line + "\n")
                f.flush()
        events = poll(url, f"@Message like '%{tag}%'", 3)
        running = proc.poll() is None
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        output.seek(0)
        said = output.read().strip()
        output.close()
        if os.path.exists(internal):
            with open(internal) as f:
                said = (said + "\n" + f.read()).strip()
        shutil.rmtree(tmp, ignore_errors=True)
    c.expect("rsyslogd ran until the events were found", running, "rsyslogd still running",
             f"it exited with {proc.returncode}: {said!r}")
    if not c.expect("3 events", len(events) == 3, "3 events", f"{[brief(e, 200) for e in events]}; rsyslogd said {said!r}"):
        if not events:
            return c.done()
    by_message = {e.get("RenderedMessage"): e for e in events}
    for line in lines:
        e = by_message.get(line.strip())
        if not c.expect(f"message {line.strip()!r} (trimmed)", e is not None, "that RenderedMessage", list(by_message)):
            continue
        p = props(e)
        c.equal(f"{line.strip()}: level", e.get("Level"), "notice", e)
        c.equal(f"{line.strip()}: facility", p.get("facility"), "local1", e)
        c.equal(f"{line.strip()}: app_name (the imfile Tag)", p.get("app_name"), "fileapp", e)
        c.equal(f"{line.strip()}: hostname", p.get("hostname"), socket.gethostname().split(".")[0], e)
        c.recent(f"{line.strip()}: timestamp", e, time.time(), slack=30)
    return c.done()


def main_rsyslog_tls(args):
    url, port, ca, run_id = args[0].rstrip("/"), int(args[1]), args[2], args[3]
    failures = run_rsyslog(url, port, f"{run_id}-rsyslog-tls", ca=ca)
    print(f"syslog over TLS: {len(failures)} check(s) failed" if failures else "syslog over TLS: all checks passed")
    return 1 if failures else 0


def main():
    # Stopped by `timeout` or run.sh: unwind, so the finally block stops rsyslogd.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if len(sys.argv) == 6 and sys.argv[1] == "--rsyslog-tls":
        return main_rsyslog_tls(sys.argv[2:])
    if len(sys.argv) != 5:
        print(__doc__, file=sys.stderr)
        return 2
    url, udp_port, tcp_port, run_id = sys.argv[1].rstrip("/"), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    if shutil.which("logger") is None:
        print("FAIL syslog: util-linux `logger` is not installed (apt-get install bsdutils)")
        return 1
    failures = []
    send_stdlib(udp_port, "udp", f"{run_id}-stdlib-udp")
    send_stdlib(tcp_port, "tcp", f"{run_id}-stdlib-tcp")
    logger_sent = {t: send_logger(udp_port if t == "udp" else tcp_port, t, f"{run_id}-logger-{t}") for t in ("udp", "tcp-octet", "tcp-lf")}
    failures += check_stdlib(url, "stdlib-udp", f"{run_id}-stdlib-udp")
    failures += check_stdlib(url, "stdlib-tcp", f"{run_id}-stdlib-tcp")
    for t, sent_at in logger_sent.items():
        failures += check_logger(url, f"logger-{t}", f"{run_id}-logger-{t}", sent_at)
    failures += run_rsyslog(url, tcp_port, f"{run_id}-rsyslog")
    print(f"syslog: {len(failures)} check(s) failed" if failures else "syslog: all checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
