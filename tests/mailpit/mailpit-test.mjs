#!/usr/bin/env node
// Mailpit's own npm client (mailpit-api) against the daemon's Mailpit-compatible API (--mailpit-listen).
//
// Starts build/smtp-blackhole on free ports of 127.0.0.1, sends three messages over raw SMTP (messages.mjs), then
// runs what a test suite runs against Mailpit, with exact expected values: info, wait for messages, list and
// page, search (to:, from:, subject:, bcc:, tag:, has:, is:, words, phrases, exclusions), read a message with
// its inline part and attachment (downloaded byte for byte), headers, source, the text and HTML views, `latest`,
// read flags, delete by IDs, by search and all; chaos triggers refusing RCPT, then reset. Stops the daemon by its PID and ends with exactly one line
// `mailpit: N passed, N failed`; exit code 0 only if every check passed. The whole run is bounded to 50 s.
//
// Usage: node tests/mailpit/mailpit-test.mjs [--binary build/smtp-blackhole] (run `npm ci` in tests/mailpit first).

import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { MailpitClient } from "mailpit-api";

import { Checks, killNow, sendMail, startDaemon, stopDaemon } from "./lib.mjs";
import { INVOICE, LOGO, PDF, RESET, WELCOME } from "./messages.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const flag = process.argv.indexOf("--binary");
const BINARY = path.resolve(flag > 0 ? process.argv[flag + 1] : path.join(ROOT, "build", "smtp-blackhole"));
const LIMIT_MS = 50000;

const checks = new Checks();
let daemon = null;
const size = (m) => Buffer.byteLength(m.raw);
const addr = (Name, Address) => ({ Name, Address });
const ids = (list) => list.messages.map((m) => m.ID);

// What the list and search say of each message (Created and Read are checked apart).
const SUMMARY = {
  1: { ID: "1", MessageID: "welcome-1@shop.example", From: addr("Shop Team", "team@shop.example"),
    To: [addr("Alice Doe", "alice@example.net")], Cc: [], Bcc: [], ReplyTo: [], Subject: WELCOME.subject,
    Username: "", Tags: ["signup"], Size: size(WELCOME), Attachments: 0,
    Snippet: "Hello Alice, your account is ready: violet-otter-4821. .a line that starts with a dot" },
  2: { ID: "2", MessageID: "invoice-42@shop.example", From: addr("Shop Billing", "billing@shop.example"),
    To: [addr("Alice Doe", "alice@example.net"), addr("", "bob@example.net")], Cc: [],
    Bcc: [addr("", "audit@shop.example")], ReplyTo: [addr("Support", "help@shop.example")],
    Subject: INVOICE.subject, Username: "", Tags: ["invoice"], Size: size(INVOICE), Attachments: 1,
    Snippet: INVOICE.text },
  3: { ID: "3", MessageID: "reset-7@shop.example", From: addr("Security", "security@shop.example"),
    To: [addr("", "bob@example.net")], Cc: [addr("Carol", "carol@example.net")], Bcc: [addr("", "dave@example.net")],
    ReplyTo: [], Subject: RESET.subject, Username: "", Tags: ["password-reset"], Size: size(RESET), Attachments: 0,
    Snippet: "Reset your password: open this link" },
};

// A message as GET /api/v1/message/{ID} gives it.
function fullMessage(id, extra) {
  const { Snippet, Attachments, ...s } = SUMMARY[id];
  const noUnsubscribe = { Header: "", Links: [], Errors: "", HeaderPost: "" };
  return { ...s, ListUnsubscribe: noUnsubscribe, Text: "", HTML: "", Inline: [], Attachments: [], ...extra };
}

const INVOICE_MESSAGE = fullMessage(2, {
  ReturnPath: "bounce+invoice@shop.example", Date: "2026-11-21T10:30:00.000Z", Text: INVOICE.text, HTML: INVOICE.html,
  Inline: [{ PartID: "1.2", FileName: "logo.png", ContentType: "image/png", ContentID: "logo@shop.example",
    Size: LOGO.length }],
  Attachments: [{ PartID: "2", FileName: "invoice-42.pdf", ContentType: "application/pdf", ContentID: "",
    Size: PDF.length }],
});
const RESET_MESSAGE = fullMessage(3, {
  ReturnPath: "security@shop.example", Date: "2026-11-22T08:00:00.000Z", HTML: RESET.html,
  ListUnsubscribe: { Header: "<mailto:unsub@shop.example>, <https://shop.example/unsub?u=bob>",
    Links: ["mailto:unsub@shop.example", "https://shop.example/unsub?u=bob"], Errors: "",
    HeaderPost: "List-Unsubscribe=One-Click" },
});

// The list (or search) answer: its page of summaries (Created within the run, Read as `read` says) and its counts
// over the mailbox (`all`) and over the matches (`matched` of them, `matchedUnread` unread).
function checkList(name, got, { all, page, start = 0, matched = all.length, unread = all.length,
  matchedUnread = Math.min(unread, matched), read = {} }) {
  for (const m of got.messages) {
    const created = Date.parse(m.Created);
    checks.ok(`${name}: message ${m.ID} Created during the run`,
      created >= checks.startedAt - 1000 && created <= Date.now(), m.Created);
  }
  const shown = got.messages.map(({ Created, ...m }) => m);
  checks.equal(`${name}: summaries`, shown, page.map((id) => ({ ...SUMMARY[id], Read: read[id] ?? false })));
  const counts = { total: got.total, unread: got.unread, count: got.count, start: got.start,
    messages_count: got.messages_count, messages_unread: got.messages_unread, tags: got.tags };
  checks.equal(`${name}: counts`, counts, { total: all.length, unread, count: page.length, start,
    messages_count: matched, messages_unread: matchedUnread, tags: all.map((id) => SUMMARY[id].Tags[0]).sort() });
}

async function sendAll(smtpPort) {
  for (const m of [WELCOME, INVOICE, RESET]) await sendMail(smtpPort, m.from, m.rcpts, m.raw);
}

async function listAndPage(mp) {
  const waited = await mp.waitForMessages({ count: 3 }, { timeout: 5000, interval: 50 });
  checks.equal("waitForMessages: 3 messages", [waited.messages_count, ids(waited)], [3, ["3", "2", "1"]]);
  const list = await mp.listMessages();
  checkList("listMessages", list, { all: [3, 2, 1], page: [3, 2, 1] });
  const page = await mp.listMessages(1, 1);
  checkList("listMessages(1, 1)", page, { all: [3, 2, 1], page: [2], start: 1 });
}

const SEARCHES = [
  ["to:alice", [2, 1]], ["to:bob@example.net", [3, 2]], ["from:security@shop.example", [3]],
  ["subject:\"Your Invoice\"", [2]], ["subject:willkommen", [1]], ["violet-otter-4821", [1]],
  ["\"open this link\"", [3]], ["invoice-42.pdf", [2]], ["bcc:dave", [3]], ["cc:carol", [3]],
  ["reply-to:help@shop.example", [2]], ["tag:signup", [1]], ["has:attachment", [2]], ["has:inline", [2]],
  ["alice -invoice", [1]], ["!from:shop.example", []], ["message-id:invoice-42", [2]], ["nothing-matches", []],
];

async function search(mp) {
  for (const [query, matched] of SEARCHES) {
    const got = await mp.searchMessages({ query });
    checkList(`search ${query}`, got, { all: [3, 2, 1], page: matched, matched: matched.length });
  }
}

async function readInvoice(mp) {
  const m = await mp.waitForMessage({ query: "subject:Invoice" }, { timeout: 2000, interval: 50 });
  checks.equal("waitForMessage subject:Invoice: the invoice, whole", m, INVOICE_MESSAGE);
  const pdf = await mp.getMessageAttachment(m.ID, m.Attachments[0].PartID);
  checks.equal("attachment: type", pdf.type, "application/pdf");
  checks.ok("attachment: byte for byte", Buffer.from(await pdf.arrayBuffer()).equals(PDF));
  const logo = await mp.getMessageAttachment(m.ID, m.Inline[0].PartID);
  checks.equal("inline part: type", logo.type, "image/png");
  checks.ok("inline part: byte for byte", Buffer.from(await logo.arrayBuffer()).equals(LOGO));
  checks.equal("renderMessageHTML: cid: links to the part", await mp.renderMessageHTML(m.ID),
    INVOICE.html.replace("cid:logo@shop.example", "/api/v1/message/2/part/1.2"));
}

async function readWelcome(mp, base) {
  checks.equal("getMessageHeaders(1)", await mp.getMessageHeaders("1"), {
    "Content-Transfer-Encoding": ["8bit"], "Content-Type": ["text/plain; charset=utf-8"],
    Date: ["Fri, 20 Nov 2026 10:00:00 +0000"], From: ["Shop Team <team@shop.example>"],
    "Message-Id": ["<welcome-1@shop.example>"], "Mime-Version": ["1.0"],
    Subject: [`=?UTF-8?B?${Buffer.from(WELCOME.subject).toString("base64")}?=`],
    To: ["Alice Doe <alice@example.net>"], "X-Flow": ["signup"] });
  checks.equal("getMessageSource(1): the message as sent", await mp.getMessageSource("1"), WELCOME.raw);
  checks.equal("renderMessageText(1)", await mp.renderMessageText("1"), WELCOME.text);
  const raw = await fetch(`${base}/view/1.raw`);
  checks.equal("/view/1.raw", [raw.status, await raw.text()], [200, WELCOME.raw]);
  const latest = await mp.getMessageSummary();
  checks.equal("getMessageSummary() is the latest, whole", latest, RESET_MESSAGE);
}

async function readFlagsAndInfo(mp, version) {
  const list = await mp.listMessages();
  checkList("after reading 2 and 3", list, { all: [3, 2, 1], page: [3, 2, 1], unread: 1, read: { 3: true, 2: true } });
  const unread = await mp.searchMessages({ query: "is:unread" });
  checks.equal("search is:unread", [ids(unread), unread.messages_count, unread.messages_unread], [["1"], 1, 1]);
  const info = await mp.getInfo();
  const bytes = size(WELCOME) + size(INVOICE) + size(RESET);
  checks.ok("info: Uptime and Memory are numbers", Number.isInteger(info.RuntimeStats.Uptime) &&
    info.RuntimeStats.Memory > 0, JSON.stringify(info.RuntimeStats));
  info.RuntimeStats.Uptime = info.RuntimeStats.Memory = 0;
  // The store's size: the messages' bytes and the summaries kept with them for listing and search.
  checks.ok("info: DatabaseSize is the messages and their summaries", info.DatabaseSize > bytes &&
    info.DatabaseSize < bytes + 3 * 8192, JSON.stringify([info.DatabaseSize, bytes]));
  info.DatabaseSize = 0;
  checks.equal("getInfo", info, { Version: version, LatestVersion: "disabled", Database: "", DatabaseSize: 0,
    Messages: 3, Unread: 1, Tags: { invoice: 1, "password-reset": 1, signup: 1 },
    RuntimeStats: { Uptime: 0, Memory: 0, MessagesDeleted: 0, SMTPAccepted: 3, SMTPAcceptedSize: bytes,
      SMTPRejected: 0, SMTPIgnored: 0 } });
}

async function deletes(mp) {
  checks.equal("deleteMessages({IDs: ['1']})", await mp.deleteMessages({ IDs: ["1"] }), "ok");
  checks.equal("after delete by IDs", ids(await mp.listMessages()), ["3", "2"]);
  checks.equal("deleteMessagesBySearch from:security", await mp.deleteMessagesBySearch({ query: "from:security" }), "ok");
  checks.equal("after delete by search", ids(await mp.listMessages()), ["2"]);
  checks.equal("deleteMessages()", await mp.deleteMessages(), "ok");
  const empty = await mp.listMessages();
  checks.equal("after delete all", [empty.total, empty.messages, empty.tags], [0, [], []]);
  const latest = await mp.getMessageSummary().then(() => "found", (e) => String(e.message));
  checks.ok("getMessageSummary() on an empty mailbox: 404", latest.includes("404 Not Found"), latest);
  const info = await mp.getInfo();
  checks.equal("info after deletes", [info.Messages, info.Unread, info.RuntimeStats.MessagesDeleted], [0, 0, 3]);
}

// Mailpit's chaos triggers: a Recipient trigger at 100% makes RCPT answer its code (with the enhanced code every
// reply here has, 452 4.3.1; Mailpit sends none); reset, mail goes through.
async function chaos(mp, smtpPort) {
  const off = { Sender: { ErrorCode: 451, Probability: 0 }, Recipient: { ErrorCode: 451, Probability: 0 },
    Authentication: { ErrorCode: 535, Probability: 0 } };
  checks.equal("getChaosTriggers(): Mailpit's defaults", await mp.getChaosTriggers(), off);
  const set = await mp.setChaosTriggers({ Recipient: { ErrorCode: 452, Probability: 100 } });
  checks.equal("setChaosTriggers({Recipient: 452 at 100%})", set,
    { ...off, Recipient: { ErrorCode: 452, Probability: 100 } });
  checks.equal("getChaosTriggers() after the set", await mp.getChaosTriggers(), set);
  const refused = await sendMail(smtpPort, WELCOME.from, WELCOME.rcpts, WELCOME.raw).then(() => "sent", (e) => e.message);
  checks.equal("RCPT answers the trigger's code and Mailpit's text", refused,
    "SMTP RCPT TO:<alice@example.net>: wanted 250, got 452 4.3.1 Chaos recipient error");
  const bad = await mp.setChaosTriggers({ Sender: { ErrorCode: 200, Probability: 5 } }).then(() => "set", (e) => e.message);
  checks.ok("setChaosTriggers with ErrorCode 200: 400 with Mailpit's message",
    bad.includes("400 Bad Request") && bad.endsWith(": error code must be between 400 and 599"), bad);
  checks.equal("a bad set changes nothing", await mp.getChaosTriggers(), set);
  checks.equal("setChaosTriggers(): all reset", await mp.setChaosTriggers(), off);
  await sendMail(smtpPort, WELCOME.from, WELCOME.rcpts, WELCOME.raw);
  const after = await mp.listMessages();
  checks.equal("after the reset the message is accepted", [after.total, after.messages[0]?.Subject],
    [1, WELCOME.subject]);
}

async function main() {
  checks.startedAt = Date.now();
  const version = spawnSync(BINARY, ["--version"], { encoding: "utf8" }).stdout.trim().split(" ")[1];
  daemon = await startDaemon(BINARY, ["--smtp-listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0",
    "--mailpit-listen", "127.0.0.1:0", "--threads", "2", "--hostname", "mx.test"]);
  const port = daemon.ports.mailpit;
  checks.equal("one listening mailpit line", daemon.listening.filter((l) => l.startsWith("listening mailpit")),
    [`listening mailpit 127.0.0.1:${port}`]);
  const base = `http://127.0.0.1:${port}`;
  const mp = new MailpitClient(base);
  const before = await mp.getInfo();
  checks.equal("info before mail", [before.Messages, before.Tags, before.RuntimeStats.SMTPAccepted], [0, {}, 0]);
  await sendAll(daemon.ports.smtp);
  await checks.step("list", () => listAndPage(mp));
  await checks.step("search", () => search(mp));
  await checks.step("read the invoice", () => readInvoice(mp));
  await checks.step("read the welcome", () => readWelcome(mp, base));
  await checks.step("read flags and info", () => readFlagsAndInfo(mp, version));
  await checks.step("deletes", () => deletes(mp));
  await checks.step("chaos", () => chaos(mp, daemon.ports.smtp));
  const exit = await stopDaemon(daemon);
  checks.equal("daemon exits 0 on SIGTERM", exit, { code: 0, signal: null });
}

const watchdog = setTimeout(() => {
  checks.ok(`whole run within ${LIMIT_MS / 1000} s`, false);
  killNow(daemon);
  console.log(checks.line("mailpit"));
  process.exit(1);
}, LIMIT_MS);
process.on("exit", () => killNow(daemon));

await checks.step("run", main);
clearTimeout(watchdog);
if (checks.failed && daemon) console.log(`--- daemon stderr ---\n${daemon.log.trimEnd()}\n---------------------`);
console.log(checks.line("mailpit"));
process.exitCode = checks.failed === 0 ? 0 : 1;
