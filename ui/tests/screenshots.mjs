// `make screenshots`: the main screens, in light and dark, over generated data, written to
// ui/tests/output/screenshots and then copied by make into docs/screenshots.

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { ingestAll, sampleEvents, search, signIn, startAll } from "./harness.mjs";

const out = join(import.meta.dirname, "output", "screenshots");
mkdirSync(out, { recursive: true });
const all = await startAll();
try {
  const { server, browser } = all;
  await ingestAll(server.url, sampleEvents(5_000, 6 * 3600e3));
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const shot = async (name) => {
    await page.waitForTimeout(400);
    await page.screenshot({ path: join(out, `${name}.png`) });
    console.log(`wrote ${name}.png`);
  };
  await page.goto(server.url + "/");
  await page.getByRole("heading", { name: /Sign in/ }).waitFor();
  await shot("sign-in");
  await signIn(page, server.url);
  await page.goto(server.url + "/#/events?range=4h");
  await page.locator(".event-row").first().waitFor();
  await shot("events");
  await search(page, "@Level = 'Error'");
  await page.locator(".event-summary").first().click();
  await page.locator(".exception").waitFor();
  await shot("event-expanded");
  await search(page, "select count(*) from stream group by time(15m), @Level");
  await page.getByTestId("time-chart").locator("canvas").waitFor();
  await shot("query-chart");
  await search(page, "select count(*) as Orders, mean(Total) as AverageTotal from stream where Has(OrderId) group by Application");
  await page.locator(".result-grid td").first().waitFor();
  await shot("query-grid");
  await page.goto(server.url + "/#/settings/apikeys");
  await page.getByRole("button", { name: "New API key" }).click();
  await page.getByRole("form", { name: "New API key" }).getByLabel("Title").fill("Shop.Web production");
  await page.getByRole("form", { name: "New API key" }).getByRole("button", { name: "Create" }).click();
  await page.getByLabel("API key token").waitFor();
  // A throwaway instance's token, but a screenshot in git should not look like a secret.
  await page.getByLabel("API key token").evaluate((el) => (el.value = "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"));
  await shot("api-key-created");
  await page.goto(server.url + "/#/settings/storage");
  await page.locator(".admin-table").waitFor();
  await shot("storage");
  await page.evaluate(() => document.documentElement.setAttribute("data-theme", "dark"));
  await page.goto(server.url + "/#/events?range=4h");
  await page.locator(".event-row").first().waitFor();
  await shot("events-dark");
} finally {
  await all.close();
}
