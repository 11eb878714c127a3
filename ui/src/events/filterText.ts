// Writing search expressions from values the user clicks: property paths, literals, and the
// clause appended by include/exclude (Seq's green tick / red cross).

import type { EventEntity, NameValue } from "../api";

export type PathSegment = string | number;

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function quote(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/// `Client.Ip`, `Items[0]`, `@Properties['odd name'].x`.
export function pathText(path: PathSegment[]): string {
  let out = "";
  path.forEach((segment, i) => {
    if (typeof segment === "number") out += `[${segment}]`;
    else if (IDENTIFIER.test(segment)) out += i === 0 ? segment : `.${segment}`;
    else out += i === 0 ? `@Properties[${quote(segment)}]` : `[${quote(segment)}]`;
  });
  return out;
}

/// The literal for a JSON value, or null when it has none (objects, arrays).
export function literal(value: unknown): string | null {
  if (value === null) return "null";
  if (typeof value === "string") return quote(value);
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return null;
}

export function clause(path: PathSegment[], value: unknown, include: boolean): string | null {
  const lit = literal(value);
  if (lit === null) return null;
  const target = pathText(path);
  if (value === null) return include ? `${target} is null` : `${target} is not null`;
  return `${target} ${include ? "=" : "<>"} ${lit}`;
}

/// `current and extra`, keeping `or` inside `current` from swallowing the new clause.
export function appendClause(current: string, extra: string): string {
  const base = current.trim();
  if (!base) return extra;
  const wrapped = /\bor\b/i.test(base) ? `(${base})` : base;
  return `${wrapped} and ${extra}`;
}

function toObject(list: NameValue[] | undefined, escapeAt: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const { Name, Value } of list ?? []) out[escapeAt && Name.startsWith("@") ? "@" + Name : Name] = untag(Value);
  return out;
}

/// The API's `$typeTag` back to CLEF's `$type`.
function untag(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(untag);
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k === "$typeTag" ? "$type" : k] = untag(v);
    return out;
  }
  return value;
}

export function templateOf(event: EventEntity): string {
  return event.MessageTemplateTokens.map((t) => ("Text" in t ? t.Text.replace(/[{}]/g, (b) => b + b) : t.RawText)).join("");
}

/// The event as the CLEF document a client would send.
export function toClef(event: EventEntity): Record<string, unknown> {
  const doc: Record<string, unknown> = { "@t": event.Timestamp, "@mt": templateOf(event) };
  if (event.Level && event.Level !== "Information") doc["@l"] = event.Level;
  if (event.Exception) doc["@x"] = event.Exception;
  if (/^\$[0-9A-F]{8}$/i.test(event.EventType)) doc["@i"] = event.EventType.slice(1).toLowerCase();
  if (event.TraceId) doc["@tr"] = event.TraceId;
  if (event.SpanId) doc["@sp"] = event.SpanId;
  if (event.ParentId) doc["@ps"] = event.ParentId;
  if (event.Start) doc["@st"] = event.Start;
  if (event.SpanKind) doc["@sk"] = event.SpanKind;
  if (event.Resource) doc["@ra"] = toObject(event.Resource, false);
  if (event.Scope) doc["@sa"] = toObject(event.Scope, false);
  return { ...doc, ...toObject(event.Properties, true) };
}
