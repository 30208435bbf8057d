// The three messages the Mailpit client test sends, byte for byte, with their envelopes and what Mailpit's API
// must say of them: a plain-text welcome (an RFC 2047 subject, a line that starts with a dot), an invoice
// (multipart/mixed: text and HTML alternatives, an inline logo referenced by cid:, a PDF attachment holding
// every byte value) and an HTML-only password reset (Cc, List-Unsubscribe, an envelope-only recipient).

const crlf = (lines) => lines.join("\r\n") + "\r\n";
const base64Lines = (bytes) => bytes.toString("base64").match(/.{1,76}/g);

export const LOGO = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==", "base64");
export const PDF = Buffer.concat([
  Buffer.from("%PDF-1.4\n"), Buffer.from(Array.from({ length: 256 }, (_, i) => i)), Buffer.from("%%EOF\n")]);

const welcomeSubject = "Willkommen, J\u00fcrgen";

export const WELCOME = {
  from: "bounce@shop.example",
  rcpts: ["alice@example.net"],
  raw: crlf([
    "From: Shop Team <team@shop.example>",
    "To: Alice Doe <alice@example.net>",
    `Subject: =?UTF-8?B?${Buffer.from(welcomeSubject).toString("base64")}?=`,
    "Date: Fri, 20 Nov 2026 10:00:00 +0000",
    "Message-ID: <welcome-1@shop.example>",
    "X-Flow: signup",
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=utf-8",
    "Content-Transfer-Encoding: 8bit",
    "",
    "Hello Alice,",
    "",
    "your account is ready: violet-otter-4821.",
    ".a line that starts with a dot",
  ]),
  subject: welcomeSubject,
  text: "Hello Alice,\n\nyour account is ready: violet-otter-4821.\n.a line that starts with a dot\n",  // LF: as decoded
};

export const INVOICE = {
  from: "bounce+invoice@shop.example",
  rcpts: ["alice@example.net", "bob@example.net", "audit@shop.example"],
  raw: crlf([
    "From: \"Shop Billing\" <billing@shop.example>",
    "To: Alice Doe <alice@example.net>, bob@example.net",
    "Reply-To: Support <help@shop.example>",
    "Subject: Your Invoice 42",
    "Date: Sat, 21 Nov 2026 11:30:00 +0100",
    "Message-ID: <invoice-42@shop.example>",
    "X-Flow: invoice",
    "MIME-Version: 1.0",
    "Content-Type: multipart/mixed; boundary=\"mixed-b\"",
    "",
    "--mixed-b",
    "Content-Type: multipart/related; boundary=\"related-b\"",
    "",
    "--related-b",
    "Content-Type: multipart/alternative; boundary=\"alt-b\"",
    "",
    "--alt-b",
    "Content-Type: text/plain; charset=utf-8",
    "Content-Transfer-Encoding: quoted-printable",
    "",
    "Invoice 42: 12,50 =E2=82=AC due on 2026-12-01.",
    "--alt-b",
    "Content-Type: text/html; charset=utf-8",
    "",
    "<p>Invoice <b>42</b>: 12,50 &euro; due.</p><img src=\"cid:logo@shop.example\" alt=\"logo\">",
    "--alt-b--",
    "--related-b",
    "Content-Type: image/png",
    "Content-Disposition: inline; filename=\"logo.png\"",
    "Content-ID: <logo@shop.example>",
    "Content-Transfer-Encoding: base64",
    "",
    ...base64Lines(LOGO),
    "--related-b--",
    "--mixed-b",
    "Content-Type: application/pdf; name=\"invoice-42.pdf\"",
    "Content-Disposition: attachment; filename=\"invoice-42.pdf\"",
    "Content-Transfer-Encoding: base64",
    "",
    ...base64Lines(PDF),
    "--mixed-b--",
  ]),
  subject: "Your Invoice 42",
  text: "Invoice 42: 12,50 \u20ac due on 2026-12-01.",
  html: "<p>Invoice <b>42</b>: 12,50 &euro; due.</p><img src=\"cid:logo@shop.example\" alt=\"logo\">",
};

export const RESET = {
  from: "security@shop.example",
  rcpts: ["bob@example.net", "carol@example.net", "dave@example.net"],
  raw: crlf([
    "From: Security <security@shop.example>",
    "To: bob@example.net",
    "Cc: Carol <carol@example.net>",
    "Subject: Reset your password",
    "Date: Sun, 22 Nov 2026 08:00:00 +0000",
    "Message-ID: <reset-7@shop.example>",
    "X-Flow: password-reset",
    "List-Unsubscribe: <mailto:unsub@shop.example>, <https://shop.example/unsub?u=bob>",
    "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
    "MIME-Version: 1.0",
    "Content-Type: text/html; charset=utf-8",
    "Content-Transfer-Encoding: 7bit",
    "",
    "<html><head><style>p { color: red }</style></head><body><p>Reset your password: "
      + "<a href=\"https://shop.example/r/amber-heron-1337\">open this link</a></p></body></html>",
  ]),
  subject: "Reset your password",
  html: "<html><head><style>p { color: red }</style></head><body><p>Reset your password: "
    + "<a href=\"https://shop.example/r/amber-heron-1337\">open this link</a></p></body></html>\n",
};
