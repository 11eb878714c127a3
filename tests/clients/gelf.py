"""Drive the real GELF clients pygelf 0.4.3 and graypy 2.1.0 against a running seqr, then check
what arrived.

Usage: .venv/bin/python gelf.py <serverUrl> <gelfUdpPort> <gelfTcpPort> <runId>

For each client and transport (UDP, TCP, HTTP `POST /gelf` on the server's own port) it logs,
through the stdlib logging handler the client provides, three records tagged with the extra
field RunTag=<runId>-<client>-<transport>:
  INFO    "Hello alice from <client>-<transport>"  extras User=alice, N=42
  WARNING "Disk 93.5% full"
  ERROR   "Operation save failed"                  with a ValueError traceback (full_message)
and, over chunked UDP, one INFO record of about 6 KB of random text (zlib leaves it big enough
for at least three GELF chunks at the clients' default chunk sizes, 1300 and 1420 bytes).

Then finds each group through the search API and checks the levels as GELF names them (info,
warning, err), the messages, `_User` as property User and `_N` as the number 42, host, the
exception text, the client's own fields (pygelf debug: file/line/func; graypy: facility = the
logger name, file, line, pid) and the timestamp the record was created with. Exit status 0 only
if every check passes.
"""

import logging
import logging.handlers
import os
import secrets
import socket
import sys

import graypy
import pygelf

from searchapi import Checks, brief, poll, props

TRANSPORTS = ("udp", "tcp", "http", "udp-chunked")

LEVELS = {"INFO": "info", "WARNING": "warning", "ERROR": "err"}


class Sent(logging.Filter):
    """Remembers each record the handler sees (its creation time, level, message); sends counts
    the datagrams of a UDP handler."""

    def __init__(self):
        super().__init__()
        self.records = []
        self.sends = 0

    def filter(self, record):
        self.records.append(record)
        return True


def make_handler(client, transport, host, udp_port, tcp_port, http_port):
    if client == "pygelf":
        # debug=True adds _file/_line/_module/_func/_logger_name; extras need include_extra_fields.
        common = {"debug": True, "include_extra_fields": True, "_app": "seqr-gelf-check"}
        if transport in ("udp", "udp-chunked"):
            return pygelf.GelfUdpHandler(host=host, port=udp_port, **common)
        if transport == "tcp":
            return pygelf.GelfTcpHandler(host=host, port=tcp_port, **common)
        return pygelf.GelfHttpHandler(host=host, port=http_port, path="/gelf", **common)
    if transport in ("udp", "udp-chunked"):
        return graypy.GELFUDPHandler(host, udp_port)
    if transport == "tcp":
        return graypy.GELFTCPHandler(host, tcp_port)
    return graypy.GELFHTTPHandler(host, http_port, path="/gelf")


def count_sends(handler, sent):
    """Counts the datagrams (GELF chunks) the handler sends: both clients' send() split the
    message and call DatagramHandler.send once per chunk. Returns the function that undoes it."""
    original = logging.handlers.DatagramHandler.send

    def counting(self, s):
        if self is handler:
            sent.sends += 1
        return original(self, s)

    logging.handlers.DatagramHandler.send = counting
    return lambda: setattr(logging.handlers.DatagramHandler, "send", original)


def drive(client, transport, host, udp_port, tcp_port, http_port, tag):
    name = f"{client}-{transport}"
    handler = make_handler(client, transport, host, udp_port, tcp_port, http_port)
    sent = Sent()
    handler.addFilter(sent)
    uncount = count_sends(handler, sent) if transport == "udp-chunked" else None
    log = logging.getLogger(name)
    log.propagate = False
    log.setLevel(logging.INFO)
    log.addHandler(handler)
    big = None
    if transport == "udp-chunked":
        big = f"Big message {tag} " + secrets.token_urlsafe(4500)  # 6 KB of random text
        log.info(big, extra={"RunTag": tag})
    else:
        log.info(f"Hello alice from {name}", extra={"User": "alice", "N": 42, "RunTag": tag})
        log.warning("Disk 93.5% full", extra={"RunTag": tag})
        try:
            raise ValueError(f"Kaboom in {name}")
        except ValueError:
            log.error("Operation save failed", exc_info=True, extra={"RunTag": tag})
    log.removeHandler(handler)
    handler.close()
    if uncount:
        uncount()
    return sent, big


def check(url, client, transport, tag, sent, big):
    name = f"{client}-{transport}"
    c = Checks(name)
    want = len(sent.records)
    events = poll(url, f"RunTag = '{tag}'", want)
    c.expect(f"{want} event(s) with RunTag = '{tag}'", len(events) == want, f"{want} events",
             f"{len(events)}: {[brief(e, 200) for e in events]}")
    if not events:
        return c.done()
    levels = sorted(e.get("Level") for e in events)
    c.equal("levels as GELF names them", levels, sorted(LEVELS[r.levelname] for r in sent.records))
    hostname = socket.gethostname()
    by_message = {e.get("RenderedMessage"): e for e in events}
    for record in sent.records:
        e = by_message.get(record.getMessage())
        shown = record.getMessage() if len(record.getMessage()) < 60 else record.getMessage()[:40] + "..."
        if not c.expect(f"message {shown!r}", e is not None, "an event with that RenderedMessage",
                        [brief(x, 200) for x in events]):
            continue
        p = props(e)
        c.equal(f"{record.levelname}: level", e.get("Level"), LEVELS[record.levelname], e)
        c.recent(f"{record.levelname}: timestamp as created", e, record.created, slack=0.01)
        c.equal(f"{record.levelname}: host", p.get("host"), hostname, e)
        if client == "pygelf":
            c.equal(f"{record.levelname}: _file as file", p.get("file"), "gelf.py", e)
            c.equal(f"{record.levelname}: _line as line", p.get("line"), record.lineno, e)
            c.equal(f"{record.levelname}: _func as func", p.get("func"), "drive", e)
            c.equal(f"{record.levelname}: static _app as app", p.get("app"), "seqr-gelf-check", e)
        else:
            c.equal(f"{record.levelname}: facility (the logger name)", p.get("facility"), name, e)
            c.equal(f"{record.levelname}: file", p.get("file"), record.pathname, e)
            c.equal(f"{record.levelname}: line", p.get("line"), record.lineno, e)
            c.equal(f"{record.levelname}: _pid as pid", p.get("pid"), os.getpid(), e)
        if record.levelname == "INFO" and big is None:
            c.equal("INFO: _User as User", p.get("User"), "alice", e)
            c.expect("INFO: _N as the number 42", p.get("N") == 42 and not isinstance(p.get("N"), bool),
                     "42", repr(p.get("N")))
            c.expect("INFO: no Exception", not e.get("Exception"), "none", repr(e.get("Exception")))
        if record.levelname == "ERROR":
            exc = e.get("Exception") or ""
            c.expect("ERROR: full_message as Exception", f"ValueError: Kaboom in {name}" in exc
                     and exc.lstrip().startswith("Traceback"), f"a traceback ending in 'ValueError: Kaboom in {name}'",
                     repr(exc))
    if big is not None:
        c.expect("sent as at least 3 GELF chunks", sent.sends >= 3, ">= 3 datagrams", f"the client sent {sent.sends}")
        e = by_message.get(big)
        c.expect("the whole reassembled message", e is not None, f"RenderedMessage of {len(big)} chars",
                 [len(x.get("RenderedMessage") or "") for x in events])
    return c.done()


def main():
    if len(sys.argv) != 5:
        print(__doc__, file=sys.stderr)
        return 2
    url, udp_port, tcp_port, run_id = sys.argv[1].rstrip("/"), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    host = "127.0.0.1"
    http_port = int(url.rsplit(":", 1)[1])
    sent = []
    for client in ("pygelf", "graypy"):
        for transport in TRANSPORTS:
            tag = f"{run_id}-{client}-{transport}"
            sent.append((client, transport, tag) + drive(client, transport, host, udp_port, tcp_port, http_port, tag))
    failures = []
    for client, transport, tag, records, big in sent:
        failures += check(url, client, transport, tag, records, big)
    print(f"gelf: {len(failures)} check(s) failed" if failures else "gelf: all checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
