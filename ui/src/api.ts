// The only way the UI talks to the server: the same JSON API Seq's clients use, same origin,
// with the session cookie and (for requests that change anything) the CSRF token returned at
// sign-in. Errors carry the server's `Error` message.

const CSRF_KEY = "seqr.csrf";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function rememberCsrfToken(token: string | null): void {
  if (token) sessionStorage.setItem(CSRF_KEY, token);
  else sessionStorage.removeItem(CSRF_KEY);
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const csrf = sessionStorage.getItem(CSRF_KEY);
  if (csrf && method !== "GET") headers["X-Seq-CsrfToken"] = csrf;
  const response = await fetch(path, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = undefined;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!response.ok) {
    const message =
      typeof parsed === "object" && parsed !== null && "Error" in parsed
        ? String((parsed as { Error: unknown }).Error)
        : `The server answered ${response.status}.`;
    throw new ApiError(response.status, message);
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
  CsrfToken?: string;
  MustChangePassword?: boolean;
}
