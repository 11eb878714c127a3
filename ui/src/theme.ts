// Light, dark, or the system's choice, applied to the root element as `data-theme`; for the
// system's choice the current preference is resolved here and followed as it changes, so the
// stylesheet needs one dark palette only.

export type Theme = "system" | "light" | "dark";
const KEY = "seqr.theme";
const dark = window.matchMedia("(prefers-color-scheme: dark)");
let chosen: Theme = "system";

function paint(): void {
  const resolved = chosen === "system" ? (dark.matches ? "dark" : "light") : chosen;
  document.documentElement.setAttribute("data-theme", resolved);
}

dark.addEventListener("change", paint);

export function applyTheme(theme: Theme): void {
  chosen = theme;
  if (theme === "system") localStorage.removeItem(KEY);
  else localStorage.setItem(KEY, theme);
  paint();
}

export function applyStoredTheme(): void {
  const stored = localStorage.getItem(KEY);
  chosen = stored === "light" || stored === "dark" ? stored : "system";
  paint();
}
