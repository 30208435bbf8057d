#!/usr/bin/env node
// Writes the nodemailer-built part of the inspection corpus (nodemailer_*.eml) as Node applications build their
// mail: nodemailer's stream transport with `buffer: true` composes each message without sending it. Fixed dates,
// Message-IDs and boundaries make a second run give the same bytes. Run: npm ci && npm run generate
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import nodemailer from 'nodemailer';

const here = dirname(fileURLToPath(import.meta.url));
const date = new Date('2026-03-03T09:15:30Z');
// A 1x1 PNG, the inline image of the HTML body.
const pixel = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64');

const messages = {
  // multipart/mixed > multipart/alternative > (text, multipart/related > (html, inline image by cid:)), and an
  // attachment whose long non-ASCII name nodemailer writes as RFC 2231 continuations.
  related: {
    from: { name: 'Ünïcode Shop', address: 'shop@example.com' },
    to: ['Ana Lima <ana@example.com.br>', 'bo@example.se'],
    cc: { name: 'Ops, Team', address: 'ops@example.com' },
    replyTo: 'no-reply@example.com',
    subject: 'Ваш заказ №42 готов — votre commande est prête',
    text: 'Your order 42 is ready.\nThe logo is attached inline.\n',
    html: '<p>Your order <b>42</b> is ready.</p><img src="cid:logo@corpus.example.com" alt="logo">\n',
    attachments: [
      { filename: 'logo.png', content: pixel, cid: 'logo@corpus.example.com' },
      { filename: 'Счёт-фактура для заказа номер сорок два от третьего марта.txt',
        content: 'Итого: 42 ₽\n', contentType: 'text/plain; charset=utf-8' },
    ],
  },
  // Text only: a long non-ASCII line, which nodemailer sends as quoted-printable with soft line breaks.
  plain: {
    from: 'alerts@example.com',
    to: 'oncall@example.com',
    subject: 'Disk usage 93% on db-1',
    text: 'Disk /var/lib/postgresql is 93% full on db-1; the growth over the last day was 4.2 GiB. ' +
      'Zusammenfassung: größter Verbraucher ist die Tabelle »events« (37 GiB), gefolgt von »sessions«.\n',
  },
};

const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' });
for (const [name, mail] of Object.entries(messages)) {
  const info = await transport.sendMail({
    ...mail, date, messageId: `<nm-${name}@corpus.example.com>`, baseBoundary: `corpus${name}`,
  });
  writeFileSync(join(here, `nodemailer_${name}.eml`), info.message);
}
