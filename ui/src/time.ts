// Time ranges and their display in the user's time zone (the profile setting, else the
// browser's).

export type TimeRange = { kind: "relative"; code: string } | { kind: "absolute"; from: number; to: number };

export const PRESETS: { code: string; label: string; ms: number }[] = [
  { code: "5m", label: "Last 5 minutes", ms: 5 * 60e3 },
  { code: "15m", label: "Last 15 minutes", ms: 15 * 60e3 },
  { code: "1h", label: "Last hour", ms: 3600e3 },
  { code: "4h", label: "Last 4 hours", ms: 4 * 3600e3 },
  { code: "1d", label: "Last day", ms: 86400e3 },
  { code: "7d", label: "Last 7 days", ms: 7 * 86400e3 },
  { code: "30d", label: "Last 30 days", ms: 30 * 86400e3 },
];

export const DEFAULT_RANGE: TimeRange = { kind: "relative", code: "1d" };

/// From the URL: `range=1h`, or `from=ISO&to=ISO`.
export function parseRange(params: URLSearchParams): TimeRange {
  const from = Date.parse(params.get("from") ?? "");
  const to = Date.parse(params.get("to") ?? "");
  if (!Number.isNaN(from) && !Number.isNaN(to) && from < to) return { kind: "absolute", from, to };
  const code = params.get("range");
  if (code && PRESETS.some((p) => p.code === code)) return { kind: "relative", code };
  return DEFAULT_RANGE;
}

export function rangeParams(range: TimeRange): Record<string, string> {
  return range.kind === "relative"
    ? { range: range.code }
    : { from: new Date(range.from).toISOString(), to: new Date(range.to).toISOString() };
}

/// The range as instants, relative ranges ending now.
export function resolveRange(range: TimeRange, now = Date.now()): { from: number; to: number } {
  if (range.kind === "absolute") return { from: range.from, to: range.to };
  const preset = PRESETS.find((p) => p.code === range.code) ?? PRESETS[4];
  return { from: now - preset.ms, to: now };
}

/// A bucket width giving at most about 120 bars, in the units `time()` takes.
export function bucketFor(spanMs: number): { ms: number; literal: string } {
  const steps: [number, string][] = [
    [1e3, "1s"], [5e3, "5s"], [15e3, "15s"], [30e3, "30s"], [60e3, "1m"], [5 * 60e3, "5m"],
    [15 * 60e3, "15m"], [30 * 60e3, "30m"], [3600e3, "1h"], [3 * 3600e3, "3h"], [6 * 3600e3, "6h"],
    [12 * 3600e3, "12h"], [86400e3, "1d"], [7 * 86400e3, "7d"],
  ];
  for (const [ms, literal] of steps) if (spanMs / ms <= 120) return { ms, literal };
  return { ms: 30 * 86400e3, literal: "30d" };
}

const TZ_KEY = "seqr.timeZone";

export function timeZone(): string | undefined {
  return localStorage.getItem(TZ_KEY) || undefined;
}

export function setTimeZone(zone: string | null): void {
  if (zone) localStorage.setItem(TZ_KEY, zone);
  else localStorage.removeItem(TZ_KEY);
}

export function isValidTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

function formatter(options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  try {
    return new Intl.DateTimeFormat(undefined, { ...options, timeZone: timeZone() });
  } catch {
    return new Intl.DateTimeFormat(undefined, options);
  }
}

/// `2026-12-03 09:04:05.123` in the user's zone.
export function formatTimestamp(iso: string | number): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const parts = formatter({
    year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
    second: "2-digit", fractionalSecondDigits: 3, hourCycle: "h23",
  }).formatToParts(d);
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? "";
  return `${get("year")}-${get("month")}-${get("day")} ${get("hour")}:${get("minute")}:${get("second")}.${get("fractionalSecond")}`;
}

export function describeRange(range: TimeRange): string {
  if (range.kind === "relative") return PRESETS.find((p) => p.code === range.code)?.label ?? range.code;
  return `${formatTimestamp(range.from).slice(0, 19)} – ${formatTimestamp(range.to).slice(0, 19)}`;
}

/// How far the user's zone is ahead of UTC at `ms`, in milliseconds.
function zoneOffset(ms: number): number {
  const parts = formatter({
    year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
    second: "2-digit", hourCycle: "h23",
  }).formatToParts(new Date(ms));
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value ?? 0);
  const wall = Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute"), get("second"));
  return wall - Math.floor(ms / 1000) * 1000;
}

/// A value for `<input type="datetime-local">`: the instant as wall time in the user's zone.
export function toLocalInput(ms: number): string {
  return new Date(ms + zoneOffset(ms)).toISOString().slice(0, 19);
}

/// The instant a `datetime-local` value names, read as wall time in the user's zone.
export function fromLocalInput(value: string): number {
  const wall = Date.parse(value + "Z");
  if (Number.isNaN(wall)) return NaN;
  // The offset at the guess, then again at the corrected instant (daylight-saving edges).
  const guess = wall - zoneOffset(wall);
  return wall - zoneOffset(guess);
}
