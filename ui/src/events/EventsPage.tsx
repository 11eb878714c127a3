// The home screen: search box, time range, histogram and the event list (or, for a `select`,
// the query result), with live tail. The URL holds the search and the range, so a link or a
// reload reproduces the view.

import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { api, ApiError, withQuery, type EventEntity, type ExpressionPart, type QueryResult, type ResultSet } from "../api";
import { navigate, type Route } from "../route";
import { bucketFor, describeRange, fromLocalInput, parseRange, timeZone, PRESETS, rangeParams, resolveRange, toLocalInput, type TimeRange } from "../time";
import { QueryView } from "../query/QueryView";
import { EventList } from "./EventList";
import { appendClause } from "./filterText";
import { Histogram, type Bucket } from "./Histogram";
import { pinnedSearches, recentSearches, remember, togglePin } from "./history";
import { SearchBox, type QueryProblem } from "./SearchBox";
import { isQuery } from "./seqLanguage";
import { openTail, type Tail } from "./tail";

const PAGE_SIZE = 200;
/// The most events the list keeps (older ones fall off when tail adds more).
const MAX_LOADED = 200_000;

type Outcome =
  | { kind: "idle" }
  | { kind: "running" }
  | { kind: "cancelled" }
  | { kind: "error"; error: ApiError | Error }
  | { kind: "events" }
  | { kind: "query"; result: QueryResult };

interface Props {
  route: Route;
  canIngestHint: boolean;
}

export function EventsPage({ route, canIngestHint }: Props) {
  const filter = route.params.get("filter") ?? "";
  const range = parseRange(route.params);
  const routeKey = route.params.toString();

  const [text, setText] = useState(filter);
  const [boxValue, setBoxValue] = useState({ text: filter, revision: 0 });
  const [outcome, setOutcome] = useState<Outcome>({ kind: "idle" });
  const [problem, setProblem] = useState<QueryProblem | null>(null);
  const [strict, setStrict] = useState<ExpressionPart | null>(null);
  const [events, setEvents] = useState<EventEntity[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [complete, setComplete] = useState(true);
  const [loadingMore, setLoadingMore] = useState(false);
  const [histogram, setHistogram] = useState<{ from: number; to: number; bucketMs: number; buckets: Bucket[] } | null>(null);
  const [tailing, setTailing] = useState(false);
  const [tailError, setTailError] = useState<string | null>(null);
  const [refresh, setRefresh] = useState(0);
  const [showHistory, setShowHistory] = useState(false);
  const [customRange, setCustomRange] = useState(false);
  const run = useRef<AbortController | null>(null);
  const resolved = useRef<{ from: number; to: number }>(resolveRange(range));

  useEffect(() => {
    setText(filter);
    setBoxValue((v) => ({ text: filter, revision: v.revision + 1 }));
  }, [filter]);

  const properties = useMemo(() => {
    const names = new Set<string>();
    for (const e of events.slice(0, 300)) for (const p of e.Properties) names.add(p.Name);
    return [...names].sort();
  }, [events]);

  // Runs the search in the URL whenever it (or the refresh counter) changes.
  useEffect(() => {
    run.current?.abort();
    const controller = new AbortController();
    run.current = controller;
    const signal = controller.signal;
    const window = resolveRange(range);
    resolved.current = window;
    setProblem(null);
    setOutcome({ kind: "running" });
    setEvents([]);
    setCursor(null);
    setComplete(true);
    const rangeQuery = { rangeStartUtc: new Date(window.from).toISOString(), rangeEndUtc: new Date(window.to).toISOString() };
    const failed = (e: unknown) => {
      if (signal.aborted) return;
      const error = e instanceof Error ? e : new Error(String(e));
      setOutcome({ kind: "error", error });
      if (error instanceof ApiError && error.span) {
        setProblem({ text: filter, from: error.span.Start, to: error.span.End, message: error.message });
      }
    };

    if (isQuery(filter)) {
      setStrict(null);
      setHistogram(null);
      api<QueryResult>("POST", withQuery("/api/data", { q: filter, ...rangeQuery }), { Signal: null }, { signal })
        .then((result) => !signal.aborted && setOutcome({ kind: "query", result }))
        .catch(failed);
      return () => controller.abort();
    }

    (async () => {
      const part = filter.trim()
        ? await api<ExpressionPart>("GET", withQuery("/api/expressions/tostrict", { fuzzy: filter }), undefined, { signal })
        : { StrictExpression: "", MatchedAsText: false, ReasonIfMatchedAsText: null };
      if (signal.aborted) return;
      setStrict(part);
      const where = part.StrictExpression;
      const bucket = bucketFor(window.to - window.from);
      const histogramQuery = `select count(*) from stream${where ? ` where ${where}` : ""} group by time(${bucket.literal})`;
      api<QueryResult>("POST", withQuery("/api/data", { q: histogramQuery, ...rangeQuery }), { Signal: null }, { signal })
        .then((r) => {
          if (signal.aborted) return;
          const buckets = (r.Slices ?? []).map((s) => ({ start: Date.parse(s.Time), count: Number(s.Rows[0]?.[0] ?? 0) }));
          setHistogram({ ...window, bucketMs: bucket.ms, buckets });
        })
        .catch(() => !signal.aborted && setHistogram(null));
      const page = await api<ResultSet>(
        "GET",
        withQuery("/api/events/signal", {
          count: PAGE_SIZE,
          render: true,
          filter: where,
          fromDateUtc: rangeQuery.rangeStartUtc,
          toDateUtc: rangeQuery.rangeEndUtc,
        }),
        undefined,
        { signal },
      );
      if (signal.aborted) return;
      setEvents(page.Events);
      setCursor(page.Statistics.LastReadEventId ?? null);
      setComplete(page.Statistics.Status === "Complete" || !page.Statistics.LastReadEventId);
      setOutcome({ kind: "events" });
    })().catch(failed);
    return () => controller.abort();
  }, [routeKey, refresh]);

  const loadMore = async () => {
    if (loadingMore || complete || !cursor || !strict) return;
    const signal = run.current?.signal;
    setLoadingMore(true);
    try {
      const window = resolved.current;
      const page = await api<ResultSet>(
        "GET",
        withQuery("/api/events/signal", {
          count: PAGE_SIZE,
          render: true,
          filter: strict.StrictExpression,
          afterId: cursor,
          fromDateUtc: new Date(window.from).toISOString(),
          toDateUtc: new Date(window.to).toISOString(),
        }),
        undefined,
        { signal },
      );
      if (signal?.aborted) return;
      setEvents((old) => [...old, ...page.Events].slice(0, MAX_LOADED));
      setCursor(page.Statistics.LastReadEventId ?? null);
      setComplete(page.Statistics.Status === "Complete" || !page.Statistics.LastReadEventId);
    } catch (e) {
      if (!signal?.aborted) setOutcome({ kind: "error", error: e instanceof Error ? e : new Error(String(e)) });
    } finally {
      setLoadingMore(false);
    }
  };

  // Live tail follows the current filter; it stops when the search changes.
  useEffect(() => {
    if (!tailing || !strict || isQuery(filter)) return;
    setTailError(null);
    const tail: Tail = openTail(
      strict.StrictExpression,
      (batch) => setEvents((old) => [...batch, ...old].slice(0, MAX_LOADED)),
      (error) => {
        setTailing(false);
        setTailError(error);
      },
    );
    return () => tail.close();
  }, [tailing, strict]);

  const search = (next: string, nextRange: TimeRange = range) => {
    remember(next);
    setShowHistory(false);
    if (next === filter && nextRange === range) setRefresh((n) => n + 1);
    else navigate("events", { filter: next || null, ...rangeParams(nextRange) });
  };

  const addClause = (c: string) => {
    const base = strict?.MatchedAsText ? strict.StrictExpression : text;
    search(appendClause(base, c));
  };

  const setRange = (r: TimeRange) => navigate("events", { filter: filter || null, ...rangeParams(r) });

  const downloadCsv = async () => {
    const window = resolved.current;
    const csv = await api<string>(
      "POST",
      withQuery("/api/data", { q: filter, rangeStartUtc: new Date(window.from).toISOString(), rangeEndUtc: new Date(window.to).toISOString(), format: "text/csv" }),
      { Signal: null },
      { text: true },
    );
    const url = URL.createObjectURL(new Blob([csv], { type: "text/csv" }));
    const a = document.createElement("a");
    a.href = url;
    a.download = "query.csv";
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  };

  const running = outcome.kind === "running";
  const query = isQuery(filter);
  return (
    <div class="events-page">
      <div class="search-row">
        <SearchBox value={boxValue} onChange={setText} onSubmit={(t) => search(t)} properties={() => properties} problem={problem} />
        <button type="button" class="primary" onClick={() => search(text)}>
          Search
        </button>
        {running && (
          <button type="button" onClick={() => { run.current?.abort(); setOutcome({ kind: "cancelled" }); }}>
            Cancel
          </button>
        )}
        <div class="history">
          <button type="button" aria-expanded={showHistory} onClick={() => setShowHistory(!showHistory)}>
            History
          </button>
          {showHistory && <HistoryMenu current={filter} onPick={(t) => search(t)} />}
        </div>
      </div>
      <div class="search-info">
        <span class="indicator" data-testid="search-kind" title={strict?.ReasonIfMatchedAsText ?? ""}>
          {query ? "Query" : !filter.trim() ? "All events" : strict?.MatchedAsText ? `Text search: ${strict.ReasonIfMatchedAsText ?? ""}` : strict ? "Expression" : ""}
        </span>
        <label class="range">
          <span class="visually-hidden">Time range</span>
          <select
            aria-label="Time range"
            value={range.kind === "relative" ? range.code : "custom"}
            onChange={(e) => {
              const v = (e.currentTarget as HTMLSelectElement).value;
              if (v === "custom") setCustomRange(true);
              else setRange({ kind: "relative", code: v });
            }}
          >
            {PRESETS.map((p) => (
              <option value={p.code}>{p.label}</option>
            ))}
            <option value="custom">{range.kind === "absolute" ? describeRange(range) : "Custom range…"}</option>
          </select>
        </label>
        {(customRange || range.kind === "absolute") && <CustomRange range={resolved.current} onApply={(r) => { setCustomRange(false); setRange(r); }} />}
        {!query && strict && <ExportLinks filter={strict.StrictExpression} window={resolved.current} />}
        {!query && (
          <label class="tail-toggle">
            <input type="checkbox" checked={tailing} onChange={(e) => setTailing((e.currentTarget as HTMLInputElement).checked)} /> Live tail
          </label>
        )}
      </div>
      {tailError && <p class="error" role="alert">{tailError}</p>}
      {outcome.kind === "error" && <ErrorPanel error={outcome.error} />}
      {outcome.kind === "cancelled" && <p class="muted">The search was cancelled.</p>}
      {!query && histogram && (
        <Histogram {...histogram} onZoom={(from, to) => setRange({ kind: "absolute", from, to })} />
      )}
      {running && <p class="muted running" role="status">Searching…</p>}
      {outcome.kind === "query" && <QueryView result={outcome.result} onDownloadCsv={downloadCsv} />}
      {!query && outcome.kind === "events" && events.length === 0 && !tailing && (
        <EmptyState filtered={!!filter.trim()} range={describeRange(range)} canIngestHint={canIngestHint} />
      )}
      {!query && (outcome.kind === "events" || tailing) && (events.length > 0 || tailing) && (
        <EventList events={events} hasMore={!complete} loading={loadingMore} onLoadMore={loadMore} onFilter={addClause} />
      )}
    </div>
  );
}

/// The current search as a download, streamed by the server with the view filter applied.
function ExportLinks({ filter, window }: { filter: string; window: { from: number; to: number } }) {
  const link = (format: string) =>
    withQuery("/api/events/export", {
      filter,
      fromDateUtc: new Date(window.from).toISOString(),
      toDateUtc: new Date(window.to).toISOString(),
      format,
    });
  return (
    <span class="export">
      Export:{" "}
      {["clef", "json", "csv"].map((f) => (
        <a href={link(f)} download aria-label={`Export as ${f.toUpperCase()}`}>
          {f.toUpperCase()}
        </a>
      ))}
    </span>
  );
}

function HistoryMenu({ current, onPick }: { current: string; onPick: (t: string) => void }) {
  const [, redraw] = useState(0);
  const pinned = pinnedSearches();
  const recent = recentSearches().filter((r) => !pinned.includes(r));
  const item = (t: string, isPinned: boolean) => (
    <li>
      <button type="button" class="pick" onClick={() => onPick(t)}>{t}</button>
      <button type="button" class="pin" aria-label={isPinned ? `Unpin ${t}` : `Pin ${t}`} onClick={() => { togglePin(t); redraw((n) => n + 1); }}>
        {isPinned ? "★" : "☆"}
      </button>
    </li>
  );
  return (
    <div class="history-menu" role="menu">
      {current.trim() && !pinned.includes(current) && (
        <button type="button" onClick={() => { togglePin(current); redraw((n) => n + 1); }}>Pin the current search</button>
      )}
      {pinned.length > 0 && <h3>Pinned</h3>}
      <ul>{pinned.map((t) => item(t, true))}</ul>
      <h3>Recent</h3>
      {recent.length ? <ul>{recent.map((t) => item(t, false))}</ul> : <p class="muted">No recent searches.</p>}
    </div>
  );
}

function CustomRange({ range, onApply }: { range: { from: number; to: number }; onApply: (r: TimeRange) => void }) {
  const [from, setFrom] = useState(toLocalInput(range.from));
  const [to, setTo] = useState(toLocalInput(range.to));
  const a = fromLocalInput(from);
  const b = fromLocalInput(to);
  const valid = !Number.isNaN(a) && !Number.isNaN(b) && a < b;
  return (
    <span class="custom-range">
      <span class="muted">{timeZone() ?? Intl.DateTimeFormat().resolvedOptions().timeZone}</span>
      <label>From <input type="datetime-local" step="1" value={from} onInput={(e) => setFrom((e.currentTarget as HTMLInputElement).value)} /></label>
      <label>To <input type="datetime-local" step="1" value={to} onInput={(e) => setTo((e.currentTarget as HTMLInputElement).value)} /></label>
      <button type="button" disabled={!valid} onClick={() => onApply({ kind: "absolute", from: a, to: b })}>Apply</button>
    </span>
  );
}

export function ErrorPanel({ error }: { error: Error }) {
  const api = error instanceof ApiError ? error : null;
  return (
    <div class="error-panel" role="alert">
      <strong>{error.message}</strong>
      {api && api.reasons.filter((r) => r !== error.message).map((r) => <p>{r}</p>)}
      {api?.suggestion && <p class="suggestion">Suggestion: {api.suggestion}</p>}
    </div>
  );
}

function EmptyState({ filtered, range, canIngestHint }: { filtered: boolean; range: string; canIngestHint: boolean }) {
  if (filtered) {
    return <p class="empty muted">No events match this search in {range.toLowerCase()}. Widen the time range or loosen the filter.</p>;
  }
  const origin = location.origin;
  return (
    <div class="empty">
      <p>No events in {range.toLowerCase()} yet. Send one:</p>
      <pre class="example">{`curl -X POST ${origin}/ingest/clef \\
  -H 'Content-Type: application/vnd.serilog.clef' \\
  -H 'X-Seq-ApiKey: <your API key>' \\
  -d '{"@t":"${new Date().toISOString()}","@mt":"Hello, {Name}!","Name":"World"}'`}</pre>
      {canIngestHint && (
        <p>
          Create an API key under <a href="#/settings/apikeys">Settings › API keys</a>; the token is shown once.
        </p>
      )}
    </div>
  );
}
