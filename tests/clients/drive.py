"""Drive the real PyPI client seqlog 0.4.3 against a running seqr.

Usage: .venv/bin/python drive.py <seqlog|seqlog-clef> <serverUrl> <runId>

  seqlog       default mode: legacy {"Events": [...]} JSON to /api/events/raw
  seqlog-clef  use_clef=True: CRLF-joined CLEF to /ingest/clef

Sends three events tagged RunTag=<runId>-<mode>, with Python level names:
  INFO    "Hello {User} from {Client}"  User=alice Client=<mode> N=42
  WARNING "Disk {Pct}% full"             Pct=93.5
  ERROR   "Operation {Op} failed"        Op=save, traceback "ValueError: Kaboom in <mode>"
then flushes. Exits non-zero if seqlog reports a submission error.
Called by run.sh; check.py knows the expectations.
"""

import logging
import sys
import time

import seqlog


def main() -> int:
    if len(sys.argv) != 4 or sys.argv[1] not in ("seqlog", "seqlog-clef"):
        print(__doc__, file=sys.stderr)
        return 2
    client, server_url, run_id = sys.argv[1:]
    run_tag = f"{run_id}-{client}"

    failures = []
    seqlog.set_callback_on_failure(failures.append)
    seqlog.set_global_log_properties(RunTag=run_tag, Application="seqlog-driver")
    handler = seqlog.log_to_seq(
        server_url=server_url,
        level=logging.INFO,
        batch_size=10,
        auto_flush_timeout=1,
        override_root_logger=True,
        use_clef=(client == "seqlog-clef"),
    )

    log = logging.getLogger("seqlog-driver")
    log.info("Hello {User} from {Client}", User="alice", Client=client, N=42)
    log.warning("Disk {Pct}% full", Pct=93.5)
    try:
        raise ValueError("Kaboom in " + client)
    except ValueError:
        log.error("Operation {Op} failed", Op="save", exc_info=True)

    # seqlog's consumer thread polls its queue every 0.25 s and flush() only
    # sends what it has already taken off the queue: wait before flushing.
    time.sleep(0.6)
    handler.flush()
    handler.close()

    if failures:
        print(f"[drive.py] {client}: seqlog submission failed: {failures!r}", file=sys.stderr)
        return 1
    print(f"[drive.py] sent {client} {run_tag}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
