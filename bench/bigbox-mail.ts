// The big mailbox's messages: varied senders, subjects, dates and threads (so SORT and
// THREAD have real work), mostly small text mails, some multipart with an attachment and a
// Japanese (ISO-2022-JP / Shift_JIS) part, as in the rest of the benchmarks. Deterministic.
import iconv from 'iconv-lite';
import { isoJpSubject, toIso2022jp } from '../test/helpers/messages.js';

const NAMES = ['Alice Arden', 'Bob Brown', 'Carol Chen', 'Dave Dunn', 'Eve Ellis', '山田太郎', 'Frank Fox', 'Grace Green', 'Heidi Hall', '佐藤花子'];
const TOPICS = ['quarterly report', 'lunch on friday', 'server migration', 'invoice 2026', 'holiday plans', '会議の資料について', 'contract renewal', 'build failure', 'welcome aboard', 'budget review'];
const WORDS = 'alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu'.split(' ');

/** A small deterministic PRNG, so both servers get the same mailbox. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function encodeName(n: string): string {
  return /^[\x20-\x7e]*$/.test(n) ? `"${n}"` : isoJpSubject(n);
}

function subjectOf(topic: string, re: boolean): string {
  const s = /^[\x20-\x7e]*$/.test(topic) ? topic : isoJpSubject(topic);
  return re ? `Re: ${s}` : s;
}

/** Message i of n (CRLF line ends). Every 7th starts a thread others reply to; every 25th has an attachment. */
export function bigboxMessage(i: number, to: string): Buffer {
  const r = rng(i * 7919 + 17);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const from = pick(NAMES);
  const root = i - (i % 7);
  const topic = TOPICS[Math.floor(root / 7) % TOPICS.length]!;
  const isReply = i % 7 !== 0;
  const date = new Date(Date.UTC(2026, 0, 1) + Math.floor(r() * 300 * 86400) * 1000);
  const id = `<bigbox-${i}@bench.test>`;
  const head = [
    `From: ${encodeName(from)} <user${i % 50}@example.org>`,
    `To: ${to}`,
    `Subject: ${subjectOf(topic, isReply)} #${Math.floor(root / 7)}`,
    `Date: ${date.toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: ${id}`,
    ...(isReply ? [`In-Reply-To: <bigbox-${i - 1}@bench.test>`, `References: <bigbox-${root}@bench.test> <bigbox-${i - 1}@bench.test>`] : []),
    'MIME-Version: 1.0',
  ];
  const words = Array.from({ length: 300 + Math.floor(r() * 600) }, () => pick(WORDS));
  // A rare word in a few messages, for SEARCH TEXT to find.
  if (i % 97 === 0) words.splice(words.length >> 1, 0, 'needlework');
  const text = words.join(' ').replace(/(.{1,72})(\s|$)/g, '$1\r\n');
  if (i % 25 !== 0) {
    return Buffer.concat([Buffer.from([...head, 'Content-Type: text/plain; charset=us-ascii', '', ''].join('\r\n'), 'latin1'), Buffer.from(text, 'latin1')]);
  }
  const boundary = `bb-${i}`;
  const attachment = Buffer.alloc(20_000 + (i % 5) * 10_000, i % 251).toString('base64').replace(/.{76}/g, '$&\r\n');
  return Buffer.concat([
    Buffer.from([...head, `Content-Type: multipart/mixed; boundary="${boundary}"`, '', `--${boundary}`, 'Content-Type: text/plain; charset=us-ascii', '', text].join('\r\n'), 'latin1'),
    Buffer.from(`\r\n--${boundary}\r\nContent-Type: text/plain; charset=ISO-2022-JP\r\nContent-Transfer-Encoding: 7bit\r\n\r\n`, 'latin1'),
    toIso2022jp('お世話になっております。\r\n'),
    Buffer.from(`\r\n--${boundary}\r\nContent-Type: text/plain; charset=Shift_JIS\r\nContent-Transfer-Encoding: 8bit\r\n\r\n`, 'latin1'),
    iconv.encode('見積書を送付いたします。\r\n', 'Shift_JIS'),
    Buffer.from(
      `\r\n--${boundary}\r\nContent-Type: application/pdf; name="doc-${i}.pdf"\r\nContent-Disposition: attachment; filename="doc-${i}.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n${attachment}\r\n--${boundary}--\r\n`,
      'latin1',
    ),
  ]);
}
