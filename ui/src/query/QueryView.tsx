// A `select` query's answer: a grid, switchable to line, bar and pie charts; `group by time()`
// results chart as time series. Values are shown as text.

import { useEffect, useRef, useState } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { QueryResult } from "../api";
import { formatTimestamp } from "../time";
import { toCategories, toGrid, toTimeSeries, type TimeSeries } from "./normalise";

type Display = "grid" | "line" | "bar" | "pie";

const PALETTE = ["#2f6fdf", "#e8710a", "#1e8e3e", "#d93025", "#9334e6", "#12b5cb", "#f9ab00", "#5f6368"];

interface Props {
  result: QueryResult;
  onDownloadCsv: () => void;
}

export function QueryView({ result, onDownloadCsv }: Props) {
  const series = toTimeSeries(result);
  const grid = toGrid(result);
  const [display, setDisplay] = useState<Display>(series ? "line" : "grid");
  useEffect(() => setDisplay(toTimeSeries(result) ? "line" : "grid"), [result]);
  return (
    <section class="query-view" aria-label="Query result">
      <div class="toolbar" role="toolbar" aria-label="Display">
        {(["grid", "line", "bar", "pie"] as Display[]).map((d) => (
          <button type="button" aria-pressed={display === d} onClick={() => setDisplay(d)}>
            {d === "grid" ? "Rowset" : d[0].toUpperCase() + d.slice(1)}
          </button>
        ))}
        <button type="button" onClick={onDownloadCsv}>
          Download CSV
        </button>
        {result.Statistics && (
          <span class="muted">
            {grid.rows.length} rows · {result.Statistics.ElapsedMilliseconds.toFixed(1)} ms
            {result.Statistics.ScannedEventCount !== undefined && ` · ${result.Statistics.ScannedEventCount} events scanned`}
          </span>
        )}
      </div>
      {display === "grid" && <ResultGrid columns={grid.columns} rows={grid.rows} />}
      {(display === "line" || display === "bar") && series && <TimeChart series={series} bars={display === "bar"} />}
      {(display === "line" || display === "bar") && !series && <CategoryBars data={toCategories(grid)} />}
      {display === "pie" && <Pie data={series ? series.series.map((s) => ({ label: s.label, value: s.values.reduce<number>((a, v) => a + (v ?? 0), 0) })) : toCategories(grid)} />}
    </section>
  );
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "string") return /^\d{4}-\d\d-\d\dT/.test(v) ? formatTimestamp(v) : v;
  return typeof v === "object" ? JSON.stringify(v) : String(v);
}

function ResultGrid({ columns, rows }: { columns: string[]; rows: unknown[][] }) {
  if (!rows.length) return <p class="muted empty">The query matched nothing in this range.</p>;
  return (
    <div class="grid-scroll">
      <table class="result-grid">
        <thead>
          <tr>
            {columns.map((c) => (
              <th scope="col">{c}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.slice(0, 10_000).map((row) => (
            <tr>
              {row.map((v) => (
                <td>{cell(v)}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function TimeChart({ series, bars }: { series: TimeSeries; bars: boolean }) {
  const host = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = host.current!;
    const width = Math.max(300, el.clientWidth);
    const paths = bars ? uPlot.paths.bars!({ size: [0.8, 40] }) : undefined;
    const plot = new uPlot(
      {
        width,
        height: 280,
        series: [
          {},
          ...series.series.map((s, i) => ({
            label: s.label,
            stroke: PALETTE[i % PALETTE.length],
            fill: bars ? PALETTE[i % PALETTE.length] + "99" : undefined,
            paths,
            spanGaps: false,
          })),
        ],
        axes: [{}, {}],
        scales: { x: { time: true } },
      },
      [series.times, ...series.series.map((s) => s.values)],
      el,
    );
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(300, el.clientWidth), height: 280 }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [series, bars]);
  return <div class="chart" ref={host} data-testid="time-chart" />;
}

function CategoryBars({ data }: { data: { label: string; value: number }[] }) {
  if (!data.length) return <p class="muted empty">Nothing numeric to chart.</p>;
  const max = Math.max(1, ...data.map((d) => d.value));
  return (
    <div class="category-bars" data-testid="category-chart">
      {data.slice(0, 200).map((d, i) => (
        <div class="category">
          <span class="label">{d.label}</span>
          <span class="bar" style={{ width: `${(d.value / max) * 100}%`, background: PALETTE[i % PALETTE.length] }} />
          <span class="value">{d.value}</span>
        </div>
      ))}
    </div>
  );
}

function Pie({ data }: { data: { label: string; value: number }[] }) {
  const total = data.reduce((n, d) => n + Math.max(0, d.value), 0);
  if (!total) return <p class="muted empty">Nothing numeric to chart.</p>;
  let angle = -Math.PI / 2;
  const slices = data.slice(0, 24).map((d, i) => {
    const sweep = (Math.max(0, d.value) / total) * Math.PI * 2;
    const a0 = angle;
    angle += sweep;
    const large = sweep > Math.PI ? 1 : 0;
    const p = (a: number) => `${100 + 90 * Math.cos(a)} ${100 + 90 * Math.sin(a)}`;
    const path = sweep >= Math.PI * 2 - 1e-9 ? "M 10 100 A 90 90 0 1 1 190 100 A 90 90 0 1 1 10 100" : `M 100 100 L ${p(a0)} A 90 90 0 ${large} 1 ${p(angle)} Z`;
    return (
      <path d={path} fill={PALETTE[i % PALETTE.length]}>
        <title>{`${d.label}: ${d.value}`}</title>
      </path>
    );
  });
  return (
    <div class="pie" data-testid="pie-chart">
      <svg viewBox="0 0 200 200" width="220" height="220" role="img" aria-label="Pie chart">
        {slices}
      </svg>
      <ul class="legend">
        {data.slice(0, 24).map((d, i) => (
          <li>
            <span class="swatch" style={{ background: PALETTE[i % PALETTE.length] }} />
            {d.label}: {d.value}
          </li>
        ))}
      </ul>
    </div>
  );
}
