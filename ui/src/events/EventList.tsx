// The newest-first event list, virtualised: only the rows in (and near) the viewport are in
// the DOM, whatever the number loaded, so scrolling through a hundred thousand events stays
// smooth. Rows have a fixed height until expanded; expanded rows are measured.

import { useLayoutEffect, useRef, useState } from "preact/hooks";
import type { EventEntity, TemplateToken } from "../api";
import { formatTimestamp } from "../time";
import { EventDetail } from "./EventDetail";
import { levelClass } from "./levels";

export const ROW_HEIGHT = 28;
const OVERSCAN_PX = 600;
/// Ask for the next page when this many rows remain below the viewport.
const LOAD_AHEAD_ROWS = 40;

interface Props {
  events: EventEntity[];
  /// More pages can be loaded (older events).
  hasMore: boolean;
  loading: boolean;
  onLoadMore: () => void;
  onFilter: (clause: string) => void;
}

export function EventList({ events, hasMore, loading, onLoadMore, onFilter }: Props) {
  const scroller = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [viewport, setViewport] = useState(800);
  const [expanded, setExpanded] = useState<Set<string>>(new Set());
  const [heights, setHeights] = useState<Map<string, number>>(new Map());
  const firstId = useRef<string | null>(null);

  const heightOf = (e: EventEntity) => (expanded.has(e.Id) ? (heights.get(e.Id) ?? ROW_HEIGHT * 8) : ROW_HEIGHT);

  // Offsets of every loaded row (cheap next to rendering, even for 100k rows).
  const offsets = new Float64Array(events.length + 1);
  for (let i = 0; i < events.length; i++) offsets[i + 1] = offsets[i] + heightOf(events[i]);
  const total = offsets[events.length];

  // When live tail puts new events on top while the user reads further down, keep what they
  // are reading where it is.
  useLayoutEffect(() => {
    const el = scroller.current;
    const previous = firstId.current;
    firstId.current = events[0]?.Id ?? null;
    if (!el || !previous || previous === firstId.current || el.scrollTop <= 0) return;
    const k = events.findIndex((e) => e.Id === previous);
    if (k > 0) el.scrollTop += offsets[k];
  }, [events]);

  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const observer = new ResizeObserver(() => setViewport(el.clientHeight));
    observer.observe(el);
    return () => observer.disconnect();
  }, []);

  let first = 0;
  let lo = 0;
  let hi = events.length;
  const top = Math.max(0, scrollTop - OVERSCAN_PX);
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (offsets[mid + 1] <= top) lo = mid + 1;
    else hi = mid;
  }
  first = lo;
  let last = first;
  const bottom = scrollTop + viewport + OVERSCAN_PX;
  while (last < events.length && offsets[last] < bottom) last++;

  useLayoutEffect(() => {
    if (hasMore && !loading && last >= events.length - LOAD_AHEAD_ROWS) onLoadMore();
  }, [last, events.length, hasMore, loading]);

  const toggle = (id: string) => {
    const next = new Set(expanded);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setExpanded(next);
  };

  const measure = (id: string) => (el: HTMLElement | null) => {
    if (!el || !expanded.has(id)) return;
    const h = el.offsetHeight;
    if (h > 0 && heights.get(id) !== h) setHeights((m) => new Map(m).set(id, h));
  };

  const rows = [];
  for (let i = first; i < last; i++) {
    const e = events[i];
    const open = expanded.has(e.Id);
    rows.push(
      <div
        key={e.Id}
        ref={measure(e.Id)}
        class={`event-row level-${levelClass(e.Level)}${open ? " open" : ""}`}
        style={{ top: `${offsets[i]}px` }}
        data-event-id={e.Id}
        role="row"
      >
        <button type="button" class="event-summary" aria-expanded={open} onClick={() => toggle(e.Id)}>
          <span class="level-mark" title={e.Level} />
          <span class="timestamp">{formatTimestamp(e.Timestamp)}</span>
          <span class="message">
            <Message tokens={e.MessageTemplateTokens} fallback={e.RenderedMessage} />
          </span>
        </button>
        {open && <EventDetail event={e} onFilter={onFilter} />}
      </div>,
    );
  }

  return (
    <div
      class="event-list"
      ref={scroller}
      role="table"
      aria-label="Events"
      aria-rowcount={events.length}
      onScroll={(ev) => setScrollTop((ev.currentTarget as HTMLDivElement).scrollTop)}
    >
      <div class="event-canvas" style={{ height: `${total + ROW_HEIGHT * 2}px` }}>
        {rows}
        <div class="list-end muted" style={{ top: `${total}px` }}>
          {loading ? "Loading older events…" : hasMore ? "" : events.length ? "No older events in this range." : ""}
        </div>
      </div>
    </div>
  );
}

/// The rendered message, property values highlighted.
function Message({ tokens, fallback }: { tokens: TemplateToken[]; fallback?: string }) {
  if (!tokens.length) return <>{fallback ?? ""}</>;
  return (
    <>
      {tokens.map((t, i) =>
        "Text" in t ? (
          <span key={i}>{t.Text}</span>
        ) : (
          <span key={i} class="prop-value" title={t.PropertyName}>
            {t.FormattedValue ?? t.RawText}
          </span>
        ),
      )}
    </>
  );
}
