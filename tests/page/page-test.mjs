#!/usr/bin/env node
// Browser test of the sample viewer page (src/http/page/index.html) against the real daemon.
//
// Starts build/smtp-blackhole on free ports of 127.0.0.1, sends two messages over SMTP (two flows, one with a
// raw UTF-8 subject, one with a subject that looks like HTML), opens the page in Debian's headless chromium
// through playwright-core, checks the flow table, the sample list and the detail of one sample, saves a
// screenshot to build/page-test.png, stops the daemon by its PID with SIGTERM, and ends with exactly one line
// `page: N passed, N failed` (N = checks). Exit code 0 only if every check passed.
//
// Usage: node tests/page/page-test.mjs [--binary build/smtp-blackhole] [--chromium /usr/bin/chromium]
// (run `npm ci` in tests/page first). Every step has a deadline; the whole run is bounded to 55 s.

import { spawn } from "node:child_process";
import { existsSync, mkdirSync, statSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, "..", "..");
const TOTAL_LIMIT_MS = 55000;

function option(name, fallback) {
  const i = process.argv.indexOf(name);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
const BINARY = path.resolve(option("--binary", path.join(ROOT, "build", "smtp-blackhole")));
const CHROMIUM = option("--chromium", "/usr/bin/chromium");
const SCREENSHOT = path.join(ROOT, "build", "page-test.png");

// Distinctive content of the two messages.
const A = {
  flow: "signup",
  from: "noreply@shop.example",
  to: "alice@customer.example",
  subject: "Willkommen, Jürgen — Grüße aus Köln ✓ [page-test A]",
  body: "Distinctive body line: violet-otter-4821 has joined.",
};
const B = {
  flow: "password-reset",
  from: "security@shop.example",
  to: "bob@customer.example",
  subject: 'Reset <img src=x onerror="window.__pwned=1"> <b>now</b> [page-test B]',
  body: "<script>window.__pwned = 2</script> second body line: amber-heron-1337",
};

let passed = 0;
let failed = 0;
function check(name, ok, detail) {
  if (ok) {
    passed++;
    console.log(`ok   ${name}`);
  } else {
    failed++;
    console.log(`FAIL ${name}${detail !== undefined ? ": " + detail : ""}`);
  }
  return ok;
}

let daemon = null;
let daemonExit = null; // resolves to {code, signal} once the daemon has exited
let daemonLog = "";
let browser = null;
let finished = false;

function finish(extraFailure) {
  if (finished) return;
  finished = true;
  if (extraFailure) check(extraFailure, false);
  if (failed && daemonLog) {
    console.log("--- daemon stderr ---");
    console.log(daemonLog.trimEnd());
    console.log("---------------------");
  }
  console.log(`page: ${passed} passed, ${failed} failed`);
  process.exitCode = failed === 0 ? 0 : 1;
}

function killDaemonNow() {
  if (daemon && daemon.exitCode === null && daemon.signalCode === null) {
    try { process.kill(daemon.pid, "SIGKILL"); } catch { /* already gone */ }
  }
}

// A hard bound on the whole run: report, clean up what we started, and leave.
const watchdog = setTimeout(async () => {
  finish(`whole test finished within ${TOTAL_LIMIT_MS / 1000} s`);
  killDaemonNow();
  try { if (browser) await Promise.race([browser.close(), sleep(3000)]); } catch { /* ignore */ }
  process.exit(1);
}, TOTAL_LIMIT_MS);
process.on("exit", killDaemonNow);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
function withTimeout(p, ms, what) {
  let t;
  return Promise.race([p, new Promise((_, rej) => { t = setTimeout(() => rej(new Error(`${what}: no result within ${ms} ms`)), ms); })])
    .finally(() => clearTimeout(t));
}

// ---- the daemon ----

function startDaemon() {
  return new Promise((resolve, reject) => {
    daemon = spawn(BINARY, ["--smtp-listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0", "--threads", "1"],
      { stdio: ["ignore", "ignore", "pipe"] });
    daemonExit = new Promise((r) => daemon.on("exit", (code, signal) => r({ code, signal })));
    let smtp = null, http = null, done = false;
    const t = setTimeout(() => { if (!done) { done = true; reject(new Error("no listening lines within 10 s")); } }, 10000);
    daemon.on("error", (e) => { if (!done) { done = true; clearTimeout(t); reject(e); } });
    daemon.on("exit", (code, sig) => { if (!done) { done = true; clearTimeout(t); reject(new Error(`daemon exited early (code ${code}, signal ${sig})`)); } });
    daemon.stderr.setEncoding("utf8");
    daemon.stderr.on("data", (chunk) => {
      daemonLog += chunk;
      if (daemonLog.length > 200000) daemonLog = daemonLog.slice(-100000);
      const s = /listening smtp 127\.0\.0\.1:(\d+)/.exec(daemonLog);
      const h = /listening http 127\.0\.0\.1:(\d+)/.exec(daemonLog);
      if (s) smtp = Number(s[1]);
      if (h) http = Number(h[1]);
      if (smtp && http && !done) { done = true; clearTimeout(t); resolve({ smtp, http }); }
    });
  });
}

async function stopDaemon() {
  if (!daemon || daemon.exitCode !== null || daemon.signalCode !== null) return daemonExit ? await daemonExit : null;
  process.kill(daemon.pid, "SIGTERM");
  try {
    return await withTimeout(daemonExit, 15000, "daemon exit after SIGTERM");
  } catch (e) {
    killDaemonNow();
    throw e;
  }
}

// ---- a minimal SMTP client: enough for EHLO, MAIL, RCPT, DATA, QUIT ----

function smtpSend(port, msg) {
  return new Promise((resolve, reject) => {
    const sock = net.createConnection({ host: "127.0.0.1", port });
    sock.setTimeout(5000, () => sock.destroy(new Error("SMTP: no reply within 5 s")));
    let buf = "";
    const waiting = [];
    const replies = [];
    sock.setEncoding("utf8");
    sock.on("data", (d) => {
      buf += d;
      // A reply ends with a line "NNN text" (a space after the code, not a dash).
      for (;;) {
        const m = /^(?:\d{3}-[^\n]*\n)*(\d{3})(?: [^\n]*)?\r?\n/.exec(buf);
        if (!m) break;
        buf = buf.slice(m[0].length);
        replies.push({ code: Number(m[1]), text: m[0] });
      }
      while (waiting.length && replies.length) waiting.shift()(replies.shift());
    });
    sock.on("error", reject);
    const reply = () => new Promise((r) => (replies.length ? r(replies.shift()) : waiting.push(r)));
    const expect = async (what, code) => {
      const r = await reply();
      if (r.code !== code) throw new Error(`SMTP ${what}: expected ${code}, got ${r.text.trim()}`);
      return r;
    };
    const lines = [
      `From: Page Test <${msg.from}>`,
      `To: <${msg.to}>`,
      `Subject: ${msg.subject}`,
      `X-Flow: ${msg.flow}`,
      `Date: ${new Date().toUTCString().replace("GMT", "+0000")}`,
      `Message-ID: <${Date.now()}.${msg.flow}@page-test.example>`,
      "MIME-Version: 1.0",
      "Content-Type: text/plain; charset=utf-8",
      "Content-Transfer-Encoding: 8bit",
      "",
      "Hello,",
      "",
      msg.body,
      ".a line that starts with a dot",
      "",
      "-- ",
      "the page test",
    ];
    const data = lines.map((l) => (l.startsWith(".") ? "." + l : l)).join("\r\n") + "\r\n.\r\n";
    (async () => {
      await expect("greeting", 220);
      sock.write("EHLO page-test.example\r\n");
      const ehlo = await expect("EHLO", 250);
      const params = /8BITMIME/i.test(ehlo.text) ? " BODY=8BITMIME" : "";
      sock.write(`MAIL FROM:<${msg.from}>${params}\r\n`);
      await expect("MAIL", 250);
      sock.write(`RCPT TO:<${msg.to}>\r\n`);
      await expect("RCPT", 250);
      sock.write("DATA\r\n");
      await expect("DATA", 354);
      sock.write(Buffer.from(data, "utf8"));
      await expect("end of data", 250);
      sock.write("QUIT\r\n");
      await expect("QUIT", 221);
      sock.end();
    })().then(resolve, (e) => { sock.destroy(); reject(e); });
  });
}

// ---- the HTTP API (only to wait until the daemon has counted both messages) ----

async function waitFlow(httpPort, flow) {
  const r = await fetch(`http://127.0.0.1:${httpPort}/api/v1/flows/${encodeURIComponent(flow)}/wait?messages=1&timeout=5`,
    { signal: AbortSignal.timeout(8000) });
  return r.status;
}

// ---- the browser part ----

async function main() {
  check("daemon binary exists", existsSync(BINARY), BINARY);
  check("chromium exists", existsSync(CHROMIUM), CHROMIUM);
  if (failed) return;

  let ports;
  try {
    ports = await startDaemon();
    check("daemon started and logged its SMTP and HTTP ports", true);
  } catch (e) {
    check("daemon started and logged its SMTP and HTTP ports", false, e.message);
    return;
  }

  for (const msg of [A, B]) {
    try {
      await smtpSend(ports.smtp, msg);
      check(`SMTP accepted the ${msg.flow} message`, true);
    } catch (e) {
      check(`SMTP accepted the ${msg.flow} message`, false, e.message);
    }
  }
  for (const msg of [A, B]) {
    try {
      const status = await waitFlow(ports.http, msg.flow);
      check(`daemon counted the ${msg.flow} message (flows/${msg.flow}/wait)`, status === 200, `HTTP ${status}`);
    } catch (e) {
      check(`daemon counted the ${msg.flow} message (flows/${msg.flow}/wait)`, false, e.message);
    }
  }

  let chromium;
  try {
    ({ chromium } = await import("playwright-core"));
  } catch (e) {
    check("playwright-core is installed (npm ci in tests/page)", false, e.message);
    return;
  }
  browser = await withTimeout(chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: 20000,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-proxy-server",
      "--disable-dev-shm-usage"],
  }), 25000, "chromium launch");
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, locale: "en-US" });
  // Nothing may leave 127.0.0.1: the page must not fetch anything but the daemon's own API.
  const foreign = [];
  await context.route("**/*", (route) => {
    const u = new URL(route.request().url());
    if (u.hostname === "127.0.0.1" && u.port === String(ports.http)) return route.continue();
    foreign.push(route.request().url());
    return route.abort();
  });
  const page = await context.newPage();
  page.setDefaultTimeout(8000);
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(e.message));
  page.on("console", (m) => { if (m.type() === "error") pageErrors.push("console: " + m.text()); });

  const url = `http://127.0.0.1:${ports.http}/`;
  const resp = await page.goto(url, { waitUntil: "load", timeout: 10000 });
  check("GET / answers 200 text/html", resp && resp.status() === 200 && /text\/html/.test(resp.headers()["content-type"] || ""),
    resp ? `${resp.status()} ${resp.headers()["content-type"]}` : "no response");

  // Flow table: both flows, each with one message.
  for (const msg of [A, B]) {
    const row = page.locator(`tr.flow[data-flow="${msg.flow}"]`);
    try {
      await row.waitFor({ state: "visible" });
      const n = (await row.locator("td.messages").textContent()).trim();
      check(`flow table shows ${msg.flow} with 1 message`, n === "1", `messages cell is "${n}"`);
    } catch (e) {
      check(`flow table shows ${msg.flow} with 1 message`, false, e.message.split("\n")[0]);
    }
  }

  // Sample list: both subjects, as text.
  const subjects = async () => page.locator("tr.sample td.subject .subject-text").allTextContents();
  for (const msg of [A, B]) {
    try {
      await page.waitForFunction((s) => [...document.querySelectorAll("tr.sample td.subject .subject-text")].some((e) => e.textContent === s),
        msg.subject, { timeout: 8000 });
      check(`sample list shows the subject "${msg.subject}"`, true);
    } catch (e) {
      check(`sample list shows the subject "${msg.subject}"`, false, JSON.stringify(await subjects()));
    }
  }
  const order = await page.locator("tr.sample").evaluateAll((rows) => rows.map((r) => Number(r.dataset.id)));
  check("sample rows carry data-id and come newest first", order.length === 2 && order[0] > order[1], JSON.stringify(order));

  // Message content is text, never markup.
  const injected = await page.evaluate(() => ({
    imgs: document.querySelectorAll("img").length,
    bolds: document.querySelectorAll("tr.sample b, #detail b").length,
    pwned: window.__pwned === undefined ? null : window.__pwned,
  }));
  check("a subject that looks like HTML is shown as text", injected.imgs === 0 && injected.bolds === 0 && injected.pwned === null,
    JSON.stringify(injected));

  // Detail of the first message.
  const rowA = page.locator("tr.sample", { has: page.locator(".subject-text", { hasText: "[page-test A]" }) });
  const idA = await rowA.getAttribute("data-id").catch(() => null);
  try {
    await rowA.click();
    await page.waitForFunction((id) => document.body.dataset.detailId === id && document.body.dataset.detailState === "loaded", idA);
    check("clicking the sample loads its detail and marks it selected", await rowA.evaluate((r) => r.classList.contains("selected")));
  } catch (e) {
    check("clicking the sample loads its detail and marks it selected", false, e.message.split("\n")[0]);
  }
  const detailSubject = await page.locator("#detail-subject").textContent().catch(() => null);
  check("detail shows the subject", detailSubject === A.subject, JSON.stringify(detailSubject));
  const source = await page.locator("#detail-source").textContent().catch(() => "");
  check("detail source contains the distinctive body line", source.includes(A.body), JSON.stringify(source.slice(0, 300)));
  check("detail source is the raw message (header and dot-unstuffed line)",
    source.includes(`X-Flow: ${A.flow}`) && source.includes("\n.a line that starts with a dot"), JSON.stringify(source.slice(0, 300)));
  const headerNames = await page.locator("#detail-headers tr.header td.name").allTextContents().catch(() => []);
  check("detail lists the header fields", headerNames.includes("Subject:") && headerNames.includes("X-Flow:"), JSON.stringify(headerNames));

  await page.screenshot({ path: SCREENSHOT, fullPage: false }).catch((e) => console.log("screenshot: " + e.message));

  // Selection survives the automatic refresh (2 s).
  await sleep(2600);
  const stillSelected = await page.locator("tr.sample.selected").getAttribute("data-id").catch(() => null);
  check("the selection survives a refresh", stillSelected === idA, `selected: ${stillSelected}`);

  // A click on a flow row filters the samples by that flow.
  try {
    await page.locator(`tr.flow[data-flow="${B.flow}"]`).click();
    await page.waitForFunction((f) => {
      const rows = [...document.querySelectorAll("tr.sample")];
      return rows.length === 1 && rows[0].dataset.flow === f;
    }, B.flow);
    check("clicking a flow row filters the samples by that flow", true);
  } catch (e) {
    const rows = await page.locator("tr.sample").evaluateAll((rs) => rs.map((r) => r.dataset.flow));
    check("clicking a flow row filters the samples by that flow", false, JSON.stringify(rows));
  }
  const status = await page.locator("#status").textContent();
  check("the status line reports a successful update", /^Updated /.test(status || ""), JSON.stringify(status));

  try {
    mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    // The full view again, with the detail open, for people to look at.
    await page.locator("#clear-filter").click();
    await page.waitForFunction(() => document.querySelectorAll("tr.sample").length === 2);
    await page.screenshot({ path: SCREENSHOT, fullPage: false });
    check(`screenshot saved to ${path.relative(ROOT, SCREENSHOT)}`, statSync(SCREENSHOT).size > 1000);
  } catch (e) {
    check(`screenshot saved to ${path.relative(ROOT, SCREENSHOT)}`, false, e.message.split("\n")[0]);
  }

  check("no JavaScript errors on the page", pageErrors.length === 0, JSON.stringify(pageErrors));
  check("the page fetched nothing but the daemon", foreign.length === 0, JSON.stringify(foreign));
}

async function run() {
  try {
    await main();
  } catch (e) {
    check("test ran to the end", false, e.stack || e.message);
  }
  if (browser) {
    try { await withTimeout(browser.close(), 5000, "browser close"); } catch (e) { console.log(e.message); }
  }
  if (daemon) {
    try {
      const r = await stopDaemon();
      check("daemon exited cleanly after SIGTERM", r && r.code === 0, JSON.stringify(r));
    } catch (e) {
      check("daemon exited cleanly after SIGTERM", false, e.message);
    }
  }
  clearTimeout(watchdog);
  finish();
}

run();
