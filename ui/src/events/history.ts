// Search history: the recent searches and the ones the user pinned, kept in this browser.

const RECENT_KEY = "seqr.history.recent";
const PINNED_KEY = "seqr.history.pinned";
const MAX_RECENT = 20;

function read(key: string): string[] {
  try {
    const v = JSON.parse(localStorage.getItem(key) ?? "[]");
    return Array.isArray(v) ? v.filter((x) => typeof x === "string") : [];
  } catch {
    return [];
  }
}

export function recentSearches(): string[] {
  return read(RECENT_KEY);
}

export function pinnedSearches(): string[] {
  return read(PINNED_KEY);
}

export function remember(text: string): void {
  const t = text.trim();
  if (!t) return;
  localStorage.setItem(RECENT_KEY, JSON.stringify([t, ...read(RECENT_KEY).filter((x) => x !== t)].slice(0, MAX_RECENT)));
}

export function togglePin(text: string): void {
  const pinned = read(PINNED_KEY);
  const next = pinned.includes(text) ? pinned.filter((x) => x !== text) : [text, ...pinned];
  localStorage.setItem(PINNED_KEY, JSON.stringify(next));
}
