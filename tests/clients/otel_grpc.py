"""Drive the real OpenTelemetry Python SDK's OTLP/gRPC exporters against a running seqr, then
check what arrived.

Usage: .venv/bin/python otel_grpc.py <serverUrl> <runId> [<apiKey>]

opentelemetry-exporter-otlp-proto-grpc (grpcio underneath) with insecure=True to
endpoint=<serverUrl> (h2c on the server's HTTP port, LogsService/Export and TraceService/Export),
or, for an https:// <serverUrl>, over TLS trusting the CA file in OTEL_EXPORTER_OTLP_CERTIFICATE:

  logs, plain:  INFO "Hello alice" (User=alice, N=42), WARNING "Disk nearly full" (Pct=93.5),
                ERROR "Operation failed" with a traceback, through the stdlib logging bridge
  logs, gzip:   INFO "Compressed hello (gzip)" with compression=gzip
  traces:       a server span with a client child span that records an exception and ends in
                error; then, with gzip, a one-span trace

all tagged RunTag=<runId>-otel-grpc[-key]. Checks that every export call returned SUCCESS, then
finds the events through the search API: levels, messages, attributes, resource, exception, the
span tree, kinds and the error level.

With <apiKey> (for a seqr that requires keys) every export sends it as gRPC metadata: the log
exporters from OTEL_EXPORTER_OTLP_HEADERS=X-Seq-ApiKey=<key> (the SDK lowercases the name), the
span exporters from headers={"x-seq-apikey": key} (grpcio refuses upper-case metadata names, so
headers={"X-Seq-ApiKey": ...} fails on the client with "Invalid metadata"). The search sends it
too; an export without it must fail (UNAUTHENTICATED) and store nothing. Exit status 0 only if
every check passes.
"""

import logging
import os
import sys

import grpc
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

from searchapi import Checks, brief, poll, props


class Recording:
    """Wraps an exporter's export() to remember what each call returned."""

    def __init__(self, exporter):
        self.exporter = exporter
        self.results = []
        inner = exporter.export

        def export(batch, *args, **kwargs):
            result = inner(batch, *args, **kwargs)
            self.results.append(result.name)
            return result

        exporter.export = export


def exporter_options(url, api_key, compression, headers_from_env=False):
    if url.startswith("https://"):
        # gRPC over TLS (ALPN h2), trusting the CA named the standard OTel way.
        with open(os.environ["OTEL_EXPORTER_OTLP_CERTIFICATE"], "rb") as f:
            credentials = grpc.ssl_channel_credentials(root_certificates=f.read())
        options = {"endpoint": url, "insecure": False, "credentials": credentials, "timeout": 5}
    else:
        options = {"endpoint": url, "insecure": True, "timeout": 5}
    if compression:
        options["compression"] = grpc.Compression.Gzip
    os.environ.pop("OTEL_EXPORTER_OTLP_HEADERS", None)
    if api_key and headers_from_env:
        os.environ["OTEL_EXPORTER_OTLP_HEADERS"] = f"X-Seq-ApiKey={api_key}"
    elif api_key:
        options["headers"] = {"x-seq-apikey": api_key}
    return options


def send_logs(url, run_tag, api_key=None, compression=False, only=None):
    resource = Resource.create({"service.name": "otel-grpc-check", "RunTag": run_tag})
    provider = LoggerProvider(resource=resource)
    rec = Recording(OTLPLogExporter(**exporter_options(url, api_key, compression, headers_from_env=True)))
    provider.add_log_record_processor(BatchLogRecordProcessor(rec.exporter))
    logger = logging.getLogger(f"otel-grpc-check.{run_tag}.{compression}.{bool(api_key)}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(LoggingHandler(level=logging.INFO, logger_provider=provider))
    if only:
        logger.info(only, extra={"RunTag": run_tag})
    else:
        logger.info("Hello alice", extra={"User": "alice", "N": 42, "RunTag": run_tag})
        logger.warning("Disk nearly full", extra={"Pct": 93.5, "RunTag": run_tag})
        try:
            raise ValueError("Kaboom in otel-grpc")
        except ValueError:
            logger.exception("Operation failed", extra={"RunTag": run_tag})
    provider.shutdown()
    return rec.results


def send_trace(url, run_tag, api_key=None, compression=False):
    provider = TracerProvider(resource=Resource.create({"service.name": "otel-grpc-check"}))
    rec = Recording(OTLPSpanExporter(**exporter_options(url, api_key, compression)))
    provider.add_span_processor(BatchSpanProcessor(rec.exporter))
    tracer = provider.get_tracer("otel-grpc-check.tracer", "1.2.3")
    if compression:
        with tracer.start_as_current_span("gzip span", kind=SpanKind.INTERNAL, attributes={"RunTag": run_tag}) as root:
            pass
    else:
        with tracer.start_as_current_span("GET /orders", kind=SpanKind.SERVER, attributes={"RunTag": run_tag}) as root:
            with tracer.start_as_current_span("SELECT orders", kind=SpanKind.CLIENT, attributes={"RunTag": run_tag}) as child:
                child.record_exception(ValueError("deadlock"))
                child.set_status(Status(StatusCode.ERROR, "query failed"))
    trace_id = format(root.get_span_context().trace_id, "032x")
    provider.shutdown()
    return trace_id, rec.results


def span_name(event):
    tokens = event.get("MessageTemplateTokens") or [{}]
    return tokens[0].get("Text") or event.get("RenderedMessage")


def main():
    if len(sys.argv) not in (3, 4):
        print(__doc__, file=sys.stderr)
        return 2
    url, run_id = sys.argv[1].rstrip("/"), sys.argv[2]
    api_key = sys.argv[3] if len(sys.argv) == 4 else None
    sender = "otel-grpc" + ("-key" if api_key else "")
    run_tag = f"{run_id}-{sender}"
    c = Checks(sender)

    results = send_logs(url, run_tag, api_key)
    c.equal("logs export answered", results, ["SUCCESS"])
    results = send_logs(url, run_tag, api_key, compression=True, only="Compressed hello (gzip)")
    c.equal("gzip logs export answered", results, ["SUCCESS"])
    trace_id, results = send_trace(url, run_tag, api_key)
    c.equal("traces export answered", results, ["SUCCESS"])
    gzip_trace_id, results = send_trace(url, run_tag, api_key, compression=True)
    c.equal("gzip traces export answered", results, ["SUCCESS"])
    if api_key:
        # The exporter logs the refusal (UNAUTHENTICATED) as an error: expected here, keep it quiet.
        logging.getLogger("opentelemetry.exporter.otlp.proto.grpc.exporter").setLevel(logging.CRITICAL)
        results = send_logs(url, f"{run_tag}-nokey", None, only="Without a key")
        c.equal("an export without the key is refused", results, ["FAILURE"])

    logs = poll(url, f"RunTag = '{run_tag}' and @SpanKind is null", 4, api_key)
    by_message = {e.get("RenderedMessage"): e for e in logs}
    c.expect("four log records", len(logs) == 4, "4 events", [brief(e, 200) for e in logs])
    hello = by_message.get("Hello alice")
    if c.expect("the INFO record", hello is not None, "RenderedMessage 'Hello alice'", list(by_message)):
        c.equal("INFO level as sent", hello.get("Level"), "INFO", hello)
        p = props(hello)
        c.expect("attributes as properties", p.get("User") == "alice" and p.get("N") == 42,
                 "User='alice', N=42", brief(hello))
        resource = {r["Name"]: r["Value"] for r in hello.get("Resource") or []}
        c.expect("resource under @Resource", (resource.get("service") or {}).get("name") == "otel-grpc-check",
                 "service.name 'otel-grpc-check'", resource)
        c.recent("INFO timestamp", hello)
    warning = by_message.get("Disk nearly full")
    c.expect("WARN level and a double", warning is not None and warning.get("Level") == "WARN"
             and props(warning).get("Pct") == 93.5, "Level WARN, Pct=93.5", brief(warning))
    failed = by_message.get("Operation failed")
    c.expect("the traceback as @Exception", failed is not None and failed.get("Level") == "ERROR"
             and "ValueError: Kaboom in otel-grpc" in (failed.get("Exception") or ""),
             "Level ERROR with 'ValueError: Kaboom in otel-grpc' in Exception", brief(failed))
    c.expect("gzip-compressed logs", "Compressed hello (gzip)" in by_message,
             "'Compressed hello (gzip)'", list(by_message))

    spans = poll(url, f"@TraceId = '{trace_id}'", 2, api_key)
    by_name = {span_name(e): e for e in spans}
    root, child = by_name.get("GET /orders"), by_name.get("SELECT orders")
    if c.expect("two spans of the trace", root is not None and child is not None and len(spans) == 2,
                "'GET /orders' and 'SELECT orders'", list(by_name)):
        c.equal("span kinds", (root.get("SpanKind"), child.get("SpanKind")), ("Server", "Client"))
        c.equal("the child's parent is the root", child.get("ParentId"), root.get("SpanId"), child)
        c.expect("start before end", root.get("Start") and root["Start"] <= root["Timestamp"],
                 "Start <= Timestamp", (root.get("Start"), root.get("Timestamp")))
        c.equal("an error status is level Error", (child.get("Level"), root.get("Level")), ("Error", "Information"))
        c.expect("the recorded exception", "deadlock" in (child.get("Exception") or ""), "'deadlock' in Exception",
                 brief(child))
        c.equal("RunTag attribute", props(root).get("RunTag"), run_tag, root)
    gz = poll(url, f"@TraceId = '{gzip_trace_id}'", 1, api_key)
    c.expect("gzip-compressed trace", [span_name(e) for e in gz] == ["gzip span"], "['gzip span']",
             [span_name(e) for e in gz])
    if api_key:
        refused = poll(url, f"RunTag = '{run_tag}-nokey'", 1, api_key, timeout=1)
        c.expect("nothing stored without the key", not refused, "no events", [brief(e, 200) for e in refused])
    return 1 if c.done() else 0


if __name__ == "__main__":
    sys.exit(main())
