// Browser tests of the web UI: a real seqr (SEQR_BIN, default target/debug/seqr) on an
// ephemeral loopback port with a fresh data directory, driven in Debian's headless Chromium
// through playwright-core (no browser download). Every request the page makes must go to the
// server itself, and no page error may occur.
//
//   node ui/tests/browser.mjs        (make test runs it after building the UI and the binary)
//   UI_CHECK=tail node ui/tests/browser.mjs     (only the checks whose name matches /tail/)
//   UI_BASE_PATH=/seq node ui/tests/browser.mjs  (the UI under a path prefix, see harness.mjs)

import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ingest, rowTexts, search, signIn, startAll, waitFor } from "./harness.mjs";

const checks = [];
function check(name, fn) {
  checks.push({ name, fn });
}

const now = Date.now();
const payloads = JSON.parse(readFileSync(join(import.meta.dirname, "xss-payloads.json"), "utf8"));
const minutesAgo = (m) => new Date(now - m * 60e3).toISOString();

check("signs in, survives a reload, signs out", async (page, url) => {
  await page.goto(url + "/");
  await page.getByRole("heading", { name: /Sign in/ }).waitFor();
  await signIn(page, url);
  await page.reload();
  await page.getByRole("textbox", { name: "Search" }).waitFor();
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("heading", { name: /Sign in/ }).waitFor();
});

check("a wrong password shows the server's message", async (page, url) => {
  await page.goto(url + "/");
  await page.getByLabel("Username").fill("admin");
  await page.getByLabel("Password").fill("not-the-password-1");
  await page.getByRole("button", { name: "Sign in" }).click();
  const alert = page.getByRole("alert");
  await alert.waitFor();
  const text = (await alert.textContent()) ?? "";
  if (!/password|sign/i.test(text)) throw new Error(`unexpected error text: ${text}`);
});

check("searches, expands an event, includes and excludes a value", async (page, url) => {
  await ingest(url, [
    { "@t": minutesAgo(30), "@mt": "Order {OrderId} shipped to {City}", OrderId: "ORD-1", City: "Oslo", "@l": "Information" },
    { "@t": minutesAgo(20), "@mt": "Order {OrderId} shipped to {City}", OrderId: "ORD-2", City: "Lima", "@l": "Information" },
    { "@t": minutesAgo(10), "@mt": "Payment failed for {OrderId}", OrderId: "ORD-3", "@l": "Error", "@x": "System.Exception: card declined\n   at Pay()" },
  ]);
  await signIn(page, url);
  await search(page, "OrderId like 'ORD-%'");
  await waitFor("three results", async () => (await rowTexts(page)).length === 3);
  const texts = await rowTexts(page);
  if (texts[0] !== "Payment failed for ORD-3") throw new Error(`newest first, rendered: ${texts}`);
  if (!(await page.getByTestId("search-kind").textContent()).startsWith("Expression")) throw new Error("not shown as an expression");
  // The exception keeps its line break.
  await page.locator(".event-summary").first().click();
  const exception = await page.locator(".exception").textContent();
  if (!exception.includes("card declined\n   at Pay()")) throw new Error(`exception text: ${JSON.stringify(exception)}`);
  await page.locator(".event-summary").first().click();
  // Expand the Lima event and include its City.
  await page.locator(".event-summary", { hasText: "Lima" }).click();
  await page.getByRole("button", { name: "Include City = 'Lima'" }).click();
  await waitFor("one result", async () => {
    const t = await rowTexts(page);
    return t.length === 1 && t[0] === "Order ORD-2 shipped to Lima";
  });
  const filterInUrl = new URLSearchParams(page.url().split("?")[1]).get("filter");
  if (filterInUrl !== "OrderId like 'ORD-%' and City = 'Lima'") throw new Error(`URL: ${page.url()}`);
  // A reload reproduces the view from the URL.
  await page.reload();
  await waitFor("the same result after reload", async () => (await rowTexts(page)).join() === "Order ORD-2 shipped to Lima");
  // Exclude instead.
  await search(page, "OrderId like 'ORD-%'");
  await waitFor("three results again", async () => (await rowTexts(page)).length === 3);
  await page.locator(".event-summary", { hasText: "Oslo" }).click();
  await page.getByRole("button", { name: "Exclude City = 'Oslo'" }).click();
  await waitFor("Oslo excluded", async () => {
    const t = await rowTexts(page);
    return t.length === 1 && t[0].includes("Lima");
  });
  // The search exports as CSV (streamed by the server).
  await search(page, "OrderId like 'ORD-%'");
  await waitFor("three results again", async () => (await rowTexts(page)).length === 3);
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Export as CSV" }).click()]);
  const csv = readFileSync(await download.path(), "utf8");
  if (csv.split("\r\n").filter(Boolean).length !== 4 || !csv.includes("Order ORD-2 shipped to Lima")) throw new Error(`export: ${csv}`);
  // Free text is searched as text, and says so.
  await search(page, "card declined");
  await waitFor("text match", async () => (await rowTexts(page)).join() === "Payment failed for ORD-3");
  if (!(await page.getByTestId("search-kind").textContent()).startsWith("Text search")) throw new Error("not shown as text");
});

check("dragging across the histogram zooms into that range", async (page, url) => {
  await signIn(page, url);
  await page.getByLabel("Time range").selectOption("1h");
  const svg = page.getByTestId("histogram");
  await svg.waitFor();
  await waitFor("bars", async () => (await page.locator(".histogram .bar").count()) > 0);
  const box = await svg.boundingBox();
  await page.mouse.move(box.x + box.width * 0.25, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.5, box.y + box.height / 2, { steps: 5 });
  await page.mouse.up();
  await waitFor("an absolute range in the URL", async () => /from=.*&to=/.test(page.url()));
  const params = new URLSearchParams(page.url().split("?")[1]);
  const span = Date.parse(params.get("to")) - Date.parse(params.get("from"));
  // A quarter of an hour, give or take the pixels.
  if (Math.abs(span - 15 * 60e3) > 60e3) throw new Error(`zoomed span ${span} ms`);
});

check("live tail shows events posted while it runs", async (page, url) => {
  await signIn(page, url);
  await search(page, "Source = 'tail-test'");
  await page.getByLabel("Live tail").check();
  await page.waitForTimeout(500);
  await ingest(url, [{ "@t": new Date().toISOString(), "@mt": "Tailed {N}", N: 1, Source: "tail-test" }]);
  await ingest(url, [{ "@t": new Date().toISOString(), "@mt": "Not for this tail", Source: "other" }]);
  await ingest(url, [{ "@t": new Date().toISOString(), "@mt": "Tailed {N}", N: 2, Source: "tail-test" }]);
  await waitFor("two tailed events, newest first", async () => (await rowTexts(page)).join("|") === "Tailed 2|Tailed 1");
});

check("a select grouped by time renders a chart and a grid", async (page, url) => {
  await signIn(page, url);
  await search(page, "select count(*) from stream group by time(1h)");
  await page.getByTestId("time-chart").locator("canvas").waitFor();
  await page.getByRole("button", { name: "Rowset" }).click();
  await page.locator(".result-grid td").first().waitFor();
  await page.getByRole("button", { name: "Pie" }).click();
  await page.getByTestId("pie-chart").waitFor();
  // A broken query shows the server's error and underlines where it is.
  await search(page, "select count(*) from stream where");
  const alert = page.locator(".error-panel");
  await alert.waitFor();
  if (!/position/.test(await alert.textContent())) throw new Error("no position in the error");
  await page.locator(".cm-lintRange-error, .cm-lintPoint-error").first().waitFor({ state: "attached" });
});

check("an API key created in the UI ingests, its token shown once", async (page, url) => {
  await signIn(page, url);
  await page.getByRole("link", { name: "Settings" }).click();
  await page.getByRole("link", { name: "API keys" }).click();
  await page.getByRole("button", { name: "New API key" }).click();
  const form = page.getByRole("form", { name: "New API key" });
  await form.getByLabel("Title").fill("Browser test app");
  await form.getByRole("button", { name: "Add property" }).click();
  await form.getByLabel("Property name").fill("App");
  await form.getByLabel("Property value").fill("ui-key-test");
  await form.getByRole("button", { name: "Create" }).click();
  const tokenBox = page.getByLabel("API key token");
  await tokenBox.waitFor();
  const token = await tokenBox.inputValue();
  if (token.length < 20) throw new Error(`token: ${token}`);
  await page.getByText("is shown only now").waitFor();
  await ingest(url, [{ "@t": new Date().toISOString(), "@mt": "Sent with the new key" }], { "X-Seq-ApiKey": token });
  await page.getByRole("button", { name: "Done" }).click();
  await page.reload();
  await page.getByRole("cell", { name: "Browser test app", exact: true }).waitFor();
  if ((await page.content()).includes(token)) throw new Error("the token is shown again after creation");
  await page.getByRole("link", { name: "Events" }).click();
  await search(page, "App = 'ui-key-test'");
  await waitFor("the event sent with the key", async () => (await rowTexts(page)).join() === "Sent with the new key");
});

check("a read-only user changes the one-time password and sees no administration", async (page, url) => {
  await signIn(page, url);
  await page.getByRole("link", { name: "Settings" }).click();
  await page.getByRole("link", { name: "Users" }).click();
  await page.getByRole("button", { name: "New user" }).click();
  const form = page.getByRole("form", { name: "New user" });
  await form.getByLabel("Username").fill("reader");
  await form.getByLabel("Role").selectOption("role-user-readonly");
  await form.getByLabel(/^Password/).fill("first-password-123");
  await form.getByRole("button", { name: "Create" }).click();
  await page.getByRole("cell", { name: "reader", exact: true }).waitFor();
  await page.getByRole("button", { name: "Sign out" }).click();
  // The first sign-in asks for a new password.
  await page.getByLabel("Username").fill("reader");
  await page.getByLabel("Password", { exact: true }).fill("first-password-123");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByLabel("New password", { exact: true }).fill("second-password-456");
  await page.getByLabel("Confirm new password").fill("second-password-456");
  await page.getByRole("button", { name: "Change password and sign in" }).click();
  await page.getByRole("button", { name: "Sign out" }).waitFor();
  // Signed in where the admin left off (#/settings/users): refused, with no table shown.
  await page.getByText("Your role does not include administration.").waitFor();
  if (await page.getByRole("table").count()) throw new Error("an administration table was shown");
  if (await page.getByRole("link", { name: "Settings" }).count()) throw new Error("a read-only user sees Settings");
  await page.getByRole("link", { name: "Events" }).click();
  await page.getByRole("textbox", { name: "Search" }).waitFor();
  if (await page.getByRole("link", { name: "Settings" }).count()) throw new Error("a read-only user sees Settings");
});

check("completion offers recent properties, functions and built-ins; history keeps and pins searches", async (page, url) => {
  await ingest(url, [{ "@t": minutesAgo(5), "@mt": "Completion {Citadel}", Citadel: "x" }]);
  await signIn(page, url);
  await search(page, "Has(Citadel)");
  await waitFor("the event", async () => (await rowTexts(page)).length === 1);
  const box = page.getByRole("textbox", { name: "Search" });
  await box.click();
  await page.keyboard.press("Control+A");
  await page.keyboard.press("Delete");
  await box.pressSequentially("Cit");
  const options = page.locator(".cm-tooltip-autocomplete li");
  await options.first().waitFor();
  if (!(await options.allTextContents()).some((t) => t.startsWith("Citadel"))) throw new Error("no recent property offered");
  await page.keyboard.press("Escape");
  await page.keyboard.press("Control+A");
  await box.pressSequentially("@Lev");
  await waitFor("@Level offered", async () => (await options.allTextContents()).some((t) => t.startsWith("@Level")));
  await page.keyboard.press("Control+A");
  await box.pressSequentially("StartsW");
  await waitFor("StartsWith offered", async () => (await options.allTextContents()).some((t) => t.startsWith("StartsWith")));
  await page.keyboard.press("Escape");
  // History: the search run above is recent; pinning moves it under Pinned, across reloads.
  await page.getByRole("button", { name: "History" }).click();
  await page.getByRole("button", { name: "Pin Has(Citadel)" }).click();
  await page.reload();
  await page.getByRole("button", { name: "History" }).click();
  await page.getByRole("button", { name: "Unpin Has(Citadel)" }).waitFor();
});

check("timestamps and absolute ranges follow the profile's time zone; the theme sticks", async (page, url) => {
  const at = new Date(Date.now() - 20 * 60e3);
  at.setUTCMilliseconds(0);
  await ingest(url, [{ "@t": at.toISOString(), "@mt": "Zone check" }]);
  await signIn(page, url);
  await page.getByRole("link", { name: "Administrator" }).click();
  await page.getByLabel("Time zone for timestamps").fill("Asia/Tokyo");
  await page.getByLabel("Theme").selectOption("dark");
  await page.getByRole("button", { name: "Save" }).click();
  await page.getByRole("status").getByText("Saved.").waitFor();
  await page.reload();
  if ((await page.evaluate(() => document.documentElement.dataset.theme)) !== "dark") throw new Error("theme not kept");
  await page.getByRole("link", { name: "Events" }).click();
  await search(page, "@Message = 'Zone check'");
  await waitFor("the event", async () => (await rowTexts(page)).length === 1);
  const shown = await page.locator(".event-row .timestamp").first().textContent();
  const tokyo = new Date(at.getTime() + 9 * 3600e3).toISOString().replace("T", " ").slice(0, 23);
  if (shown !== tokyo) throw new Error(`shown ${shown}, expected Tokyo time ${tokyo}`);
  // An absolute range typed as Tokyo wall time.
  await page.getByLabel("Time range").selectOption("custom");
  await page.locator(".custom-range input").nth(0).fill("2026-06-01T09:00:00");
  await page.locator(".custom-range input").nth(1).fill("2026-06-01T10:00:00");
  await page.getByRole("button", { name: "Apply" }).click();
  await waitFor("the range in the URL", async () => new URLSearchParams(page.url().split("?")[1]).get("from") === "2026-06-01T00:00:00.000Z");
  // Back to the browser's defaults for the other checks.
  await page.getByRole("link", { name: "Administrator" }).click();
  await page.getByLabel("Time zone for timestamps").fill("");
  await page.getByLabel("Theme").selectOption("system");
  await page.getByRole("button", { name: "Save" }).click();
  await page.getByRole("status").getByText("Saved.").waitFor();
});

check("live tail takes bursts without freezing and keeps the reader's place", async (page, url) => {
  const older = [];
  for (let i = 0; i < 100; i++) older.push({ "@t": minutesAgo(30 - i * 0.1), "@mt": "Burst old {I}", I: i, Source: "burst" });
  await ingest(url, older);
  await signIn(page, url);
  await search(page, "Source = 'burst'");
  await waitFor("the older events", async () => Number(await page.getByRole("table", { name: "Events" }).getAttribute("aria-rowcount")) === 100);
  await page.getByLabel("Live tail").check();
  await page.waitForTimeout(300);
  const list = page.getByRole("table", { name: "Events" });
  await list.evaluate((el) => (el.scrollTop = 20 * 28));
  await page.waitForTimeout(200);
  const topId = () => list.evaluate((el) => {
    const box = el.getBoundingClientRect();
    return document.elementFromPoint(box.left + 100, box.top + 5)?.closest("[data-event-id]")?.getAttribute("data-event-id") ?? null;
  });
  const before = await topId();
  // 1,000 events in 20 requests as fast as they go.
  for (let b = 0; b < 20; b++) {
    const batch = [];
    for (let i = 0; i < 50; i++) batch.push({ "@t": new Date().toISOString(), "@mt": "Burst new {I}", I: b * 50 + i, Source: "burst" });
    await ingest(url, batch);
  }
  await waitFor("all tailed", async () => Number(await list.getAttribute("aria-rowcount")) === 1100, 15_000);
  // The page still answers at once, and the row being read has not moved.
  const t0 = Date.now();
  await page.evaluate(() => 1);
  if (Date.now() - t0 > 500) throw new Error("the page is unresponsive");
  const after = await topId();
  if (!before || before !== after) throw new Error(`the reader's row moved: ${before} -> ${after}`);
});

/// Calls the API from the page as the signed-in user (cookie plus CSRF token).
async function pageApi(page, method, path, body) {
  return page.evaluate(
    async ({ method, path, body }) => {
      const r = await fetch(path, {
        method,
        headers: { "Content-Type": "application/json", "X-Seq-CsrfToken": localStorage.getItem("seqr.csrf") ?? "" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await r.text();
      if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
      return text ? JSON.parse(text) : null;
    },
    { method, path, body },
  );
}

/// No payload ran: nothing set the flag, no dialog opened, and no element carries an event
/// handler attribute or a script the app did not ship.
async function assertNoScriptRan(page, where, dialogs) {
  const found = await page.evaluate(() => ({
    flag: window.__xss,
    handlers: [...document.querySelectorAll("*")].filter((el) => [...el.attributes].some((a) => a.name.toLowerCase().startsWith("on"))).length,
    scripts: [...document.querySelectorAll("script")].filter((s) => !s.src || !s.src.startsWith(location.origin + "/assets/")).length,
    frames: document.querySelectorAll("iframe, object, embed").length,
  }));
  if (found.flag !== undefined || dialogs.length || found.handlers || found.scripts || found.frames) {
    throw new Error(`${where}: ${JSON.stringify({ ...found, dialogs })}`);
  }
}

check("an XSS corpus in events, keys, users and the title is shown as text and never runs", async (page, url) => {
  const dialogs = [];
  page.on("dialog", (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  const base = Date.now() - 5 * 60e3;
  const events = [];
  payloads.forEach((payload, i) => {
    events.push({
      "@t": new Date(base + i * 1000).toISOString(),
      "@mt": "XSS {Index}: {Value}",
      "@l": "Error",
      "@x": payload,
      Index: i,
      Value: payload,
      [payload]: `named ${i}`,
      Nested: { Inner: payload, List: [payload] },
    });
    events.push({ "@t": new Date(base + i * 1000 + 500).toISOString(), "@mt": payload, Kind: "template", Value: payload });
  });
  await ingest(url, events);
  await signIn(page, url);
  for (const [i, payload] of payloads.entries()) {
    await pageApi(page, "POST", "/api/apikeys/", { Title: payload, AssignedPermissions: ["Ingest"], OwnerId: null });
    if (i < 5) {
      await pageApi(page, "POST", "/api/users/", { Username: `xss${i}`, DisplayName: payload, NewPassword: "xss-password-1234", RoleIds: ["role-user-readonly"] });
    }
  }
  const settings = await pageApi(page, "GET", "/api/settings");
  const title = settings.find((x) => x.Name === "InstanceTitle");
  await pageApi(page, "PUT", "/" + title.Links.Self, { ...title, Value: payloads[0] });

  // The list: every message shows its payload literally.
  await page.goto(url + "/#/events?filter=" + encodeURIComponent("Has(Index)") + "&range=1h");
  await waitFor("every payload event", async () => (await page.locator(".event-row").count()) >= Math.min(payloads.length, 20));
  const rows = await page.locator(".event-row .message").allTextContents();
  for (const text of rows) {
    const m = text.match(/^XSS (\d+): /);
    if (!m || text !== `XSS ${m[1]}: ${payloads[+m[1]]}`) throw new Error(`not literal: ${JSON.stringify(text)}`);
  }
  await assertNoScriptRan(page, "event list", dialogs);
  // Expanded: properties named and valued by payloads, nested values, the exception.
  for (let i = 0; i < Math.min(8, rows.length); i++) {
    await page.locator(".event-summary").nth(i).click();
  }
  const exceptions = await page.locator(".exception").allTextContents();
  if (!exceptions.length || !exceptions.every((x) => payloads.includes(x))) throw new Error(`exceptions: ${JSON.stringify(exceptions.slice(0, 3))}`);
  await page.locator(".properties .tree").first().waitFor();
  await assertNoScriptRan(page, "expanded events", dialogs);
  // Templates that are payloads.
  await search(page, "Kind = 'template'");
  await waitFor("template events", async () => (await page.locator(".event-row").count()) > 0);
  await page.locator(".event-summary").first().click();
  await assertNoScriptRan(page, "payload templates", dialogs);
  // A permalink page.
  const id = await page.locator(".event-row").first().getAttribute("data-event-id");
  await page.goto(url + "/#/event/" + encodeURIComponent(id));
  await page.locator(".event-detail").waitFor();
  await assertNoScriptRan(page, "permalink", dialogs);
  // Query results as a grid and as charts (labels are payloads).
  await page.goto(url + "/#/events?filter=" + encodeURIComponent("select count(*) from stream where Has(Index) group by Value") + "&range=1h");
  await page.locator(".result-grid td").first().waitFor();
  const cells = await page.locator(".result-grid td:first-child").allTextContents();
  if (!payloads.slice(0, 10).every((x) => cells.includes(x))) throw new Error("grid cells are not the payloads, literally");
  await page.getByRole("button", { name: "Pie" }).click();
  await page.getByRole("button", { name: "Bar" }).click();
  await assertNoScriptRan(page, "query views", dialogs);
  // Administration: API key titles, user display names, audit details; the title everywhere.
  await page.goto(url + "/#/settings/apikeys");
  await page.getByRole("cell", { name: payloads[1], exact: true }).first().waitFor();
  const titles = await page.locator(".admin-table tbody tr td:first-child").allTextContents();
  if (!payloads.every((x) => titles.includes(x))) {
    throw new Error(`API key titles not literal: ${JSON.stringify(payloads.filter((x) => !titles.includes(x)).slice(0, 3))}`);
  }
  await assertNoScriptRan(page, "API keys", dialogs);
  await page.goto(url + "/#/settings/users");
  await page.getByRole("cell", { name: "xss0", exact: true }).waitFor();
  await assertNoScriptRan(page, "users", dialogs);
  await page.goto(url + "/#/settings/audit");
  await page.locator(".admin-table.audit td").first().waitFor();
  await assertNoScriptRan(page, "audit log", dialogs);
  await page.reload();
  if ((await page.locator(".instance").textContent()) !== payloads[0]) throw new Error("instance title not literal");
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("heading", { name: /Sign in/ }).waitFor();
  if ((await page.getByRole("heading").textContent()) !== `Sign in to ${payloads[0]}`) throw new Error("sign-in title not literal");
  await assertNoScriptRan(page, "sign-in page", dialogs);
});

check("100,000 events in range: the list stays virtualised while scrolling", async (page, url) => {
  const total = 100_000;
  const start = Date.now() - 50 * 60e3;
  for (let b = 0; b < total; b += 10_000) {
    const batch = [];
    for (let i = b; i < b + 10_000; i++) {
      batch.push({ "@t": new Date(start + i * 25).toISOString(), "@mt": "Bulk {N} from {Host}", N: i, Host: `web-${i % 7}`, Bulk: true });
    }
    await ingest(url, batch);
  }
  await signIn(page, url);
  await page.goto(url + "/#/events?filter=" + encodeURIComponent("Bulk = true") + "&range=1h");
  await page.getByText("100,000 events").waitFor({ timeout: 30_000 });
  const list = page.getByRole("table", { name: "Events" });
  await list.waitFor();
  let maxRows = 0;
  for (let step = 0; step < 25; step++) {
    await list.evaluate((el) => el.scrollBy(0, el.scrollHeight));
    await page.waitForTimeout(150);
    maxRows = Math.max(maxRows, await page.locator(".event-row").count());
  }
  const loaded = Number(await list.getAttribute("aria-rowcount"));
  if (loaded < 2_000) throw new Error(`only ${loaded} events loaded by scrolling`);
  if (maxRows > 120) throw new Error(`${maxRows} rows in the DOM for ${loaded} loaded`);
  // Newest first, in order, across pages.
  const ns = (await page.locator(".event-row .message").allTextContents()).map((t) => Number(t.match(/Bulk (\d+)/)[1]));
  if (ns.some((n, i) => i > 0 && n >= ns[i - 1])) throw new Error(`not newest first: ${ns.slice(0, 10)}`);
});

// Screenshots of failures: git-ignored.
const outputDir = join(import.meta.dirname, "output");
mkdirSync(outputDir, { recursive: true });
let all;
let failed = 0;
let ran = 0;
try {
  all = await startAll();
  const { server, browser } = all;
  // UI_CHECK=pattern runs only the checks whose name matches it (a regular expression).
  const only = process.env.UI_CHECK ? new RegExp(process.env.UI_CHECK) : null;
  const selected = checks.filter((c) => !only || only.test(c.name));
  ran = selected.length;
  for (const { name, fn } of selected) {
    const context = await browser.newContext();
    const page = await context.newPage();
    const problems = [];
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("request", (r) => {
      if (!r.url().startsWith(server.url + "/")) problems.push(`request outside the server: ${r.url()}`);
    });
    page.setDefaultTimeout(10_000);
    try {
      await fn(page, server.url);
      if (problems.length) throw new Error(problems.join("\n"));
      console.log(`PASS ${name}`);
    } catch (e) {
      failed++;
      console.log(`FAIL ${name}: ${e.message}`);
      const shot = join(outputDir, name.replace(/[^a-z0-9]+/gi, "-") + ".png");
      await page.screenshot({ path: shot }).catch(() => {});
      console.log(`     screenshot: ${shot}`);
    } finally {
      await context.close();
    }
  }
} catch (e) {
  failed++;
  console.log(`FAIL setting up: ${e.message}`);
} finally {
  await all?.close();
}
if (failed) {
  console.log(`ui/tests: ${failed} of ${ran} browser check(s) failed`);
  process.exit(1);
}
console.log(`ui/tests: all ${ran} browser checks passed`);
