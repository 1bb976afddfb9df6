// UTF8=ACCEPT (RFC 6855): after ENABLE, mailbox names travel as UTF-8 (created on disk as
// Dovecot would, in modified UTF-7), APPEND takes `UTF8 (~{n})`, SEARCH CHARSET is BAD;
// a session that did not enable it keeps modified UTF-7; Dovecot reads the same folder.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from '../helpers/app.js';
import { dovecotAvailable, ImapClient, startDovecot, serveDovecotMaildir, type Dovecot } from '../helpers/dovecot.js';
import { ImapWire } from '../helpers/imap-wire.js';
import { ImapFlow } from 'imapflow';
import { Receiver } from '../../src/imap/proto/receiver.js';
import { Imap, PASS, startImapServer, USER } from './client.js';

const WORK = '受信箱.仕事'; // delimiter '.' (the default, as Dovecot's Maildir++)
const WORK_MUTF7 = '&U9dP4Xux-.&TtVOiw-';

/** The line client reads latin1; UTF-8 replies are decoded here. */
const u8 = (lines: string[]): string[] => lines.map((l) => Buffer.from(l, 'latin1').toString('utf8'));

let srv: TestServer;
beforeAll(async () => {
  srv = await startImapServer();
});
afterAll(async () => {
  await srv?.stop();
});

describe('UTF8=ACCEPT in the receiver (pure)', () => {
  it('pauses after ENABLE so the next request is parsed in the mode ENABLE chose', () => {
    const r = new Receiver({ maxLineBytes: 1024, maxLiteralBytes: 1024 });
    const first = r.push(Buffer.from('a ENABLE UTF8=ACCEPT\r\nb CREATE "受信箱"\r\nc CREATE "Tom&Jerry"\r\n'));
    expect(first).toEqual([{ type: 'request', request: { tag: 'a', ok: true, command: { name: 'ENABLE', capabilities: ['UTF8=ACCEPT'] } } }]);
    expect(r.isPaused).toBe(true);
    r.utf8Names = true;
    expect(r.push(Buffer.alloc(0))).toEqual([
      { type: 'request', request: { tag: 'b', ok: true, command: { name: 'CREATE', mailbox: '受信箱' } } },
      { type: 'request', request: { tag: 'c', ok: true, command: { name: 'CREATE', mailbox: 'Tom&Jerry' } } },
    ]);
    // Invalid UTF-8 in a name is BAD (RFC 6855 3: names must be valid UTF-8).
    expect(r.push(Buffer.from('d SELECT "\xff"\r\n', 'latin1'))).toEqual([
      { type: 'request', request: { tag: 'd', ok: false, error: 'Error in IMAP command SELECT: Mailbox name is not valid UTF-8 (RFC 6855 3)' } },
    ]);
  });
});

describe('UTF8=ACCEPT', () => {
  it('UTF-8 names after ENABLE (pipelined right behind it), modified UTF-7 for a session without it', async () => {
    // Refused before login; the command pipelined behind it still runs (the pause ends).
    const pre = await Imap.connect(srv.port('imap'));
    pre.c.write('p1 ENABLE UTF8=ACCEPT\r\np2 NOOP\r\n');
    expect(await pre.until('p2')).toEqual(['p1 BAD ENABLE not allowed before login', 'p2 OK NOOP completed']);
    pre.close();
    const a = await Imap.login(srv);
    expect((await a.cmd('CAPABILITY'))[0]!.split(' ')).toContain('UTF8=ACCEPT');
    // CREATE pipelined behind ENABLE: its name must already be read as UTF-8.
    a.c.write(`e1 ENABLE UTF8=ACCEPT\r\ne2 CREATE "${WORK}"\r\n`);
    expect(await a.until('e2')).toEqual(['* ENABLED UTF8=ACCEPT', 'e1 OK ENABLE completed', 'e2 OK CREATE completed']);
    expect(await a.run('ENABLE UTF8=ACCEPT')).toEqual(['* ENABLED', 'T OK ENABLE completed']);
    expect(u8(await a.run('LIST "" "受信箱*"'))).toEqual([`* LIST (\\Noselect \\HasChildren) "." "受信箱"`, `* LIST (\\HasNoChildren) "." "${WORK}"`, 'T OK LIST completed']);
    expect(u8(await a.run(`STATUS "${WORK}" (MESSAGES)`))).toEqual([`* STATUS "${WORK}" (MESSAGES 0)`, 'T OK STATUS completed']);
    // UTF-8 mode reads names as they are: '&' is a plain character, not a modified UTF-7 shift.
    expect(await a.run('CREATE "Tom&Jerry"')).toEqual(['T OK CREATE completed']);

    // On disk as Dovecot names it: Maildir++ levels in modified UTF-7.
    const dirs = await readdir(join(srv.mailRoot, 'example.test', 'alice'));
    expect(dirs).toEqual(expect.arrayContaining([`.${WORK_MUTF7}`, '.Tom&-Jerry']));

    const b = await Imap.login(srv);
    expect((await b.run('LIST "" *')).filter((l) => l.includes('&'))).toEqual([
      '* LIST (\\HasNoChildren) "." "Tom&-Jerry"',
      '* LIST (\\Noselect \\HasChildren) "." "&U9dP4Xux-"',
      `* LIST (\\HasNoChildren) "." "${WORK_MUTF7}"`,
    ]);
    expect(await b.run(`CREATE "${WORK}"`)).toEqual(['T BAD Error in IMAP command CREATE: Mailbox name is not valid modified UTF-7 (8-bit bytes; RFC 3501 5.1.3)']);
    a.close();
    b.close();
  });

  it('APPEND UTF8 (literal8) after ENABLE, BAD before; SEARCH CHARSET is BAD once enabled', async () => {
    const msg = Buffer.from('From: 山田 <yamada@example.jp>\r\nSubject: 見積もり\r\n\r\n本文\r\n', 'utf8');
    const plain = await ImapWire.connect(srv.port('imap'));
    await plain.command(`LOGIN ${USER} ${PASS}`);
    expect((await plain.command(`APPEND INBOX UTF8 (~{${msg.length}+}\r\n`, msg, ')')).tagged).toMatch(/^T\d+ BAD APPEND UTF8 needs ENABLE UTF8=ACCEPT first$/);
    plain.close();

    const w = await ImapWire.connect(srv.port('imap'));
    await w.command(`LOGIN ${USER} ${PASS}`);
    await w.command('ENABLE UTF8=ACCEPT');
    expect((await w.command(`APPEND "${WORK}" (\\Seen) UTF8 (~{${msg.length}+}\r\n`, msg, ')')).tagged).toMatch(/ OK \[APPENDUID \d+ 1\] APPEND completed$/);
    expect((await w.command(`SELECT "${WORK}"`)).tagged).toMatch(/ OK \[READ-WRITE\]/);
    const f = await w.command('FETCH 1 (BODY.PEEK[])');
    expect(f.literals[0]!.equals(msg)).toBe(true);
    expect((await w.command('SEARCH SUBJECT "見積もり"')).untagged).toEqual(['* SEARCH 1']);
    expect((await w.command('SEARCH CHARSET UTF-8 SUBJECT x')).tagged).toMatch(/^T\d+ BAD CHARSET is not allowed after ENABLE UTF8=ACCEPT$/);
    w.close();
  });
});

describe('imapflow', () => {
  it('enables UTF8=ACCEPT by itself and creates, lists and appends to a Japanese folder in UTF-8', async () => {
    const client = new ImapFlow({ host: '127.0.0.1', port: srv.port('imap'), secure: false, tls: { rejectUnauthorized: false }, auth: { user: USER, pass: PASS }, logger: false });
    await client.connect();
    expect(client.enabled.has('UTF8=ACCEPT')).toBe(true);
    const created = await client.mailboxCreate(['受信箱', '報告']);
    expect(created.path).toBe('受信箱.報告');
    expect((await client.list()).map((b) => b.path)).toContain('受信箱.報告');
    expect(await client.append('受信箱.報告', 'Subject: 報告\r\n\r\nbody\r\n')).toMatchObject({ destination: '受信箱.報告', uid: 1 });
    expect(await client.status('受信箱.報告', { messages: true })).toMatchObject({ messages: 1 });
    await client.logout();
    // A session without UTF8=ACCEPT sees the same folder in modified UTF-7.
    const b = await Imap.login(srv);
    expect(await b.run('STATUS "&U9dP4Xux-.&WDFUSg-" (MESSAGES)')).toEqual(['* STATUS "&U9dP4Xux-.&WDFUSg-" (MESSAGES 1)', 'T OK STATUS completed']);
    b.close();
  });
});

const haveDovecot = await dovecotAvailable();

describe.skipIf(!haveDovecot)('UTF8=ACCEPT names read by Dovecot', () => {
  let dovecot: Dovecot;
  let ours: TestServer;
  beforeAll(async () => {
    dovecot = await startDovecot({ separator: '.' });
    ours = await serveDovecotMaildir(dovecot);
  });
  afterAll(async () => {
    await ours?.stop();
    await dovecot?.stop();
  });

  it('a folder created with a UTF-8 name is the same folder for Dovecot', async () => {
    await dovecot.asMailUser(async () => {
      const c = await ImapClient.connect(ours.port('imap'));
      await c.login(dovecot.user, dovecot.password);
      await c.command('ENABLE UTF8=ACCEPT');
      await c.command(`CREATE "${WORK}"`);
      await c.close();
    });
    const d = await ImapClient.connect(dovecot.imapPort);
    await d.login(dovecot.user, dovecot.password);
    const list = await d.command('LIST "" "*"');
    expect(list.untagged).toContain(`* LIST (\\HasNoChildren) "." ${WORK_MUTF7}`);
    await d.close();
  });
});
