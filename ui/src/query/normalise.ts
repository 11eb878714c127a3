// Seq's three result shapes (`Rows`, `Slices`, `Series`) as one grid and, where the query
// grouped by time, as time series for charts.

import type { QueryResult } from "../api";

export interface Grid {
  columns: string[];
  rows: unknown[][];
}

export interface TimeSeries {
  /// Bucket starts, in seconds (uPlot's unit).
  times: number[];
  series: { label: string; values: (number | null)[] }[];
}

export function toGrid(r: QueryResult): Grid {
  if (r.Rows) return { columns: r.Columns, rows: r.Rows };
  if (r.Slices) return { columns: ["time", ...r.Columns], rows: r.Slices.flatMap((s) => s.Rows.map((row) => [s.Time, ...row])) };
  if (r.Series) {
    return {
      columns: ["time", ...r.Columns],
      rows: r.Series.flatMap((series) => series.Slices.flatMap((s) => s.Rows.map((row) => [s.Time, ...row]))),
    };
  }
  return { columns: r.Columns, rows: [] };
}

function numeric(v: unknown): number | null {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

export function toTimeSeries(r: QueryResult): TimeSeries | null {
  const slicesOf = r.Series ? r.Series.map((s) => ({ key: s.Key, slices: s.Slices })) : r.Slices ? [{ key: [] as unknown[], slices: r.Slices }] : null;
  if (!slicesOf) return null;
  const timeSet = new Set<number>();
  for (const s of slicesOf) for (const slice of s.slices) timeSet.add(Date.parse(slice.Time) / 1000);
  const times = [...timeSet].sort((a, b) => a - b);
  const index = new Map(times.map((t, i) => [t, i]));
  const keyWidth = slicesOf[0]?.key.length ?? 0;
  const series: TimeSeries["series"] = [];
  for (const s of slicesOf) {
    // Every aggregate column after the group keys becomes a line.
    for (let c = keyWidth; c < r.Columns.length; c++) {
      const values: (number | null)[] = times.map(() => null);
      for (const slice of s.slices) {
        const v = numeric(slice.Rows[0]?.[c]);
        values[index.get(Date.parse(slice.Time) / 1000)!] = v;
      }
      const key = s.key.map(String).join(", ");
      series.push({ label: key ? (r.Columns.length - keyWidth > 1 ? `${key} ${r.Columns[c]}` : key) : r.Columns[c], values });
    }
  }
  return { times, series };
}

/// Label and value pairs for bar and pie charts of an ungrouped-by-time result: the text
/// columns name the row, the first numeric column is its value.
export function toCategories(grid: Grid): { label: string; value: number }[] {
  const valueColumn = grid.columns.findIndex((_, c) => grid.rows.some((row) => numeric(row[c]) !== null));
  if (valueColumn < 0) return [];
  return grid.rows.map((row) => ({
    label: row.filter((_, c) => c !== valueColumn && numeric(row[c]) === null).map(String).join(", ") || String(grid.columns[valueColumn]),
    value: numeric(row[valueColumn]) ?? 0,
  }));
}
