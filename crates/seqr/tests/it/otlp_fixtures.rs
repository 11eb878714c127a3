//! Replays what the real OpenTelemetry exporters sent (the `otel-*` fixtures: Python and JS,
//! protobuf, JSON and gzip, logs and traces) to a fresh server, then reads the events back and
//! checks each record's level, time, message, attributes, resource, scope, ids and exception
//! against the fixture's own decoded form of the request.

use std::path::Path;

use base64::Engine;
use serde_json::Value;

use crate::fixtures::{Captured, FIXTURES, parse_fixture};
use crate::support::{Request, TestDir, read_all};

/// The bytes a captured request sent, and the request as OTLP/JSON (the capture's decoding
/// for protobuf bodies, the body itself for JSON ones).
fn body_and_json(req: &Captured) -> (Vec<u8>, Value) {
    let text = String::from_utf8_lossy(&req.body).into_owned();
    if !text.trim_start().starts_with('[') {
        let json = serde_json::from_str(&text).expect("an OTLP/JSON body");
        return (req.body.clone(), json);
    }
    // `[wire body ...; base64:]` (or `[binary protobuf ...]` when not compressed), its base64
    // line, then later `[decoded with opentelemetry-proto ...]` and the JSON.
    let mut lines = text.lines();
    let mut wire = None;
    while let Some(line) = lines.next() {
        if line.starts_with('[') && line.contains("base64:]") && wire.is_none() {
            let b64 = lines.next().expect("a base64 line");
            wire = Some(
                base64::engine::general_purpose::STANDARD
                    .decode(b64.trim())
                    .expect("base64"),
            );
        }
        if line.starts_with("[decoded with opentelemetry-proto") {
            break;
        }
    }
    let rest: Vec<&str> = lines.filter(|l| !l.starts_with('(')).collect();
    let json = serde_json::from_str(&rest.join("\n")).expect("the decoded JSON");
    (wire.expect("a wire body"), json)
}

fn attribute_value(v: &Value) -> Value {
    let v = &v["value"];
    if let Some(s) = v.get("stringValue") {
        return s.clone();
    }
    if let Some(i) = v.get("intValue") {
        let n: i64 = match i {
            Value::String(s) => s.parse().unwrap(),
            other => other.as_i64().unwrap(),
        };
        return n.into();
    }
    if let Some(d) = v.get("doubleValue") {
        return d.clone();
    }
    if let Some(b) = v.get("boolValue") {
        return b.clone();
    }
    panic!("an attribute value this test does not know: {v}")
}

fn iso(nanos: &Value) -> String {
    let n: u64 = match nanos {
        Value::String(s) => s.parse().unwrap(),
        other => other.as_u64().unwrap(),
    };
    let ticks = seqr_types::timestamp::UNIX_EPOCH_TICKS + (n / 100) as i64;
    seqr_types::Timestamp::from_ticks(ticks).to_iso()
}

/// `props` (an API `[{Name, Value}]` list) at the dotted `key`.
fn at_path<'a>(props: &'a Value, key: &str) -> Option<&'a Value> {
    let mut parts = key.split('.');
    let first = parts.next()?;
    let mut node = props
        .as_array()?
        .iter()
        .find(|p| p["Name"] == first)
        .map(|p| &p["Value"])?;
    for part in parts {
        node = node.get(part)?;
    }
    Some(node)
}

fn template(event: &Value) -> String {
    event["MessageTemplateTokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            t.get("Text")
                .or_else(|| t.get("RawText"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

struct Check<'a> {
    name: &'a str,
    problems: Vec<String>,
}

impl Check<'_> {
    fn eq(&mut self, what: &str, found: Option<&Value>, expected: &Value) {
        // The capture's decoded text shows the driver's temporary directory as `/app/`; the
        // wire bytes have the real path.
        let found = found.map(|v| match v {
            Value::String(s) => Value::String(s.replace("/tmp/app/", "/app/")),
            other => other.clone(),
        });
        if found.as_ref() != Some(expected) {
            self.problems.push(format!(
                "{}: {what}: expected {expected}, found {found:?}",
                self.name
            ));
        }
    }
}

fn check_common(c: &mut Check<'_>, event: &Value, resource: &Value, scope: &Value, attrs: &Value) {
    for a in attrs.as_array().into_iter().flatten() {
        let key = a["key"].as_str().unwrap();
        c.eq(key, at_path(&event["Properties"], key), &attribute_value(a));
    }
    for a in resource["attributes"].as_array().into_iter().flatten() {
        let key = a["key"].as_str().unwrap();
        c.eq(
            &format!("resource {key}"),
            at_path(&event["Resource"], key),
            &attribute_value(a),
        );
    }
    if let Some(name) = scope.get("name") {
        c.eq("scope name", at_path(&event["Scope"], "name"), name);
    }
}

fn check_logs(c: &mut Check<'_>, request: &Value, found: &[Value]) -> usize {
    let mut n = 0;
    for rl in request["resourceLogs"].as_array().unwrap() {
        for sl in rl["scopeLogs"].as_array().unwrap() {
            for record in sl["logRecords"].as_array().unwrap() {
                n += 1;
                let body = record["body"]["stringValue"].as_str().unwrap();
                let Some(event) = found.iter().find(|e| template(e) == body) else {
                    c.problems
                        .push(format!("{}: no event with message {body:?}", c.name));
                    continue;
                };
                c.eq(
                    "timestamp",
                    event.get("Timestamp"),
                    &iso(&record["timeUnixNano"]).into(),
                );
                let level = record["severityText"]
                    .as_str()
                    .filter(|s| !s.is_empty())
                    .unwrap_or("Information");
                c.eq("level", event.get("Level"), &level.into());
                let stack = record["attributes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|a| a["key"] == "exception.stacktrace");
                if let Some(stack) = stack {
                    c.eq("exception", event.get("Exception"), &attribute_value(stack));
                }
                for (field, member) in [("traceId", "TraceId"), ("spanId", "SpanId")] {
                    if let Some(id) = record
                        .get(field)
                        .and_then(Value::as_str)
                        .filter(|s| !s.is_empty())
                    {
                        c.eq(member, event.get(member), &id.into());
                    }
                }
                check_common(
                    c,
                    event,
                    &rl["resource"],
                    &sl["scope"],
                    &record["attributes"],
                );
            }
        }
    }
    n
}

fn check_traces(c: &mut Check<'_>, request: &Value, found: &[Value]) -> usize {
    let mut n = 0;
    for rs in request["resourceSpans"].as_array().unwrap() {
        for ss in rs["scopeSpans"].as_array().unwrap() {
            for span in ss["spans"].as_array().unwrap() {
                n += 1;
                let name = span["name"].as_str().unwrap();
                let Some(event) = found.iter().find(|e| template(e) == name) else {
                    c.problems
                        .push(format!("{}: no span named {name:?}", c.name));
                    continue;
                };
                c.eq(
                    "end",
                    event.get("Timestamp"),
                    &iso(&span["endTimeUnixNano"]).into(),
                );
                c.eq(
                    "start",
                    event.get("Start"),
                    &iso(&span["startTimeUnixNano"]).into(),
                );
                c.eq("trace id", event.get("TraceId"), &span["traceId"]);
                c.eq("span id", event.get("SpanId"), &span["spanId"]);
                if let Some(parent) = span
                    .get("parentSpanId")
                    .filter(|p| p.as_str().is_some_and(|s| !s.is_empty()))
                {
                    c.eq("parent id", event.get("ParentId"), parent);
                }
                let kind = span["kind"]
                    .as_str()
                    .unwrap_or("")
                    .trim_start_matches("SPAN_KIND_");
                let kind = format!("{}{}", &kind[..1], kind[1..].to_ascii_lowercase());
                c.eq("kind", event.get("SpanKind"), &kind.into());
                let error = span["status"]["code"].as_str() == Some("STATUS_CODE_ERROR");
                c.eq(
                    "level",
                    event.get("Level"),
                    &(if error { "Error" } else { "Information" }).into(),
                );
                if let Some(events) = span["events"].as_array() {
                    c.eq(
                        "span event",
                        at_path(&event["Properties"], "Events")
                            .and_then(|e| e.get(0))
                            .and_then(|e| e.get("Name")),
                        &events[0]["name"],
                    );
                }
                check_common(c, event, &rs["resource"], &ss["scope"], &span["attributes"]);
            }
        }
    }
    n
}

#[test]
fn opentelemetry_exporters_replay_and_read_back_as_sent() {
    let mut files: Vec<_> = std::fs::read_dir(Path::new(FIXTURES))
        .expect("the fixtures directory")
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("otel-")
        })
        .collect();
    files.sort();
    assert!(files.len() >= 6, "the otel fixtures: {files:?}");
    let mut problems = Vec::new();
    for path in files {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        let (_dir, server) = TestDir::fresh();
        let mut sent = 0;
        let mut checks = Vec::new();
        for req in parse_fixture(&text) {
            let (wire, json) = body_and_json(&req);
            let mut r = Request::new(&req.method, &req.target).body(&wire);
            r.headers = req.headers.clone();
            let response = r.send(server.port).unwrap();
            assert_eq!(response.status, 200, "{name}: {}", response.text());
            let json_answer = req
                .header("content-type")
                .is_some_and(|c| c.contains("json"));
            if json_answer {
                assert_eq!(
                    response.text(),
                    "{}",
                    "{name}: an ExportServiceResponse without partialSuccess"
                );
            } else {
                assert!(
                    response.body.is_empty(),
                    "{name}: an empty protobuf response"
                );
            }
            checks.push((req.path().to_owned(), json));
        }
        let found = read_all(server.port, 1000, "render=true");
        let mut c = Check {
            name: &name,
            problems: Vec::new(),
        };
        for (path, json) in &checks {
            sent += if path.ends_with("/logs") {
                check_logs(&mut c, json, &found)
            } else {
                check_traces(&mut c, json, &found)
            };
        }
        if sent != found.len() {
            c.problems.push(format!(
                "{name}: sent {sent} records, read back {}",
                found.len()
            ));
        }
        problems.extend(c.problems);
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
