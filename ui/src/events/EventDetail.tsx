// An expanded event: properties as a tree with include/exclude actions, the exception with its
// formatting, identity and trace ids, and the actions Seq offers (find by type, copy as CLEF,
// permalink). Everything is text; the only links are http(s) values.

import { useState } from "preact/hooks";
import type { EventEntity, NameValue } from "../api";
import { href } from "../route";
import { formatTimestamp } from "../time";
import { clause, literal, toClef, type PathSegment } from "./filterText";

interface Props {
  event: EventEntity;
  /// Appends a clause to the search and runs it.
  onFilter: (clause: string) => void;
}

export function EventDetail({ event, onFilter }: Props) {
  const [copied, setCopied] = useState<string | null>(null);
  const clef = () => JSON.stringify(toClef(event));
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(clef());
      setCopied("Copied as CLEF.");
    } catch {
      setCopied(clef());
    }
  };
  const from = new Date(Date.parse(event.Timestamp) - 1).toISOString();
  const to = new Date(Date.parse(event.Timestamp) + 1).toISOString();
  return (
    <div class="event-detail" onClick={(e) => e.stopPropagation()}>
      <div class="event-actions">
        <button type="button" onClick={() => onFilter(`@EventType = ${event.EventType.replace(/^\$/, "0x")}`)}>
          Find events of this type
        </button>
        <button type="button" onClick={copy}>
          Copy as CLEF
        </button>
        <a href={href("event/" + encodeURIComponent(event.Id))} class="permalink">
          Permalink
        </a>
        <a href={href("events", { filter: `@Id = '${event.Id}'`, from, to })}>Show in range</a>
      </div>
      {copied && (
        <textarea class="copied" readOnly rows={copied.startsWith("{") ? 3 : 1} aria-label="CLEF document" value={copied} />
      )}
      <table class="properties">
        <tbody>
          <Row label="Timestamp" value={formatTimestamp(event.Timestamp)} />
          <Row label="Level" value={event.Level} />
          <Row label="Event type" value={event.EventType} />
          <Row label="Id" value={event.Id} />
          {event.TraceId && <Row label="Trace" value={event.TraceId} />}
          {event.SpanId && <Row label="Span" value={event.SpanId} />}
          {event.ParentId && <Row label="Parent span" value={event.ParentId} />}
          {event.SpanKind && <Row label="Span kind" value={event.SpanKind} />}
          {event.Elapsed && <Row label="Elapsed" value={event.Elapsed} />}
          {event.Properties.map((p) => (
            <PropertyRows key={p.Name} name={p.Name} value={p.Value} path={[p.Name]} depth={0} onFilter={onFilter} />
          ))}
          {event.Resource && <Group title="Resource" list={event.Resource} root="@Resource" onFilter={onFilter} />}
          {event.Scope && <Group title="Scope" list={event.Scope} root="@Scope" onFilter={onFilter} />}
        </tbody>
      </table>
      {event.Exception && <pre class="exception">{event.Exception}</pre>}
    </div>
  );
}

function Row({ label, value }: { label: string; value: string }) {
  return (
    <tr class="builtin">
      <th scope="row">{label}</th>
      <td />
      <td>{value}</td>
    </tr>
  );
}

function Group({ title, list, root, onFilter }: { title: string; list: NameValue[]; root: string; onFilter: (c: string) => void }) {
  return (
    <>
      <tr class="group">
        <th colSpan={3}>{title}</th>
      </tr>
      {list.map((p) => (
        <PropertyRows key={p.Name} name={p.Name} value={p.Value} path={[root, p.Name]} depth={1} onFilter={onFilter} />
      ))}
    </>
  );
}

interface PropertyProps {
  name: string;
  value: unknown;
  path: PathSegment[];
  depth: number;
  onFilter: (clause: string) => void;
}

function PropertyRows({ name, value, path, depth, onFilter }: PropertyProps) {
  const [open, setOpen] = useState(depth < 1);
  const nested = value !== null && typeof value === "object";
  const entries: [string, unknown, PathSegment][] = Array.isArray(value)
    ? value.map((v, i) => [`[${i}]`, v, i])
    : nested
      ? Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, v, k])
      : [];
  const include = clause(path, value, true);
  const exclude = clause(path, value, false);
  return (
    <>
      <tr class="property">
        <th scope="row" style={{ paddingLeft: `${0.5 + depth}rem` }}>
          {nested ? (
            <button type="button" class="tree" aria-expanded={open} onClick={() => setOpen(!open)}>
              {open ? "▾" : "▸"} {name}
            </button>
          ) : (
            name
          )}
        </th>
        <td class="filter-actions">
          {include && (
            <button type="button" class="include" title={`Find ${include}`} aria-label={`Include ${include}`} onClick={() => onFilter(include)}>
              ✓
            </button>
          )}
          {exclude && (
            <button type="button" class="exclude" title={`Find ${exclude}`} aria-label={`Exclude ${include ?? exclude}`} onClick={() => onFilter(exclude)}>
              ✕
            </button>
          )}
        </td>
        <td>{nested ? <span class="muted">{preview(value)}</span> : <Value value={value} />}</td>
      </tr>
      {nested &&
        open &&
        entries.map(([k, v, seg]) => (
          <PropertyRows key={k} name={k} value={v} path={[...path, seg]} depth={depth + 1} onFilter={onFilter} />
        ))}
    </>
  );
}

function preview(value: unknown): string {
  const text = JSON.stringify(value);
  return text.length > 80 ? text.slice(0, 79) + "…" : text;
}

/// A scalar as text; an http(s) URL becomes a link that cannot reach this page's window.
export function Value({ value }: { value: unknown }) {
  if (typeof value === "string") {
    if (/^https?:\/\/\S+$/i.test(value)) {
      return (
        <a href={value} target="_blank" rel="noopener noreferrer">
          {value}
        </a>
      );
    }
    return <span class="string">{value}</span>;
  }
  return <span class={value === null ? "null" : typeof value}>{literal(value) ?? JSON.stringify(value)}</span>;
}
