// The MIME torture set: hand-written files in fixtures/ (exact bytes, mixed line ends) plus
// messages built by the shared helpers. `stored` is what the Maildir store keeps (LF form).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LfNormalizer } from '../../src/maildir/normalize.js';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import iconv from 'iconv-lite';
import { japaneseMessage, multipartMessage } from '../helpers/messages.js';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');

export interface Fixture {
  name: string;
  /** Stored form (as our Maildir store and Dovecot with mail_save_crlf=no keep it). */
  stored: Buffer;
}

export function store(raw: Buffer): Buffer {
  const n = new LfNormalizer();
  return Buffer.concat([n.push(raw), n.end()]);
}

export function loadFixtures(): Fixture[] {
  const out: Fixture[] = readdirSync(dir)
    .filter((f) => f.endsWith('.eml'))
    .sort()
    .map((f) => ({ name: f, stored: store(readFileSync(path.join(dir, f))) }));
  out.push({ name: 'builder-japanese', stored: store(japaneseMessage({ id: 'jp1' })) });
  out.push({ name: 'builder-multipart', stored: store(multipartMessage({ id: 'mp1', attachmentBytes: 3000, textBytes: 600 })) });
  out.push({ name: 'builder-multipart-text', stored: store(multipartMessage({ id: 'mp2', textBytes: 200 })) });
  for (const [i, m] of composed.entries()) out.push({ name: `nodemailer-${i + 1}`, stored: store(m) });
  return out;
}

/** Messages as nodemailer composes them (what many applications send). Built once, at load. */
const composed: Buffer[] = await Promise.all(
  (
    [
      { from: '"山田 太郎" <taro@example.jp>', to: 'a@example.test, "B, Bee" <b@example.test>', subject: '日本語の件名とても長い件名がここに続きます。折り返しが必要なくらい長い件名です', text: '本文です。\n二行目。' },
      { from: 'a@example.test', to: 'b@example.test', subject: 'alt', text: 'plain', html: '<p>html <img src="cid:logo@x"></p>', attachments: [{ filename: 'logo.png', content: Buffer.alloc(300, 1), cid: 'logo@x' }] },
      { from: 'a@example.test', to: 'b@example.test', subject: 'attachments', text: 'see attached', attachments: [{ filename: '見積書 2026年.pdf', content: Buffer.alloc(5000, 7) }, { filename: 'notes.txt', content: 'line\n'.repeat(50) }, { filename: 'mail.eml', content: 'From: x@y\r\nSubject: attached eml\r\n\r\nhello\r\n', contentType: 'message/rfc822' }] },
      { from: 'a@example.test', to: 'b@example.test', subject: 'qp', text: 'caf\u00e9 '.repeat(40), textEncoding: 'quoted-printable' },
      { from: 'a@example.test', to: 'b@example.test', subject: 'shift_jis', text: iconv.encode('本文です', 'Shift_JIS'), headers: { 'Content-Language': 'ja', 'Content-Type': 'text/plain; charset=Shift_JIS' } },
      { from: 'a@example.test', to: 'b@example.test', cc: 'Group: c@example.test, d@example.test;', subject: 'calendar', text: 'invite', icalEvent: { method: 'REQUEST', content: 'BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n' } },
    ] as ConstructorParameters<typeof MailComposer>[0][]
  ).map((opts) => new MailComposer({ ...opts, date: new Date('2026-11-23T00:00:00Z'), messageId: '<fixed@example.test>' }).compile().build()),
);

/** The CRLF form IMAP serves: every LF not preceded by CR becomes CRLF. */
export function crlfForm(stored: Buffer): Buffer {
  const out: number[] = [];
  for (let i = 0; i < stored.length; i++) {
    if (stored[i] === 0x0a && (i === 0 || stored[i - 1] !== 0x0d)) out.push(0x0d);
    out.push(stored[i]!);
  }
  return Buffer.from(out);
}
