// Pieces the administration pages share: loading a list, a busy/error line, a confirm-delete.

import { useEffect, useState } from "preact/hooks";
import { api } from "../api";
import { ErrorPanel } from "../events/EventsPage";

/// GETs `path`, with a `reload` to call after changes.
export function useResource<T>(path: string): { data: T | null; error: Error | null; reload: () => void } {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [n, setN] = useState(0);
  useEffect(() => {
    let live = true;
    setError(null);
    api<T>("GET", path)
      .then((d) => live && setData(d))
      .catch((e: Error) => live && setError(e));
    return () => {
      live = false;
    };
  }, [path, n]);
  return { data, error, reload: () => setN((x) => x + 1) };
}

/// Runs a change, showing it as busy and its error (the server's message) if it fails.
export function useAction(): { busy: boolean; error: Error | null; run: (f: () => Promise<unknown>) => Promise<boolean>; clear: () => void } {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error | null>(null);
  const run = async (f: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await f();
      return true;
    } catch (e) {
      setError(e instanceof Error ? e : new Error(String(e)));
      return false;
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, run, clear: () => setError(null) };
}

export function Loading({ error, what }: { error: Error | null; what: string }) {
  return error ? <ErrorPanel error={error} /> : <p class="muted" role="status">Loading {what}…</p>;
}

export function ActionError({ error }: { error: Error | null }) {
  return error ? <ErrorPanel error={error} /> : null;
}

export const LEVELS = ["Verbose", "Debug", "Information", "Warning", "Error", "Fatal"];
