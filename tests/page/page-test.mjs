#!/usr/bin/env node
// Browser test of the sample viewer page (src/http/page/index.html) against the real daemon.
//
// Starts build/smtp-blackhole on free ports of 127.0.0.1, sends two messages over SMTP (two flows, one with a
// raw UTF-8 subject, one with a subject that looks like HTML), opens the page in Debian's headless chromium
// through playwright-core, checks the flow table, the sample list and the detail of one sample, saves a
// screenshot to build/page-test.png; then sends a multipart message with a hostile HTML part while the page is
// open and checks its decoded fields, each tab (HTML, text, headers, source, parts), the attachment's download,
// that the HTML part neither ran its script nor loaded anything (every request Chromium makes is recorded), and
// the search box (screenshot build/page-test-message.png); stops the daemon by its PID with SIGTERM, and ends
// with exactly one line `page: N passed, N failed` (N = checks). Exit code 0 only if every check passed.
//
// Usage: node tests/page/page-test.mjs [--binary build/smtp-blackhole] [--chromium /usr/bin/chromium]
// (run `npm ci` in tests/page first). Every step has a deadline; the whole run is bounded to 55 s.

import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, "..", "..");
const TOTAL_LIMIT_MS = 80000;

function option(name, fallback) {
  const i = process.argv.indexOf(name);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
const BINARY = path.resolve(option("--binary", path.join(ROOT, "build", "smtp-blackhole")));
const CHROMIUM = option("--chromium", "/usr/bin/chromium");
const SCREENSHOT = path.join(ROOT, "build", "page-test.png");
const SCREENSHOT_MESSAGE = path.join(ROOT, "build", "page-test-message.png");

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

// A multipart message (mixed: related(alternative(text QP, HTML base64), cid: logo), CSV attachment with an RFC
// 2231 name) with encoded words in its subject and addresses. Its HTML tries what a hostile mail would: a meta
// refresh, a <base>, remote styles, images, a frame, a script and an event handler.
const PNG_3X2 = "iVBORw0KGgoAAAANSUhEUgAAAAMAAAACCAIAAAASFvFNAAAAFUlEQVR42mM4IScnF3VCboENA5wFAEDsBn0aa2e1AAAAAElFTkSuQmCC";
const C_CSV = "Artikel;Preis\r\nTee;4,20\r\n";
const C_HTML = [
  "<!doctype html>",
  "<html><head>",
  '<meta http-equiv="refresh" content="0; url=http://refresh.page-test.invalid/">',
  '<link rel="stylesheet" href="http://css.page-test.invalid/style.css">',
  '<base href="http://base.page-test.invalid/">',
  '<style>@import url("http://import.page-test.invalid/i.css"); .banner { background: url(https://bg.page-test.invalid/b.png) }</style>',
  "</head><body>",
  '<h1 id="marker">HTML part: coral-falcon-7310</h1>',
  '<p class="banner">Logo: <img id="logo" alt="logo" src="cid:logo.7310@page-test.example"></p>',
  '<p>Tracker: <img id="tracker" alt="tracker" src="https://tracker.page-test.invalid/open.gif?m=7310" width="1" height="1"></p>',
  '<p><img id="relative" alt="relative" src="relative.png" srcset="https://srcset.page-test.invalid/a.png 2x"></p>',
  '<script>document.getElementById("marker").textContent = "script ran";</script>',
  '<img id="handler" alt="" src="data:image/png;base64,AAAA" onerror="document.getElementById(\'marker\').textContent = \'handler ran\'">',
  '<iframe src="http://frame.page-test.invalid/"></iframe>',
  '<p><a id="offer" href="https://www.page-test.invalid/offer">Angebot ansehen</a></p>',
  "</body></html>",
].join("\r\n");
const base64Lines = (bytes) => Buffer.from(bytes).toString("base64").match(/.{1,76}/g);
const C = {
  flow: "newsletter",
  from: "bounce@shop.example",
  rcpts: ["carol@customer.example", "dave@customer.example"],
  subject: "Ihre Rechnung für März [page-test C]",
  text: "Guten Tag,\n\nIhre Rechnung für März liegt bei: coral-falcon-7310.\nDiese Zeile hat einen weichen Zeilenumbruch.",
  raw: [
    "From: =?utf-8?q?Gr=C3=BC=C3=9Fe_Team?= <news@shop.example>",
    'To: "Carol Example" <carol@customer.example>, dave@customer.example',
    "Cc: =?utf-8?b?w4lsb2RpZQ==?= <elodie@customer.example>",
    "Reply-To: Support <support@shop.example>",
    "Subject: =?utf-8?q?Ihre_Rechnung_f=C3=BCr_M=C3=A4rz?= [page-test C]",
    "X-Flow: newsletter",
    "Date: Tue, 24 Nov 2026 10:11:12 +0100",
    "Message-ID: <c-multipart.7310@page-test.example>",
    "MIME-Version: 1.0",
    'Content-Type: multipart/mixed; boundary="mixed-7310"',
    "",
    "This is a multi-part message in MIME format.",
    "--mixed-7310",
    'Content-Type: multipart/related; boundary="related-7310"; type="multipart/alternative"',
    "",
    "--related-7310",
    'Content-Type: multipart/alternative; boundary="alt-7310"',
    "",
    "--alt-7310",
    "Content-Type: text/plain; charset=utf-8",
    "Content-Transfer-Encoding: quoted-printable",
    "",
    "Guten Tag,",
    "",
    "Ihre Rechnung f=C3=BCr M=C3=A4rz liegt bei: coral-falcon-7310.",
    "Diese Zeile hat einen weichen Zeilen=",
    "umbruch.",
    "--alt-7310",
    "Content-Type: text/html; charset=utf-8",
    "Content-Transfer-Encoding: base64",
    "",
    ...base64Lines(C_HTML),
    "--alt-7310--",
    "--related-7310",
    "Content-Type: image/png",
    "Content-Transfer-Encoding: base64",
    "Content-ID: <logo.7310@page-test.example>",
    'Content-Disposition: inline; filename="logo.png"',
    "",
    PNG_3X2,
    "--related-7310--",
    "--mixed-7310",
    'Content-Type: text/csv; charset=utf-8; name="Rechnung.csv"',
    "Content-Transfer-Encoding: base64",
    "Content-Disposition: attachment; filename*=utf-8''Rechnung%20M%C3%A4rz.csv",
    "",
    ...base64Lines(C_CSV),
    "--mixed-7310--",
  ],
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
    const lines = msg.raw || [
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
      for (const rcpt of msg.rcpts || [msg.to]) {
        sock.write(`RCPT TO:<${rcpt}>\r\n`);
        await expect("RCPT", 250);
      }
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
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, locale: "en-US", timezoneId: "UTC" });
  // Nothing may leave 127.0.0.1: the page must not fetch anything but the daemon's own API.
  const foreign = [];
  const requests = [];  // every request Chromium makes, from the page and every frame in it
  const refusedByPolicy = new Set();  // requests Chromium announced and then refused itself (Content-Security-Policy)
  context.on("request", (r) => requests.push(r.url()));
  context.on("requestfailed", (r) => {
    if (["csp", "net::ERR_BLOCKED_BY_CSP"].includes((r.failure() || {}).errorText)) refusedByPolicy.add(r.url());
  });
  await context.route("**/*", (route) => {
    const u = new URL(route.request().url());
    if (u.hostname === "127.0.0.1" && u.port === String(ports.http)) return route.continue();
    foreign.push(route.request().url());
    return route.abort();
  });
  const page = await context.newPage();
  page.setDefaultTimeout(8000);
  const pageErrors = [];
  const blockedInMail = [];  // what Chromium reports blocking in the multipart message's HTML: expected, not errors
  page.on("pageerror", (e) => pageErrors.push(e.message));
  page.on("console", (m) => {
    if (m.type() !== "error") return;
    const t = m.text();
    if ((/Content Security Policy/.test(t) && /page-test\.invalid|\/relative\.png/.test(t)) || t.startsWith("Blocked script execution in 'about:srcdoc'")) blockedInMail.push(t);
    else pageErrors.push("console: " + t);
  });

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

  await multipartMessage(page, ports, requests, refusedByPolicy, blockedInMail);
  await paging(page, ports, requests);

  check("no JavaScript errors on the page", pageErrors.length === 0, JSON.stringify(pageErrors));
  check("the page fetched nothing but the daemon", foreign.length === 0, JSON.stringify(foreign));
}

// ---- the multipart message, sent while the page is open ----

const firstLine = (e) => e.message.split("\n")[0];

// The ids of the sample rows, in order.
const rowIds = (page) => page.locator("tr.sample").evaluateAll((rows) => rows.map((r) => r.dataset.id));

// Waits until the sample rows are exactly `ids`; returns the rows as they are at the end.
async function waitRows(page, ids) {
  try {
    await page.waitForFunction((want) => JSON.stringify([...document.querySelectorAll("tr.sample")].map((r) => r.dataset.id)) === want,
      JSON.stringify(ids), { timeout: 8000 });
  } catch { /* the caller's check says what was there */ }
  return rowIds(page);
}

// Runs `fn` in the frame until it returns something that `done` accepts, for up to 5 s; returns its last result.
async function poll(frame, fn, done) {
  let last;
  for (let i = 0; i < 50; i++) {
    last = await frame.evaluate(fn).catch((e) => "error: " + firstLine(e));
    if (done(last)) break;
    await sleep(100);
  }
  return last;
}

// Clicks the tab `name`; returns the tab the page says is shown and the tabs whose panels are visible.
async function showTabOf(page, name) {
  await page.locator(`#tab-${name}`).click();
  return page.evaluate(() => ({
    tab: document.body.dataset.detailTab,
    shown: [...document.querySelectorAll("#detail-tabs button[role=tab]")]
      .filter((b) => !document.getElementById(b.getAttribute("aria-controls")).hidden).map((b) => b.dataset.tab),
  }));
}

async function multipartMessage(page, ports, requests, refusedByPolicy, blockedInMail) {
  try {
    await smtpSend(ports.smtp, C);
    check(`SMTP accepted the ${C.flow} message`, true);
  } catch (e) {
    check(`SMTP accepted the ${C.flow} message`, false, e.message);
    return;
  }
  const rowA = page.locator("tr.sample", { has: page.locator(".subject-text", { hasText: "[page-test A]" }) });
  const rowB = page.locator("tr.sample", { has: page.locator(".subject-text", { hasText: "[page-test B]" }) });
  const rowC = page.locator("tr.sample", { has: page.locator(".subject-text", { hasText: "[page-test C]" }) });
  const [idA, idB] = [await rowA.getAttribute("data-id"), await rowB.getAttribute("data-id")];
  let idC = null;
  try {
    await rowC.waitFor({ state: "visible", timeout: 8000 });
    idC = await rowC.getAttribute("data-id");
    const row = await rowC.evaluate((r) => ({
      subject: r.querySelector(".subject-text").textContent,
      from: r.querySelector("td.from").textContent,
      attachments: r.querySelector(".badge.attach") ? r.querySelector(".badge.attach").textContent : null,
    }));
    check("the multipart message appears by itself, with its decoded subject, From name and one attachment",
      row.subject === C.subject && row.from === "Grüße Team" && row.attachments === "1", JSON.stringify(row));
  } catch (e) {
    check("the multipart message appears by itself, with its decoded subject, From name and one attachment", false, firstLine(e));
    return;
  }

  try {
    await rowC.click();
    await page.waitForFunction((id) => document.body.dataset.detailId === id && document.body.dataset.detailState === "loaded", idC);
    check("clicking the multipart message loads its detail", true);
  } catch (e) {
    check("clicking the multipart message loads its detail", false, firstLine(e));
    return;
  }
  const fields = await page.evaluate(() => ({
    subject: document.getElementById("detail-subject").textContent,
    ...Object.fromEntries([...document.querySelectorAll("#detail-meta dd")].map((dd) => [dd.className, dd.textContent])),
    envelope: [...document.querySelectorAll("#detail-envelope-meta dd.env-from, #detail-envelope-meta dd.env-to")].map((dd) => dd.textContent),
  }));
  const wantFields = {
    subject: C.subject,
    "hdr-from": "Grüße Team <news@shop.example>",
    "hdr-to": "Carol Example <carol@customer.example>, dave@customer.example",
    "hdr-cc": "Élodie <elodie@customer.example>",
    "hdr-reply-to": "Support <support@shop.example>",
    date: "2026-11-24 09:11:12 UTC+00:00",
    "message-id": "c-multipart.7310@page-test.example",
    envelope: [C.from, C.rcpts.join(", ")],
  };
  check("detail shows the decoded subject, From, To, Cc, Reply-To, Date, Message-ID and the envelope",
    JSON.stringify(fields) === JSON.stringify(wantFields), JSON.stringify(fields));

  // The HTML part: first tab, sandboxed, its own policy first, rendered without its script, handler or remote loads.
  const html = await page.evaluate(() => ({ tab: document.body.dataset.detailTab, hidden: document.getElementById("detail-html-part").hidden }));
  check("the HTML tab is shown first", html.tab === "html" && html.hidden === false, JSON.stringify(html));
  const frameEl = page.locator("#detail-html");
  const attrs = await frameEl.evaluate((f) => ({
    sandbox: f.getAttribute("sandbox"),
    src: f.getAttribute("src"),
    policy: (/^<!doctype html>\n<html><head><meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(f.getAttribute("srcdoc") || "") || [])[1] || null,
  })).catch((e) => firstLine(e));
  check("the HTML part is a srcdoc iframe sandboxed with no allowance, its policy first in its head", JSON.stringify(attrs) === JSON.stringify({
    sandbox: "", src: null, policy: "default-src 'none'; img-src data: cid:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'",
  }), JSON.stringify(attrs));
  const handle = await frameEl.elementHandle({ timeout: 3000 }).catch(() => null);
  const frame = handle ? await handle.contentFrame() : null;
  if (!check("the HTML part's frame is there", frame !== null)) return;
  const marker = await poll(frame, () => (document.getElementById("marker") || {}).textContent, (v) => v === "HTML part: coral-falcon-7310");
  check("the HTML part is rendered, and neither its script nor its onerror handler ran", marker === "HTML part: coral-falcon-7310", JSON.stringify(marker));
  const images = await poll(frame, () => Object.fromEntries([...document.images].map((i) => [i.id, [i.complete, i.naturalWidth, i.naturalHeight]])),
    (v) => typeof v === "object" && Object.values(v).every((i) => i[0]));
  check("the cid: logo shows (3x2 pixels, from the message); the remote and relative images do not",
    JSON.stringify(images) === JSON.stringify({ logo: [true, 3, 2], tracker: [true, 0, 0], relative: [true, 0, 0], handler: [true, 0, 0] }), JSON.stringify(images));
  const note = await page.locator("#html-note").textContent();
  check("the HTML tab says what was blocked", note === "Scripts and remote content are blocked · 7 references not loaded · 1 inline image", JSON.stringify(note));

  // The attachment: listed once, downloaded with its decoded name and its exact bytes.
  const attachments = await page.locator("#detail-attachments a.attachment").evaluateAll((as) => as.map((a) => ({
    text: a.textContent, download: a.getAttribute("download"), href: a.getAttribute("href"),
  })));
  check("the attachment is listed with its decoded name and a download link", JSON.stringify(attachments) === JSON.stringify([{
    text: "Rechnung März.csv", download: "Rechnung März.csv", href: `api/v1/messages/${idC}/parts/2`,
  }]), JSON.stringify(attachments));
  try {
    const [download] = await Promise.all([page.waitForEvent("download", { timeout: 8000 }), page.locator("#detail-attachments a.attachment").click()]);
    const bytes = readFileSync(await download.path()).toString("latin1");
    check("the attachment downloads with its name and its decoded bytes", download.suggestedFilename() === "Rechnung März.csv" && bytes === C_CSV,
      JSON.stringify([download.suggestedFilename(), bytes]));
  } catch (e) {
    check("the attachment downloads with its name and its decoded bytes", false, firstLine(e));
  }

  await page.screenshot({ path: SCREENSHOT_MESSAGE, fullPage: false }).catch((e) => console.log("screenshot: " + e.message));

  // The other tabs, one at a time.
  let shown = await showTabOf(page, "text");
  const text = (await page.locator("#detail-text").textContent()).replace(/\r\n/g, "\n").trimEnd();
  check("the Text tab shows the decoded text part, alone", shown.tab === "text" && shown.shown.join() === "text" && text === C.text,
    JSON.stringify([shown, text]));
  shown = await showTabOf(page, "headers");
  const headers = await page.locator("#detail-headers tr.header").evaluateAll((rows) => rows.map((r) => [r.dataset.name, r.querySelector(".decoded").textContent]));
  const header = (n) => (headers.find((h) => h[0] === n) || [])[1];
  check("the Headers tab lists the header fields, encoded words decoded", shown.shown.join() === "headers" && headers.length === 10 &&
    header("from") === "Grüße Team <news@shop.example>" && header("content-type") === 'multipart/mixed; boundary="mixed-7310"',
    JSON.stringify([shown, headers]));
  shown = await showTabOf(page, "source");
  const source = await page.locator("#detail-source").textContent();
  check("the Source tab shows the raw message", shown.shown.join() === "source" && source.includes("Content-Disposition: attachment; filename*=utf-8''Rechnung%20M%C3%A4rz.csv") &&
    source.trimEnd().endsWith("--mixed-7310--"), JSON.stringify([shown, source.slice(-200)]));
  shown = await showTabOf(page, "parts");
  const parts = await page.locator("#detail-parts tr.part").evaluateAll((rows) => rows.map((r) => r.dataset.part + " " + r.querySelector("td.type").firstChild.textContent));
  check("the Parts tab shows the MIME tree", shown.shown.join() === "parts" && JSON.stringify(parts) === JSON.stringify([
    " multipart/mixed", "1 multipart/related", "1.1 multipart/alternative", "1.1.1 text/plain", "1.1.2 text/html", "1.2 image/png", "2 text/csv",
  ]), JSON.stringify([shown, parts]));
  await showTabOf(page, "html");

  // The search box: words search subject, addresses and text; from:, to: and subject: narrow by field.
  const searches = [
    ["coral-falcon", [idC], "q=coral-falcon"],
    ["from:security@shop.example", [idB], "from=security%40shop.example"],
    ["subject:WILLKOMMEN to:alice@customer.example", [idA], "rcpt=alice%40customer.example&subject=WILLKOMMEN"],
    ['subject:"für März" violet-otter', [], "subject=f%C3%BCr%20M%C3%A4rz&q=violet-otter"],
  ];
  for (const [text, ids, query] of searches) {
    await page.locator("#search").fill(text);
    await page.locator("#search").press("Enter");
    const got = await waitRows(page, ids);
    const asked = requests.some((u) => u === `http://127.0.0.1:${ports.http}/api/v1/messages?limit=200&${query}`);
    check(`searching ${JSON.stringify(text)} asks for ${query} and lists ${JSON.stringify(ids)}`, asked && JSON.stringify(got) === JSON.stringify(ids),
      JSON.stringify({ asked, got }));
  }
  const empty = await page.locator("#samples-empty").textContent().catch(() => null);
  check("a search that matches nothing says so", empty === "No samples match the search.", JSON.stringify(empty));
  await page.locator("#search-clear").click();
  const all = await waitRows(page, [idC, idB, idA]);
  check("clearing the search lists every sample again", JSON.stringify(all) === JSON.stringify([idC, idB, idA]), JSON.stringify(all));

  const daemon = `http://127.0.0.1:${ports.http}/`;
  // Chromium announces some loads (a CSS background) before its policy check refuses them: those never left.
  const others = requests.filter((u) => u !== daemon && !u.startsWith(daemon + "api/v1/") && !refusedByPolicy.has(u));
  check("every request Chromium sent was for the page or its API", requests.length > 0 && others.length === 0,
    JSON.stringify({ others, refusedByPolicy: [...refusedByPolicy] }));
  check("Chromium reports blocking the mail's script, remote image and remote frame",
    blockedInMail.some((t) => t.startsWith("Blocked script execution")) && blockedInMail.some((t) => t.includes("https://tracker.page-test.invalid/open.gif?m=7310")) &&
    blockedInMail.some((t) => t.includes("http://frame.page-test.invalid/")), JSON.stringify(blockedInMail));
  try {
    check(`screenshot saved to ${path.relative(ROOT, SCREENSHOT_MESSAGE)}`, statSync(SCREENSHOT_MESSAGE).size > 1000);
  } catch (e) {
    check(`screenshot saved to ${path.relative(ROOT, SCREENSHOT_MESSAGE)}`, false, e.message);
  }
}

// ---- paging through more samples than one page holds (200) ----

async function paging(page, ports, requests) {
  const flow = "paging";
  for (let i = 0; i < 450; i++) {
    await smtpSend(ports.smtp, { from: "pager@page-test.example", to: "rcpt@page-test.example", flow, subject: `page sample ${i}`, body: `sample ${i}` });
  }
  const listed = await (await fetch(`http://127.0.0.1:${ports.http}/api/v1/messages?flow=${flow}&limit=1000`,
    { signal: AbortSignal.timeout(8000) })).json();
  const ids = listed.messages.map((m) => String(m.id));
  check("the 450 paging samples are in the ring", ids.length === 450, String(ids.length));
  const pager = () => page.evaluate(() => ({
    older: !document.getElementById("page-older").hidden, newer: !document.getElementById("page-newer").hidden,
    newest: !document.getElementById("page-newest").hidden, note: document.getElementById("page-note").textContent,
    hash: location.hash,
  }));
  const asked = (before) => requests.some((u) => u === `http://127.0.0.1:${ports.http}/api/v1/messages?limit=200&before=${before}&flow=${flow}`);
  await page.locator(`tr.flow[data-flow="${flow}"]`).click();
  let got = await waitRows(page, ids.slice(0, 200));
  let p = await pager();
  check("a full page of samples offers Older, and no Newer", JSON.stringify(got) === JSON.stringify(ids.slice(0, 200)) &&
    p.older && !p.newer && !p.newest && p.note === "", JSON.stringify({ got: got.length, p }));
  await page.locator("#page-older").click();
  got = await waitRows(page, ids.slice(200, 400));
  p = await pager();
  check("Older lists the next 200, asking for before= the last id shown", JSON.stringify(got) === JSON.stringify(ids.slice(200, 400)) &&
    asked(ids[199]) && p.older && p.newer && !p.newest && p.note === "page 2" && p.hash.includes(`before=${ids[199]}`),
    JSON.stringify({ got: got.length, p }));
  await page.locator("#page-older").click();
  got = await waitRows(page, ids.slice(400));
  p = await pager();
  check("the last page holds the oldest 50, without Older", JSON.stringify(got) === JSON.stringify(ids.slice(400)) &&
    asked(ids[399]) && !p.older && p.newer && p.newest && p.note === "page 3", JSON.stringify({ got: got.length, p }));
  const note = await page.locator("#samples-note").textContent();
  check("the note says which page is shown", note === `older than #${ids[399]}, 50, newest first`, JSON.stringify(note));
  await page.locator("#page-newer").click();
  got = await waitRows(page, ids.slice(200, 400));
  p = await pager();
  check("Newer goes back one page", JSON.stringify(got) === JSON.stringify(ids.slice(200, 400)) && p.note === "page 2",
    JSON.stringify({ got: got.length, p }));
  await page.locator("#page-newer").click();
  got = await waitRows(page, ids.slice(0, 200));
  p = await pager();
  check("and back to the newest page, which refreshes again", JSON.stringify(got) === JSON.stringify(ids.slice(0, 200)) &&
    !p.newer && p.older && !p.hash.includes("before="), JSON.stringify({ got: got.length, p }));
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
