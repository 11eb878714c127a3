// What the browser tests, the screenshots and the first-page benchmark share: a real seqr on
// an ephemeral loopback port with a fresh data directory, Debian's headless Chromium through
// playwright-core (no browser download), and the UI steps they all take.

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";

const root = resolve(import.meta.dirname, "../..");
const seqrBin = process.env.SEQR_BIN ? resolve(process.env.SEQR_BIN) : join(root, "target/debug/seqr");
const chromiumBin = process.env.CHROMIUM ?? "/usr/bin/chromium";
export const password = "correct-horse-battery-9";

// Without the background-networking flags Chromium tries to reach the internet, which would
// also break the no-outbound promise.
export const CHROMIUM_FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

// UI_BASE_PATH=/seq serves seqr as if behind a proxy at http://seqr.test/seq (`--base-uri`):
// the tests then open the UI under the prefix, and every request it makes must carry it.
const basePath = process.env.UI_BASE_PATH ?? "";

function startSeqr(dataDir) {
  const args = ["serve", "--listen", "127.0.0.1:0", "--storage", dataDir];
  if (basePath) args.push("--base-uri", `http://seqr.test${basePath}`);
  const child = spawn(seqrBin, args, {
    env: { ...process.env, SEQR_FIRSTRUN_ADMINPASSWORD: password },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  child.stderr.on("data", (d) => (log += d));
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`seqr printed no address within 15 s:\n${log}`)), 15_000);
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/Listening on (http:\/\/\S+)/);
      if (m) {
        clearTimeout(timer);
        ok({ child, url: m[1].replace(/\/$/, "") + basePath, log: () => log });
      }
    });
    child.on("exit", (code) => fail(new Error(`seqr exited (${code}):\n${log}`)));
  });
}


/// A server over a new data directory, and a browser; `close` stops both and removes the data.
export async function startAll() {
  const dataDir = mkdtempSync(join(tmpdir(), "seqr-ui-"));
  const server = await startSeqr(join(dataDir, "data"));
  const browser = await chromium.launch({
    executablePath: chromiumBin,
    headless: true,
    // playwright gives every launch a fresh temporary profile (--user-data-dir).
    args: CHROMIUM_FLAGS,
  });
  return {
    server,
    browser,
    async close() {
      await browser.close().catch(() => {});
      const exited = new Promise((r) => server.child.once("exit", r));
      server.child.kill("SIGTERM");
      await exited;
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function signIn(page, url, username = "admin", pass = password) {
  await page.goto(url + "/");
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(pass);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("button", { name: "Sign out" }).waitFor();
}

/// Posts CLEF events (anonymous ingestion is on by default).
export async function ingest(url, events, headers = {}) {
  const body = events.map((e) => JSON.stringify(e)).join("\n");
  const r = await fetch(url + "/ingest/clef", { method: "POST", headers: { "Content-Type": "application/vnd.serilog.clef", ...headers }, body });
  if (r.status !== 201) throw new Error(`ingest answered ${r.status}: ${await r.text()}`);
}

/// Types into the CodeMirror search box and runs the search.
export async function search(page, text) {
  const box = page.getByRole("textbox", { name: "Search" });
  await box.click();
  await page.keyboard.press("Control+A");
  await page.keyboard.press("Delete");
  await box.pressSequentially(text, { delay: 0 });
  await page.keyboard.press("Escape"); // close completion, which would take Enter
  await page.keyboard.press("Enter");
}

export async function rowTexts(page) {
  return page.locator(".event-row .message").allTextContents();
}

export async function waitFor(what, predicate, timeout = 10_000) {
  const deadline = Date.now() + timeout;
  let last;
  while (Date.now() < deadline) {
    last = await predicate();
    if (last) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}


/// `n` plausible events spread over the `spanMs` before now: requests, orders, warnings and
/// errors with exceptions, from a few services (for screenshots and the benchmark).
export function sampleEvents(n, spanMs) {
  const services = ["Shop.Web", "Shop.Api", "Shop.Orders", "Shop.Payments"];
  const paths = ["/", "/cart", "/api/orders", "/api/products/42", "/checkout", "/api/payments"];
  const start = Date.now() - spanMs;
  const events = [];
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let i = 0; i < n; i++) {
    const t = new Date(start + (i / n) * spanMs).toISOString();
    const app = services[Math.floor(rand() * services.length)];
    const r = rand();
    if (r < 0.6) {
      const status = rand() < 0.95 ? 200 : 404;
      events.push({ "@t": t, "@mt": "HTTP {RequestMethod} {RequestPath} responded {StatusCode} in {Elapsed:0.0000} ms", RequestMethod: rand() < 0.8 ? "GET" : "POST", RequestPath: paths[Math.floor(rand() * paths.length)], StatusCode: status, Elapsed: Math.round(rand() * 250000) / 1000, Application: app, MachineName: `web-0${1 + Math.floor(rand() * 4)}` });
    } else if (r < 0.85) {
      events.push({ "@t": t, "@mt": "Order {OrderId} placed by {UserId} for {Total}", OrderId: `ORD-${100000 + i}`, UserId: `user-${Math.floor(rand() * 5000)}`, Total: Math.round(rand() * 50000) / 100, Application: app, Order: { Lines: 1 + Math.floor(rand() * 5), Currency: "EUR" } });
    } else if (r < 0.96) {
      events.push({ "@t": t, "@mt": "Cache miss for {Key}; loading from the database took {Elapsed} ms", "@l": "Warning", Key: `product:${Math.floor(rand() * 999)}`, Elapsed: Math.floor(rand() * 900), Application: app });
    } else {
      events.push({ "@t": t, "@mt": "Payment {PaymentId} failed for order {OrderId}", "@l": "Error", "@x": "System.InvalidOperationException: The card was declined.\n   at Shop.Payments.Gateway.Charge(Card card) in Gateway.cs:line 87\n   at Shop.Payments.PaymentService.Pay(Order order) in PaymentService.cs:line 41", PaymentId: `pay-${i}`, OrderId: `ORD-${100000 + i}`, Application: "Shop.Payments", "@tr": "4bf92f3577b34da6a3ce929d0e0e4736", "@sp": "00f067aa0ba902b7" });
    }
  }
  return events;
}

/// Ingests `events` in batches small enough for the default request limit.
export async function ingestAll(url, events, batch = 5_000) {
  for (let i = 0; i < events.length; i += batch) await ingest(url, events.slice(i, i + batch));
}
