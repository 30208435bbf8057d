// What the Mailpit client test needs besides the client: counted checks with exact (deep) comparison, the daemon
// as a child process (started on free ports of 127.0.0.1, its `listening PROTO ADDR:PORT` lines read, stopped by
// its PID), and a raw SMTP client (Node's net module) that sends one message in lock-step, dot-stuffed.

import { spawn } from "node:child_process";
import net from "node:net";
import { isDeepStrictEqual, inspect } from "node:util";

export class Checks {
  passed = 0;
  failed = 0;

  // Counts one check; prints `ok NAME` or `FAIL NAME: detail`.
  ok(name, cond, detail) {
    if (cond) this.passed++;
    else this.failed++;
    console.log(cond ? `ok   ${name}` : `FAIL ${name}${detail === undefined ? "" : ": " + detail}`);
    return cond;
  }

  // Exact comparison of values (objects and arrays deeply, keys in any order).
  equal(name, got, want) {
    const show = (v) => inspect(v, { depth: 6, breakLength: 160 });
    return this.ok(name, isDeepStrictEqual(got, want), `\n  got:  ${show(got)}\n  want: ${show(want)}`);
  }

  // Runs `fn`; a throw counts as one failed check named `name`.
  async step(name, fn) {
    try {
      await fn();
    } catch (e) {
      this.ok(name, false, e && e.stack ? e.stack : String(e));
    }
  }

  line(prefix) {
    return `${prefix}: ${this.passed} passed, ${this.failed} failed`;
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Starts the daemon with `args`; resolves once it logged `msg=started`, with the first port of each protocol
// in its `listening PROTO ADDR:PORT` lines and the lines themselves.
export function startDaemon(binary, args, limitMs = 10000) {
  const proc = spawn(binary, args, { stdio: ["ignore", "ignore", "pipe"] });
  const d = { proc, log: "", ports: {}, listening: [] };
  d.exited = new Promise((r) => proc.on("exit", (code, signal) => r({ code, signal })));
  proc.stderr.setEncoding("utf8");
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`daemon did not start within ${limitMs} ms:\n${d.log}`)), limitMs);
    proc.on("error", (e) => { clearTimeout(timer); reject(e); });
    d.exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`daemon exited at start (code ${code}, signal ${signal}):\n${d.log}`));
    });
    proc.stderr.on("data", (text) => {
      d.log += text;
      if (!/ msg=started /.test(d.log)) return;
      for (const m of d.log.matchAll(/msg="(listening (\w+) [^"]+)"/g)) {
        d.listening.push(m[1]);
        d.ports[m[2]] ??= Number(m[1].slice(m[1].lastIndexOf(":") + 1));
      }
      clearTimeout(timer);
      resolve(d);
    });
  });
}

// SIGTERM to the daemon's PID, then its exit (SIGKILL after `limitMs`).
export async function stopDaemon(d, limitMs = 15000) {
  if (d.proc.exitCode !== null || d.proc.signalCode !== null) return d.exited;
  process.kill(d.proc.pid, "SIGTERM");
  const late = sleep(limitMs).then(() => null);
  const exit = await Promise.race([d.exited, late]);
  if (exit) return exit;
  killNow(d);
  throw new Error(`daemon still running ${limitMs} ms after SIGTERM`);
}

export function killNow(d) {
  if (d && d.proc.exitCode === null && d.proc.signalCode === null) {
    try { process.kill(d.proc.pid, "SIGKILL"); } catch { /* gone already */ }
  }
}

// The replies of an SMTP server, one at a time: `next()` resolves with {code, text} of the next whole reply.
function replyReader(sock) {
  let pending = "";
  const ready = [];
  const waiters = [];
  sock.on("data", (bytes) => {
    pending += bytes.toString("latin1");
    let m;
    while ((m = /^(?:\d{3}-.*\r?\n)*(\d{3})(?: .*)?\r?\n/.exec(pending))) {
      pending = pending.slice(m[0].length);
      ready.push({ code: Number(m[1]), text: m[0] });
    }
    while (ready.length && waiters.length) waiters.shift().resolve(ready.shift());
  });
  const fail = (e) => { while (waiters.length) waiters.shift().reject(e); };
  sock.on("error", fail);
  sock.on("close", () => fail(new Error("SMTP connection closed")));
  return () => new Promise((resolve, reject) => (ready.length ? resolve(ready.shift()) : waiters.push({ resolve, reject })));
}

// Sends `raw` (a whole message, CRLF lines) from `from` to `rcpts` over one SMTP session to 127.0.0.1:port.
export async function sendMail(port, from, rcpts, raw) {
  const sock = net.createConnection({ host: "127.0.0.1", port });
  sock.setTimeout(5000, () => sock.destroy(new Error("SMTP: silent for 5 s")));
  const next = replyReader(sock);
  const expect = async (code, what) => {
    const r = await next();
    if (r.code !== code) throw new Error(`SMTP ${what}: wanted ${code}, got ${r.text.trim()}`);
  };
  const say = async (line, code) => {
    sock.write(line + "\r\n");
    await expect(code, line);
  };
  try {
    await expect(220, "greeting");
    await say("EHLO mailpit-test.example", 250);
    await say(`MAIL FROM:<${from}> BODY=8BITMIME`, 250);
    for (const r of rcpts) await say(`RCPT TO:<${r}>`, 250);
    await say("DATA", 354);
    const stuffed = raw.replace(/^\./gm, "..");  // RFC 5321 4.5.2
    sock.write(Buffer.concat([Buffer.from(stuffed, "utf8"), Buffer.from(".\r\n")]));
    await expect(250, "end of data");
    await say("QUIT", 221);
  } finally {
    sock.destroy();
  }
}
