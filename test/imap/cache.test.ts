// The parsed-message cache (src/maildir/message-cache.ts) against the running daemon:
// the same FETCH and SEARCH replies with a warm cache, after the cache file is deleted
// while a session is open, after it is damaged (torn record, garbage), and after restarts;
// and a message whose file was replaced under the same base name is never served from its
// old entry.
import { appendFile, readdir, readFile, rename, truncate, unlink, writeFile } from 'node:fs/promises';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { japaneseMessage, multipartMessage } from '../helpers/messages.js';
import { startTestServer, type TestServer } from '../helpers/app.js';
import { ImapWire } from '../helpers/imap-wire.js';

const USER = 'cache@example.test';
const PASSWORD = 'cache-test-password';

const nested = Buffer.from(
  [
    'From: Outer <outer@example.org>',
    'To: cache@example.test',
    'Subject: forwarded',
    'Date: Mon, 23 Nov 2026 09:00:00 +0000',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="x"',
    '',
    '--x',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'see below, needle in the outer text',
    '--x',
    'Content-Type: message/rfc822',
    '',
    'From: Inner <inner@example.net>',
    'Subject: =?UTF-8?B?5YaF5YG0?=',
    'Content-Type: text/html; charset=utf-8',
    '',
    '<p>inner body</p>',
    '--x--',
    '',
  ].join('\r\n'),
);
const folded = Buffer.from(
  'From: "Folded, Name" <folded@example.org>\r\nTo: a@example.test,\r\n b@example.test\r\nSubject: a long\r\n folded subject\r\nDate: Tue, 24 Nov 2026 10:00:00 +0100\r\n\r\nplain body with needle\r\n',
);
const headerOnly = Buffer.from('From: nobody@example.org\r\nSubject: header only\r\n');
const MESSAGES = [japaneseMessage({ subject: 'キャッシュ' }), multipartMessage({ attachmentBytes: 3000 }), nested, folded, headerOnly];

const QUERIES = [
  'UID FETCH 1:* (UID RFC822.SIZE ENVELOPE BODYSTRUCTURE)',
  'UID FETCH 1:* (BODY BODY.PEEK[HEADER.FIELDS (FROM SUBJECT DATE CONTENT-TYPE)])',
  'UID FETCH 1:* (BODY.PEEK[1.MIME] BODY.PEEK[2.HEADER])',
  'UID SEARCH FROM "example.org"',
  'UID SEARCH SUBJECT "folded subject"',
  'UID SEARCH TEXT "needle"',
  'UID SEARCH HEADER Content-Type "multipart"',
];

let srv: TestServer;
const dataDirs: string[] = [];

async function start(mailRoot?: string): Promise<TestServer> {
  const s = await startTestServer(mailRoot ? { mailRoot } : {});
  dataDirs.push(s.dataDir);
  await s.app.directory.addDomain('example.test');
  await s.addUser(USER, PASSWORD);
  return s;
}

/** Stops the daemon, keeping its data directory for the next start. */
async function restart(): Promise<void> {
  await srv.app.stop();
  srv = await start(srv.mailRoot);
}

async function open(): Promise<ImapWire> {
  const w = await ImapWire.connect(srv.port('imap'), 'latin1');
  expect((await w.command(`LOGIN ${USER} ${PASSWORD}`)).tagged).toMatch(/ OK /);
  expect((await w.command('SELECT INBOX')).tagged).toMatch(/ OK /);
  return w;
}

/** Every query's untagged lines and literal bytes, tags removed. */
async function replies(w: ImapWire): Promise<string[]> {
  const out: string[] = [];
  for (const q of QUERIES) {
    const r = await w.command(q);
    expect(r.tagged, q).toMatch(/ OK /);
    out.push(q, ...r.untagged, ...r.literals.map((l) => l.toString('latin1')));
  }
  return out;
}

const inbox = (): string => join(srv.mailRoot, 'example.test', 'cache');
const cacheFile = (): string => join(inbox(), 'mailserver.cache');

/** Base names with a record in the cache file (delivery and a first FETCH may both write one). */
async function records(): Promise<string[]> {
  const text = await readFile(cacheFile(), 'latin1').catch(() => '');
  return [...new Set(text.split('\n').slice(1).filter((l) => l.length > 0).map((l) => l.split('\t')[0]!))];
}

/** Appends are asynchronous (batched after the command): wait until all are on disk. */
async function cacheWritten(n: number): Promise<void> {
  for (let i = 0; i < 200 && (await records()).length < n; i++) await delay(25);
  expect(await records()).toHaveLength(n);
}

function loadedRecords(): number[] {
  return srv.logs.filter((l) => l.msg === 'message cache loaded').map((l) => l.records as number);
}

/** The stored file of `uid`, from dovecot-uidlist and new/ + cur/. */
async function fileOf(uid: number): Promise<string> {
  const list = await readFile(join(inbox(), 'dovecot-uidlist'), 'utf8');
  const rec = list.split('\n').slice(1).find((l) => l.startsWith(`${uid} `)); // line 1 is the header
  const base = rec!.slice(rec!.indexOf(' :') + 2);
  for (const sub of ['cur', 'new']) {
    const hit = (await readdir(join(inbox(), sub))).find((n) => n === base || n.startsWith(base + ':'));
    if (hit) return join(inbox(), sub, hit);
  }
  throw new Error(`no file for UID ${uid}`);
}

/** Replaces a message's bytes under its old name, as a restore or another program might. */
async function replaceFile(uid: number, subject: string): Promise<void> {
  const file = await fileOf(uid);
  const tmp = join(inbox(), 'tmp', 'replacement');
  await writeFile(tmp, `From: replaced@example.org\nSubject: ${subject}\n\nnew content, another size\n`);
  await rename(tmp, file);
}

let baseline: string[];

beforeAll(async () => {
  srv = await start();
  const w = await ImapWire.connect(srv.port('imap'), 'latin1');
  await w.command(`LOGIN ${USER} ${PASSWORD}`);
  for (const m of MESSAGES) expect((await w.command(`APPEND INBOX {${m.length}+}\r\n`, m)).tagged).toMatch(/ OK /);
  w.close();
});

afterAll(async () => {
  await srv?.app.stop();
  for (const d of dataDirs) await rm(d, { recursive: true, force: true });
});

describe('parsed-message cache', () => {
  it('answers the same with a cold cache, a warm one, and after the file is deleted under an open session', async () => {
    const w = await open();
    baseline = await replies(w); // cold: every message parsed from its file
    expect(baseline.some((l) => l.includes('ENVELOPE'))).toBe(true);
    await cacheWritten(MESSAGES.length);
    expect(await replies(w)).toEqual(baseline); // warm
    await unlink(cacheFile());
    expect(await replies(w)).toEqual(baseline);
    const w2 = await open();
    expect(await replies(w2)).toEqual(baseline);
    w.close();
    w2.close();
  });

  it('answers the same after restarts: without the file (rebuilt), then from it', async () => {
    await restart();
    let w = await open();
    expect(await replies(w)).toEqual(baseline);
    expect(loadedRecords()).toEqual([]); // nothing to load: every entry came from the files
    await cacheWritten(MESSAGES.length);
    w.close();
    await restart();
    w = await open();
    expect(await replies(w)).toEqual(baseline);
    expect(loadedRecords()).toEqual([MESSAGES.length]); // served from the file this time
    w.close();
  });

  it('ignores a torn last record and garbage, and answers the same', async () => {
    const text = await readFile(cacheFile(), 'latin1');
    const lines = text.split('\n');
    // Overwrite the middle of one record with garbage of the same length, tear the last one.
    const victim = lines[2]!;
    lines[2] = victim.slice(0, 40) + 'x'.repeat(victim.length - 80) + victim.slice(-40);
    await writeFile(cacheFile(), lines.join('\n'), 'latin1');
    const whole = (await readFile(cacheFile())).length;
    await truncate(cacheFile(), whole - 30);
    await appendFile(cacheFile(), '\u0000\u0001 not a record');
    await restart();
    const w = await open();
    expect(await replies(w)).toEqual(baseline);
    expect(loadedRecords()).toEqual([MESSAGES.length - 2]);
    // The two damaged entries were parsed again and appended after the damage.
    await restart();
    const w2 = await open();
    expect(await replies(w2)).toEqual(baseline);
    expect(loadedRecords()).toEqual([MESSAGES.length]);
    w.close();
    w2.close();
  });

  it('a file of another format or version is replaced, not trusted', async () => {
    await writeFile(cacheFile(), 'MAILSERVER-CACHE 1 S0\nold\tstuff\n');
    await restart();
    const w = await open();
    expect(await replies(w)).toEqual(baseline);
    await cacheWritten(MESSAGES.length);
    expect((await readFile(cacheFile(), 'latin1')).startsWith('MAILSERVER-CACHE 1 S')).toBe(true);
    w.close();
  });

  it('never serves the old entry of a message whose file was replaced under the same name', async () => {
    // While stopped (a restore), then restarted.
    await srv.app.stop();
    await replaceFile(3, 'restored while stopped');
    srv = await start(srv.mailRoot);
    let w = await open();
    let r = await w.command('UID FETCH 3 (ENVELOPE BODYSTRUCTURE)');
    expect(r.untagged.join('\n')).toContain('restored while stopped');
    expect(r.untagged.join('\n')).not.toContain('forwarded');
    // While running, with a session open: the change is noticed and the entry not used.
    await replaceFile(4, 'replaced while running');
    let seen = '';
    for (let i = 0; i < 100 && !seen.includes('replaced while running'); i++) {
      await delay(20);
      const w2 = await open();
      seen = (await w2.command('UID FETCH 4 ENVELOPE')).untagged.join('\n');
      w2.close();
    }
    expect(seen).toContain('replaced while running');
    expect(seen).not.toContain('folded subject');
    w.close();
    // And after one more restart, from the file: still the new content.
    await restart();
    w = await open();
    r = await w.command('UID FETCH 3:4 ENVELOPE');
    expect(r.untagged.join('\n')).toMatch(/restored while stopped[\s\S]*replaced while running/);
    w.close();
  });
});
