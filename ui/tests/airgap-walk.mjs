// A walk through the UI in headless Chromium against a server that is already running, for the
// air-gap test (crates/seqr/tests/it/airgap.rs): that test starts seqr under strace in an empty
// network namespace and runs this script inside the same namespace, so every request the real
// page makes (scripts, styles, API calls, the live-tail WebSocket) reaches a traced server.
//
//   SEQR_URL=http://127.0.0.1:5341 SEQR_PASSWORD=... node ui/tests/airgap-walk.mjs
//
// Fails (exit 1) when a page request leaves the server's origin, a page error occurs or a step
// does not show what it should; prints one `airgap-walk:` summary line on success.

import { chromium } from "playwright-core";
import { CHROMIUM_FLAGS, ingest, rowTexts, search, signIn, waitFor } from "./harness.mjs";

const url = (process.env.SEQR_URL ?? "").replace(/\/$/, "");
const password = process.env.SEQR_PASSWORD;
if (!url || !password) {
  console.error("airgap-walk: SEQR_URL and SEQR_PASSWORD must be set");
  process.exit(2);
}

const problems = [];
const requested = new Set();
let requests = 0;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  args: CHROMIUM_FLAGS,
});
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(15_000);
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("request", (r) => {
    requests++;
    const target = r.url();
    if (!target.startsWith(url + "/")) problems.push(`request outside the server: ${target}`);
    else requested.add(target.slice(url.length).split("?")[0]);
  });
  page.on("websocket", (ws) => {
    const target = ws.url();
    const origin = url.replace(/^http/, "ws");
    if (!target.startsWith(origin + "/")) problems.push(`WebSocket outside the server: ${target}`);
    else requested.add("ws:" + target.slice(origin.length).split("?")[0]);
  });

  await signIn(page, url, "admin", password);
  const now = Date.now();
  await ingest(url, [0, 1, 2].map((i) => ({ "@t": new Date(now - (3 - i) * 60e3).toISOString(), "@mt": "Walked {Step}", Step: i, Walk: true })));
  await search(page, "Walk = true");
  await waitFor("the three walk events", async () => (await rowTexts(page)).length === 3, 15_000);
  await page.locator(".event-summary").first().click();
  await page.locator(".properties").first().waitFor();

  await page.getByLabel("Live tail").check();
  await page.waitForTimeout(500);
  await ingest(url, [{ "@t": new Date().toISOString(), "@mt": "Walked {Step}", Step: 3, Walk: true }]);
  await waitFor("the tailed event", async () => (await rowTexts(page)).includes("Walked 3"), 15_000);
  await page.getByLabel("Live tail").uncheck();

  await search(page, "select count(*) as n from stream group by time(1m)");
  await page.getByTestId("time-chart").locator("canvas").waitFor();
  await page.getByRole("button", { name: "Rowset" }).click();
  await page.locator(".result-grid td").first().waitFor();

  for (const tab of ["apikeys", "users", "retention", "system", "storage", "audit"]) {
    await page.goto(url + "/#/settings/" + tab);
    await page.locator("main h2, main h1").first().waitFor();
    await page.waitForLoadState("networkidle");
  }
  await page.goto(url + "/#/profile");
  await page.waitForLoadState("networkidle");
} catch (e) {
  problems.push(`step failed: ${e.message}`);
} finally {
  await browser.close().catch(() => {});
}

if (problems.length) {
  console.log(`airgap-walk: FAILED\n${problems.join("\n")}`);
  process.exit(1);
}
console.log(`airgap-walk: ${requests} page requests, all to ${url}; paths: ${[...requested].sort().join(" ")}`);
