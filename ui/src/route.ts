// Hash routing, as Seq's own UI links look (`/#/events?filter=...&range=1d`): every view is a
// URL that survives a reload and can be shared, and the server serves one page at `/`.

import { useEffect, useState } from "preact/hooks";

export interface Route {
  /// `events`, `settings/users`, `profile`...
  path: string;
  params: URLSearchParams;
}

export function currentRoute(): Route {
  const hash = location.hash.replace(/^#\/?/, "");
  const [path, query] = hash.split("?", 2);
  return { path: path || "events", params: new URLSearchParams(query ?? "") };
}

export function href(path: string, params: Record<string, string | null | undefined> = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
  const s = q.toString();
  return `#/${path}${s ? "?" + s : ""}`;
}

/// Moves to a view; `replace` keeps the browser history from filling with every keystroke.
export function navigate(path: string, params: Record<string, string | null | undefined> = {}, replace = false): void {
  const target = href(path, params);
  if (location.hash === target) return;
  if (replace) history.replaceState(null, "", target);
  else history.pushState(null, "", target);
  window.dispatchEvent(new HashChangeEvent("hashchange"));
}

export function useRoute(): Route {
  const [route, setRoute] = useState(currentRoute);
  useEffect(() => {
    const update = () => setRoute(currentRoute());
    window.addEventListener("hashchange", update);
    window.addEventListener("popstate", update);
    return () => {
      window.removeEventListener("hashchange", update);
      window.removeEventListener("popstate", update);
    };
  }, []);
  return route;
}
