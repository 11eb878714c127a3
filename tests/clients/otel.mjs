// Drive the real OpenTelemetry JS exporters against a running seqr, then check what arrived.
//
// Usage: node otel.mjs <serverUrl> <runId>
//
// Logs through @opentelemetry/exporter-logs-otlp-http (OTLP/JSON, intValue as a number) and
// -proto (protobuf), with a message template in the body and its values as attributes; a
// trace of two spans through @opentelemetry/exporter-trace-otlp-proto. Each is tagged
// RunTag=<runId>-otel-js-<exporter>. Exit status 0 only if every check passes.

import { SeverityNumber } from "@opentelemetry/api-logs";
import { OTLPLogExporter as JsonLogExporter } from "@opentelemetry/exporter-logs-otlp-http";
import { OTLPLogExporter as ProtoLogExporter } from "@opentelemetry/exporter-logs-otlp-proto";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchLogRecordProcessor, LoggerProvider } from "@opentelemetry/sdk-logs";
import { BasicTracerProvider, BatchSpanProcessor } from "@opentelemetry/sdk-trace-base";

const [url, runId] = process.argv.slice(2).map((a) => a?.replace(/\/$/, ""));
if (!url || !runId) {
  console.error("usage: node otel.mjs <serverUrl> <runId>");
  process.exit(2);
}

async function sendLogs(Exporter, tag) {
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ "service.name": "otel-js-check" }),
    processors: [new BatchLogRecordProcessor({ exporter: new Exporter({ url: `${url}/ingest/otlp/v1/logs` }) })],
  });
  const logger = provider.getLogger("otel-js-check.logger", "2.0.0");
  logger.emit({ severityNumber: SeverityNumber.INFO, severityText: "Information", body: "Hello {User} from {Client}", attributes: { User: "alice", Client: tag, N: 42, RunTag: tag } });
  logger.emit({ severityNumber: SeverityNumber.ERROR, body: "Payment {Id} failed", attributes: { Id: 7, RunTag: tag, "exception.type": "Error", "exception.message": "declined" } });
  await provider.shutdown();
}

async function sendTrace(tag) {
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": "otel-js-check" }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${url}/ingest/otlp/v1/traces` }))],
  });
  const tracer = provider.getTracer("otel-js-check.tracer");
  const root = tracer.startSpan("checkout", { attributes: { RunTag: tag } });
  root.end();
  await provider.shutdown();
  return root.spanContext().traceId;
}

async function search(filter) {
  const q = new URLSearchParams({ filter, count: "100", render: "true" });
  const r = await fetch(`${url}/api/events/signal?${q}`);
  if (!r.ok) throw new Error(`search answered ${r.status}: ${await r.text()}`);
  return (await r.json()).Events;
}

const prop = (e, name) => e.Properties.find((p) => p.Name === name)?.Value;
let failed = 0;
function expect(name, ok, detail) {
  console.log(`${ok ? "PASS" : "FAIL"} otel-js: ${name}${ok ? "" : `: ${JSON.stringify(detail)}`}`);
  if (!ok) failed++;
}

for (const [Exporter, kind] of [[JsonLogExporter, "http-json"], [ProtoLogExporter, "proto"]]) {
  const tag = `${runId}-otel-js-${kind}`;
  await sendLogs(Exporter, tag);
  let events = [];
  for (let i = 0; i < 40 && events.length < 2; i++) {
    events = await search(`RunTag = '${tag}'`);
    if (events.length < 2) await new Promise((r) => setTimeout(r, 250));
  }
  const hello = events.find((e) => e.Level === "Information");
  const error = events.find((e) => e.Level === "Error");
  expect(`${kind}: two records`, events.length === 2, events.map((e) => e.RenderedMessage));
  expect(`${kind}: the body is the message template`, hello?.RenderedMessage === `Hello alice from ${tag}`, hello?.RenderedMessage);
  expect(`${kind}: integer attribute`, prop(hello ?? { Properties: [] }, "N") === 42, hello?.Properties);
  expect(`${kind}: level from the severity number`, error?.RenderedMessage === "Payment 7 failed", error);
  expect(`${kind}: exception from its attributes`, error?.Exception === "Error: declined", error?.Exception);
  expect(`${kind}: scope`, hello?.Scope?.find((p) => p.Name === "name")?.Value === "otel-js-check.logger", hello?.Scope);
}

const traceId = await sendTrace(`${runId}-otel-js-trace`);
let spans = [];
for (let i = 0; i < 40 && spans.length < 1; i++) {
  spans = await search(`@TraceId = '${traceId}'`);
  if (!spans.length) await new Promise((r) => setTimeout(r, 250));
}
expect("trace-proto: the span", spans.length === 1 && spans[0].MessageTemplateTokens[0]?.Text === "checkout" && spans[0].Start, spans);
process.exit(failed ? 1 : 0);
