// Browser tests of the web UI: a real seqr (SEQR_BIN, default target/debug/seqr) on an
// ephemeral loopback port with a fresh data directory, driven in Debian's headless Chromium
// through playwright-core (no browser download). Every request the page makes must go to the
// server itself, and no page error may occur.
//
//   node ui/tests/browser.mjs        (make test runs it after building the UI and the binary)

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";

const root = resolve(import.meta.dirname, "../..");
const seqrBin = process.env.SEQR_BIN ? resolve(process.env.SEQR_BIN) : join(root, "target/debug/seqr");
const chromiumBin = process.env.CHROMIUM ?? "/usr/bin/chromium";
const password = "correct-horse-battery-9";

// Without the background-networking flags Chromium tries to reach the internet, which would
// also break the no-outbound promise.
const CHROMIUM_FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

function startSeqr(dataDir) {
  const child = spawn(seqrBin, ["serve", "--listen", "127.0.0.1:0", "--storage", dataDir], {
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
        ok({ child, url: m[1].replace(/\/$/, ""), log: () => log });
      }
    });
    child.on("exit", (code) => fail(new Error(`seqr exited (${code}):\n${log}`)));
  });
}

const checks = [];
function check(name, fn) {
  checks.push({ name, fn });
}

check("signs in, survives a reload, signs out", async (page, url) => {
  await page.goto(url + "/");
  await page.getByRole("heading", { name: /Sign in/ }).waitFor();
  await page.getByLabel("Username").fill("admin");
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByText("Signed in as").waitFor();
  await page.reload();
  await page.getByText("Signed in as").waitFor();
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

const dataDir = mkdtempSync(join(tmpdir(), "seqr-ui-"));
let server;
let browser;
let failed = 0;
try {
  server = await startSeqr(join(dataDir, "data"));
  browser = await chromium.launch({
    executablePath: chromiumBin,
    headless: true,
    // playwright gives every launch a fresh temporary profile (--user-data-dir).
    args: CHROMIUM_FLAGS,
  });
  for (const { name, fn } of checks) {
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
    } finally {
      await context.close();
    }
  }
} catch (e) {
  failed++;
  console.log(`FAIL setting up: ${e.message}`);
} finally {
  await browser?.close();
  server?.child.kill("SIGTERM");
  rmSync(dataDir, { recursive: true, force: true });
}
if (failed) {
  console.log(`ui/tests: ${failed} of ${checks.length} browser check(s) failed`);
  process.exit(1);
}
console.log(`ui/tests: all ${checks.length} browser checks passed`);
