// The time to first page: a signed-in user opens the events screen with 100,000 events in
// the range (BENCH_UI_EVENTS to change) and waits for the first row of the list and for the
// histogram. Measured from the navigation's start (the page's own clock) over several loads
// of a fresh page; `make bench-ui` runs it against the release binary.
//
//   SEQR_BIN=target/release/seqr node ui/tests/first-page-bench.mjs

import { ingestAll, sampleEvents, signIn, startAll } from "./harness.mjs";

const n = Number(process.env.BENCH_UI_EVENTS ?? 100_000);
const runs = Number(process.env.BENCH_UI_RUNS ?? 9);
const all = await startAll();
try {
  const { server, browser } = all;
  const loadStarted = Date.now();
  await ingestAll(server.url, sampleEvents(n, 50 * 60e3));
  console.log(`bench-ui: ingested ${n} events in ${((Date.now() - loadStarted) / 1000).toFixed(1)} s`);
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const signInPage = await context.newPage();
  await signIn(signInPage, server.url);
  await signInPage.close();
  const firstRow = [];
  const histogram = [];
  for (let i = 0; i < runs; i++) {
    const page = await context.newPage();
    await page.goto(server.url + "/#/events?range=1h", { waitUntil: "commit" });
    await page.locator(".event-row").first().waitFor({ timeout: 30_000 });
    const rowAt = await page.evaluate(() => performance.now());
    await page.getByText(`${n.toLocaleString("en-US")} events`).waitFor({ timeout: 30_000 });
    const barsAt = await page.evaluate(() => performance.now());
    firstRow.push(rowAt);
    histogram.push(barsAt);
    await page.close();
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const fmt = (xs) => `median ${median(xs).toFixed(0)} ms (min ${Math.min(...xs).toFixed(0)}, max ${Math.max(...xs).toFixed(0)})`;
  console.log(`bench-ui: ${n} events in range, ${runs} fresh page loads`);
  console.log(`bench-ui: first row of the list: ${fmt(firstRow)}`);
  console.log(`bench-ui: histogram complete:    ${fmt(histogram)}`);
} finally {
  await all.close();
}
