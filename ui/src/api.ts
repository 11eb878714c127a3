// The only way the UI talks to the server: the same JSON API Seq's clients use, same origin,
// with the session cookie and (for requests that change anything) the CSRF token returned at
// sign-in. Errors carry the server's `Error`, `Reasons` and `Suggestion`.

// localStorage, not sessionStorage: the session cookie is shared by every tab, so the token
// that goes with it must be too (Seq returns it only at sign-in).
const CSRF_KEY = "seqr.csrf";

/// The path prefix the server is reached under behind a reverse proxy (`--base-uri
/// https://host/seq` gives `/seq`), from the page; empty when served at the root (or by the dev
/// server, which leaves the placeholder).
export const basePath: string = (() => {
  const value = document.querySelector('meta[name="seqr-base"]')?.getAttribute("content") ?? "";
  return value.startsWith("/") ? value : "";
})();

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly reasons: string[] = [],
    readonly suggestion: string | null = null,
    /// Where in the query the problem is (UTF-16 offsets), when the server says.
    readonly span: { Start: number; End: number } | null = null,
  ) {
    super(message);
  }
}

export function rememberCsrfToken(token: string | null): void {
  if (token) localStorage.setItem(CSRF_KEY, token);
  else localStorage.removeItem(CSRF_KEY);
}

export interface RequestOptions {
  signal?: AbortSignal;
  /// Read the answer as text (CSV) rather than JSON.
  text?: boolean;
}

/// Builds `path?k=v&...`, leaving out unset values.
export function withQuery(path: string, params: Record<string, string | number | boolean | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== null && v !== undefined && v !== "") q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

export async function api<T>(method: string, path: string, body?: unknown, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: options.text ? "text/csv" : "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const csrf = localStorage.getItem(CSRF_KEY);
  if (csrf && method !== "GET") headers["X-Seq-CsrfToken"] = csrf;
  const response = await fetch(basePath + path, {
    method,
    headers,
    credentials: "same-origin",
    signal: options.signal,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (response.ok && options.text) return text as T;
  let parsed: unknown = undefined;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!response.ok) {
    const e = (typeof parsed === "object" && parsed !== null ? parsed : {}) as {
      Error?: unknown;
      Reasons?: unknown;
      Suggestion?: unknown;
      ErrorSpan?: { Start: number; End: number };
    };
    const message = e.Error !== undefined ? String(e.Error) : `The server answered ${response.status}.`;
    const reasons = Array.isArray(e.Reasons) ? e.Reasons.map(String) : [];
    const suggestion = typeof e.Suggestion === "string" ? e.Suggestion : null;
    throw new ApiError(response.status, message, reasons, suggestion, e.ErrorSpan ?? null);
  }
  return parsed as T;
}

export interface RootDocument {
  Product?: string;
  Version?: string;
  InstanceName?: string | null;
}

export interface User {
  Id: string;
  Username: string;
  DisplayName?: string | null;
  EmailAddress?: string | null;
  RoleIds?: string[];
  CsrfToken?: string;
  MustChangePassword?: boolean;
  ViewFilter?: { Filter: string | null; FilterNonStrict?: string | null } | null;
  Preferences?: Record<string, string>;
  Links?: Record<string, string>;
}

export interface NameValue {
  Name: string;
  Value: unknown;
}

export type TemplateToken =
  | { Text: string }
  | { PropertyName: string; RawText: string; FormattedValue?: string };

/// Seq's `EventEntity`.
export interface EventEntity {
  Id: string;
  Timestamp: string;
  Start?: string;
  Properties: NameValue[];
  MessageTemplateTokens: TemplateToken[];
  EventType: string;
  Level: string;
  Exception?: string;
  RenderedMessage?: string;
  TraceId?: string;
  SpanId?: string;
  ParentId?: string;
  SpanKind?: string;
  Resource?: NameValue[];
  Scope?: NameValue[];
  Elapsed?: string;
}

export interface ResultSet {
  Events: EventEntity[];
  Statistics: { Elapsed: string; LastReadEventId?: string; Status: "Partial" | "Complete" | "Full" };
}

/// Seq's `ExpressionPart` (plus seqr's `ErrorSpan`).
export interface ExpressionPart {
  StrictExpression: string;
  MatchedAsText: boolean;
  ReasonIfMatchedAsText: string | null;
  ErrorSpan?: { Start: number; End: number };
}

export interface TimeSlice {
  Time: string;
  Rows: unknown[][];
}

/// Seq's `QueryResultPart`.
export interface QueryResult {
  Columns: string[];
  Rows?: unknown[][];
  Slices?: TimeSlice[];
  Series?: { Key: unknown[]; Slices: TimeSlice[] }[];
  Statistics?: { ElapsedMilliseconds: number; ScannedEventCount?: number; MatchingEventCount?: number };
}
