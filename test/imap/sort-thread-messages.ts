// The fixed message set of the SORT/THREAD tests: what the RFC 5256 rules are hard on
// (missing and odd dates, equal dates, Re:/Fwd:/[list]/(fwd) subjects, encoded words in
// ISO-2022-JP, a References chain with a missing parent, a Message-ID loop, duplicate
// Message-IDs) in one mailbox. Sequence number n is messages[n - 1].
import { isoJpSubject } from '../helpers/messages.js';

export interface SortTestMessage {
  /** CRLF message as APPENDed. */
  raw: Buffer;
  /** INTERNALDATE (APPEND date-time, the file's mtime for Dovecot). */
  internalDate: Date;
}

const jp = isoJpSubject;
const MEETING = '会議の資料について';

type Fields = Partial<Record<'from' | 'to' | 'cc' | 'subject' | 'date' | 'id' | 'references' | 'inReplyTo', string>>;

const defs: Array<Fields & { extra?: number }> = [
  /* 1 */ { from: 'Carol Example <carol@example.org>', to: 'bob@example.test', cc: 'Zoe <zoe@example.org>', subject: 'Project plan', date: 'Mon, 2 Nov 2026 09:00:00 +0000', id: '<plan@example.org>' },
  /* 2 */ { from: 'alice <Alice@example.net>', to: 'Carol Example <carol@example.org>', subject: 'Re: Project plan', date: 'Mon, 2 Nov 2026 10:30:00 +0100', id: '<re1@example.net>', inReplyTo: '<plan@example.org>' },
  /* 3: no Date (sent date = INTERNALDATE) */
  { from: 'bob@example.test', to: 'carol@example.org, alice@example.net', cc: 'alice@example.net', subject: 'RE: [dev] Re: project PLAN (fwd)', id: '<re2@example.test>', references: '<plan@example.org>\r\n <re1@example.net>', extra: 300 },
  /* 4 */ { from: `${jp('山田太郎')} <yamada@example.jp>`, to: 'bob@example.test', subject: 'Fwd: Budget', date: 'Tue, 3 Nov 2026 08:00:00 -0800', id: '<budget-fwd@example.jp>' },
  /* 5: same instant as 4 */
  { from: 'zed@example.com', to: 'undisclosed-recipients:;', subject: 'budget', date: '3 Nov 2026 16:00:00 GMT', id: '<budget@example.com>' },
  /* 6 */ { from: `${jp('山田太郎')} <taro@example.jp>`, to: `${jp('鈴木')} <suzuki@example.jp>`, subject: jp(MEETING), date: 'Wed, 4 Nov 2026 10:00:00 +0900', id: '<jp1@example.jp>', extra: 1000 },
  /* 7 */ { from: `${jp('鈴木')} <suzuki@example.jp>`, to: 'taro@example.jp', subject: `Re: ${jp(MEETING)}`, date: 'Wed, 4 Nov 2026 11:00:00 +0900', id: '<jp2@example.jp>', references: '<jp1@example.jp>' },
  /* 8: a forward of 6 without references */
  { from: '"Bob" <bob@example.test>', to: 'dave@example.org', subject: `[fwd: ${jp(MEETING)}]`, date: 'Wed, 4 Nov 2026 03:00:00 +0000', id: '<jp3@example.test>' },
  /* 9-11: the thread's first message is not in the mailbox */
  { from: 'dave@example.org', to: 'list@example.org', subject: 'Lost thread', date: 'Thu, 5 Nov 2026 09:00:00 +0000', id: '<child1@example.org>', references: '<missing@example.org>' },
  { from: 'erin@example.org', to: 'list@example.org', subject: 'Re: Lost thread', date: 'Thu, 5 Nov 2026 10:00:00 +0000', id: '<child2@example.org>', references: '<missing@example.org> <child1@example.org>' },
  { from: 'frank@example.org', to: 'list@example.org', subject: 'Re: Lost thread', date: 'Thu, 5 Nov 2026 08:00:00 +0000', id: '<child3@example.org>', references: '<missing@example.org>' },
  /* 12-13: each names the other as its parent */
  { from: 'gina@example.org', to: 'hank@example.org', subject: 'Loop', date: 'Fri, 6 Nov 2026 09:00:00 +0000', id: '<loopA@example.org>', references: '<loopB@example.org>' },
  { from: 'hank@example.org', to: 'gina@example.org', subject: 'Re: Loop', date: 'Fri, 6 Nov 2026 08:00:00 +0000', id: '<loopB@example.org>', references: '<loopA@example.org>' },
  /* 14-16: duplicate Message-ID; the reply belongs to the first */
  { from: 'ivy@example.org', to: 'jack@example.org', subject: 'Dup', date: 'Sat, 7 Nov 2026 09:00:00 +0000', id: '<dup@example.org>' },
  { from: 'ivy@example.org', to: 'jack@example.org', subject: 'Dup resent', date: 'Sat, 7 Nov 2026 10:00:00 +0000', id: '<dup@example.org>' },
  { from: 'jack@example.org', to: 'ivy@example.org', subject: 'Re: Dup', date: 'Sat, 7 Nov 2026 11:00:00 +0000', id: '<dup-re@example.org>', inReplyTo: 'Your message of Saturday <"dup"@example.org>' },
  /* 17: no From, Subject or Message-ID; a Date nobody can read */
  { date: 'Sun, 8 Nov 2026 25:99:00 +0000' },
  /* 18: obsolete two-digit year and a named zone; a group in Cc */
  { from: '=?UTF-8?Q?=C3=96d=C3=B6n?= <odon@example.hu>', to: 'Group: Amy <amy@example.org>;', cc: 'Group: Amy <amy@example.org>;', subject: '=?UTF-8?Q?=C3=89t=C3=A9?=', date: 'Sun, 8 Nov 26 01:00 EST', id: '<odd-tz@example.hu>' },
  /* 19: a +1345 zone, list tags around the reply marker */
  { from: 'kim@example.org', to: 'list@example.org', subject: '[list] Re: [list] Budget', date: 'Mon, 9 Nov 2026 12:00:00 +1345', id: '<budget-list@example.org>', references: '<budget@example.com>' },
];

function build(f: Fields & { extra?: number }, n: number): Buffer {
  const lines: string[] = [];
  if (f.from) lines.push(`From: ${f.from}`);
  if (f.to) lines.push(`To: ${f.to}`);
  if (f.cc) lines.push(`Cc: ${f.cc}`);
  if (f.subject !== undefined) lines.push(`Subject: ${f.subject}`);
  if (f.date) lines.push(`Date: ${f.date}`);
  if (f.id) lines.push(`Message-ID: ${f.id}`);
  if (f.inReplyTo) lines.push(`In-Reply-To: ${f.inReplyTo}`);
  if (f.references) lines.push(`References: ${f.references}`);
  lines.push('MIME-Version: 1.0', 'Content-Type: text/plain; charset=us-ascii', '', `Message ${n}.`, 'x'.repeat(f.extra ?? n * 7), '');
  return Buffer.from(lines.join('\r\n'), 'latin1');
}

// INTERNALDATEs one hour apart from 20 Nov 2026, except that 11 and 12 arrived together.
const hour = (h: number): Date => new Date(Date.UTC(2026, 10, 20, h));

export const messages: SortTestMessage[] = defs.map((f, i) => ({ raw: build(f, i + 1), internalDate: hour(i === 11 ? 10 : i) }));

/** IMAP date-time for APPEND (RFC 3501 9). */
export function imapDateTime(d: Date): string {
  const mon = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getUTCMonth()];
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${p(d.getUTCDate())}-${mon}-${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}
