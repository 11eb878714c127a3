"""Drive the real OpenTelemetry Python SDK against a running seqr, then check what arrived.

Usage: .venv/bin/python otel.py <serverUrl> <runId>

Sends, over OTLP/HTTP protobuf (opentelemetry-exporter-otlp-proto-http), three log records
through the stdlib logging bridge (INFO with extra attributes, WARNING, ERROR with a
traceback) and a trace of two spans (a server span with a child client span that records an
exception and ends in error), all tagged RunTag=<runId>-otel-py; then, with gzip, one more log
record. Then finds every one of them through the search API and checks level, message,
attributes, resource, scope, ids and the span tree. Exit status 0 only if all checks pass.
"""

import json
import logging
import sys
import time
import urllib.parse
import urllib.request

from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode


def send_logs(url, run_tag, compression=None, message_suffix=""):
    resource = Resource.create({"service.name": "otel-py-check", "RunTag": run_tag})
    provider = LoggerProvider(resource=resource)
    exporter = OTLPLogExporter(endpoint=f"{url}/ingest/otlp/v1/logs", compression=compression)
    provider.add_log_record_processor(BatchLogRecordProcessor(exporter))
    logger = logging.getLogger(f"otel-py-check{message_suffix}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(LoggingHandler(level=logging.INFO, logger_provider=provider))
    if message_suffix:
        logger.info("Compressed hello%s", message_suffix, extra={"RunTag": run_tag})
    else:
        logger.info("Hello alice", extra={"User": "alice", "N": 42, "RunTag": run_tag, "http.request.method": "GET"})
        logger.warning("Disk nearly full", extra={"Pct": 93.5, "RunTag": run_tag})
        try:
            raise ValueError("Kaboom in otel-py")
        except ValueError:
            logger.exception("Operation failed", extra={"RunTag": run_tag})
    provider.shutdown()


def send_trace(url, run_tag):
    resource = Resource.create({"service.name": "otel-py-check"})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{url}/ingest/otlp/v1/traces")))
    tracer = provider.get_tracer("otel-py-check.tracer", "1.2.3")
    with tracer.start_as_current_span("GET /orders", kind=SpanKind.SERVER, attributes={"RunTag": run_tag, "http.route": "/orders"}) as root:
        with tracer.start_as_current_span("SELECT orders", kind=SpanKind.CLIENT, attributes={"RunTag": run_tag, "db.system": "postgresql"}) as child:
            child.add_event("rows fetched", {"rows": 3})
            child.record_exception(ValueError("deadlock"))
            child.set_status(Status(StatusCode.ERROR, "query failed"))
        trace_id = format(root.get_span_context().trace_id, "032x")
    provider.shutdown()
    return trace_id


def search(url, filter_text):
    query = urllib.parse.urlencode({"filter": filter_text, "count": 100, "render": "true"})
    with urllib.request.urlopen(f"{url}/api/events/signal?{query}", timeout=10) as r:
        return json.load(r)["Events"]


def prop(event, path):
    parts = path.split(".")
    for p in event["Properties"]:
        if p["Name"] == parts[0]:
            value = p["Value"]
            for part in parts[1:]:
                value = value.get(part) if isinstance(value, dict) else None
            return value
    return None


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    url, run_id = sys.argv[1].rstrip("/"), sys.argv[2]
    run_tag = f"{run_id}-otel-py"
    send_logs(url, run_tag)
    send_logs(url, run_tag, compression=Compression.Gzip, message_suffix=" (gzip)")
    trace_id = send_trace(url, run_tag)

    failures = []

    def expect(name, condition, detail=""):
        print(("PASS" if condition else "FAIL") + f" otel-py: {name}" + ("" if condition else f": {detail}"))
        if not condition:
            failures.append(name)

    logs = []
    spans = []
    for _ in range(40):
        logs = search(url, f"RunTag = '{run_tag}' and @SpanKind is null and not Has(@Start)")
        spans = search(url, f"@TraceId = '{trace_id}'")
        if len(logs) >= 4 and len(spans) >= 2:
            break
        time.sleep(0.25)
    by_message = {e.get("RenderedMessage"): e for e in logs}
    hello = by_message.get("Hello alice")
    expect("four log records arrived", len(logs) == 4, [e.get("RenderedMessage") for e in logs])
    if hello:
        expect("INFO level as sent", hello["Level"] == "INFO", hello["Level"])
        expect("attributes as properties", prop(hello, "User") == "alice" and prop(hello, "N") == 42, hello["Properties"])
        expect("dotted attributes as paths", prop(hello, "http.request.method") == "GET", hello["Properties"])
        resource = {p["Name"]: p["Value"] for p in hello.get("Resource", [])}
        expect("resource under @Resource", resource.get("service", {}).get("name") == "otel-py-check", resource)
        scope = {p["Name"]: p["Value"] for p in hello.get("Scope", [])}
        expect("scope under @Scope", scope.get("name") == "otel-py-check", scope)
    else:
        expect("the INFO record", False, list(by_message))
    failed = by_message.get("Operation failed")
    expect("the exception's traceback as @Exception", failed is not None and "ValueError: Kaboom in otel-py" in failed.get("Exception", ""), failed)
    expect("gzip-compressed export", "Compressed hello (gzip)" in by_message, list(by_message))
    warning = by_message.get("Disk nearly full")
    expect("WARN level and a double", warning is not None and warning["Level"] == "WARN" and prop(warning, "Pct") == 93.5, warning)

    by_name = {e["MessageTemplateTokens"][0].get("Text"): e for e in spans}
    root, child = by_name.get("GET /orders"), by_name.get("SELECT orders")
    expect("two spans of the trace", root is not None and child is not None, list(by_name))
    if root and child:
        expect("span kinds", root.get("SpanKind") == "Server" and child.get("SpanKind") == "Client", (root.get("SpanKind"), child.get("SpanKind")))
        expect("the child's parent is the root", child.get("ParentId") == root.get("SpanId") and "ParentId" not in root, (child.get("ParentId"), root.get("SpanId")))
        expect("start before end", root["Start"] <= root["Timestamp"], (root["Start"], root["Timestamp"]))
        expect("an error status is level Error", child.get("Level") == "Error" and root.get("Level") == "Information", (child.get("Level"), root.get("Level")))
        expect("the recorded exception", "deadlock" in child.get("Exception", ""), child.get("Exception"))
        events = prop(child, "Events") or []
        expect("span events kept", any(e.get("Name") == "rows fetched" for e in events), events)
        scope = {p["Name"]: p["Value"] for p in child.get("Scope", [])}
        expect("tracer scope and version", scope.get("name") == "otel-py-check.tracer" and scope.get("version") == "1.2.3", scope)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
