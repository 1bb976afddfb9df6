// QRESYNC (RFC 7162 3.2) over the wire: SELECT (QRESYNC ...) with VANISHED (EARLIER) and the
// changed messages' FETCH after another session's changes, known-uids and seq-match (with the
// store's expunge memory trimmed), VANISHED instead of EXPUNGE, UID FETCH (CHANGEDSINCE n
// VANISHED), [CLOSED]; and imapflow with `qresync: true` resyncing after another client.
import { appendFile } from 'node:fs/promises';
import path from 'node:path';
import { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from '../helpers/app.js';
import { append, Imap, message, PASS, startImapServer, USER } from './client.js';

let srv: TestServer;
beforeAll(async () => {
  srv = await startImapServer();
});
afterAll(async () => {
  await srv?.stop();
});

async function mailbox(i: Imap, name: string, n: number): Promise<number> {
  expect((await i.cmd(`CREATE ${name}`)).at(-1)).toMatch(/OK/);
  for (let k = 1; k <= n; k++) await append(i, name, message(`${name} ${k}`));
  const st = await i.cmd(`STATUS ${name} (UIDVALIDITY)`);
  return Number(/UIDVALIDITY (\d+)/.exec(st[0]!)![1]);
}

/** The lines of a SELECT reply after the usual ones (what QRESYNC adds), and the tagged OK. */
const tail = (lines: string[]): string[] => lines.slice(lines.findIndex((l) => l.startsWith('* OK [HIGHESTMODSEQ')));

describe('QRESYNC', () => {
  it('needs ENABLE QRESYNC, which implies CONDSTORE', async () => {
    const a = await Imap.login(srv);
    await mailbox(a, 'qr0', 1);
    expect(await a.run('SELECT qr0 (QRESYNC (1 1))')).toEqual(['T BAD QRESYNC parameter without ENABLE QRESYNC']);
    expect(await a.run('ENABLE QRESYNC')).toEqual(['* ENABLED QRESYNC', 'T OK ENABLE completed']);
    expect(await a.run('ENABLE CONDSTORE')).toEqual(['* ENABLED', 'T OK ENABLE completed']);
    a.close();
  });

  it('resyncs a SELECT after another session flagged, expunged and appended', async () => {
    const a = await Imap.login(srv);
    const v = await mailbox(a, 'qr1', 6); // UIDs 1..6, modseqs 2..7
    a.close();

    const b = await Imap.login(srv);
    await b.cmd('SELECT qr1');
    await b.cmd('STORE 2 +FLAGS.SILENT (\\Seen)'); // 8
    await b.cmd('STORE 3:4 +FLAGS.SILENT (\\Deleted)'); // 9
    expect(await b.run('EXPUNGE')).toEqual(['* 4 EXPUNGE', '* 3 EXPUNGE', 'T OK EXPUNGE completed']); // 10
    await append(b, 'qr1', message('qr1 7')); // UID 7, modseq 11

    const c = await Imap.login(srv);
    await c.cmd('ENABLE QRESYNC');
    const sel = await c.run(`SELECT qr1 (QRESYNC (${v} 7))`);
    expect(sel).toContain('* 5 EXISTS');
    expect(tail(sel)).toEqual([
      '* OK [HIGHESTMODSEQ 11] Highest',
      '* VANISHED (EARLIER) 3:4',
      '* 2 FETCH (UID 2 FLAGS (\\Seen) MODSEQ (8))',
      '* 5 FETCH (UID 7 FLAGS () MODSEQ (11))',
      'T OK [READ-WRITE] SELECT completed',
    ]);
    // Known UIDs limit both VANISHED and the FETCHes (RFC 7162 3.2.5.1).
    const known = await c.run(`SELECT qr1 (QRESYNC (${v} 7 1:2,5))`);
    expect(known[0]).toBe('* OK [CLOSED] Previous mailbox closed'); // RFC 7162 3.2.11
    expect(tail(known)).toEqual(['* OK [HIGHESTMODSEQ 11] Highest', '* 2 FETCH (UID 2 FLAGS (\\Seen) MODSEQ (8))', 'T OK [READ-WRITE] SELECT completed']);
    // Up to date: nothing to add. Another UIDVALIDITY: nothing either (the client starts over).
    expect(tail(await c.run(`SELECT qr1 (QRESYNC (${v} 11))`))).toEqual(['* OK [HIGHESTMODSEQ 11] Highest', 'T OK [READ-WRITE] SELECT completed']);
    expect(tail(await c.run(`EXAMINE qr1 (QRESYNC (${v + 1} 2))`))).toEqual(['* OK [HIGHESTMODSEQ 11] Highest', 'T OK [READ-ONLY] EXAMINE completed']);

    // Now expunges reach C as VANISHED, not EXPUNGE (RFC 7162 3.2.10).
    await c.cmd('SELECT qr1');
    await b.cmd('UID STORE 1,6 +FLAGS.SILENT (\\Deleted)'); // 12
    await b.cmd('EXPUNGE'); // 13
    expect(await c.run('NOOP')).toEqual(['* VANISHED 1,6', 'T OK NOOP completed']);
    // UID FETCH with VANISHED: expunged UIDs of the set first, then what changed (RFC 7162 3.2.6).
    expect(await c.run('UID FETCH 1:* (FLAGS) (CHANGEDSINCE 9 VANISHED)')).toEqual([
      '* VANISHED (EARLIER) 1,3:4,6',
      '* 3 FETCH (UID 7 FLAGS () MODSEQ (11))',
      'T OK UID FETCH completed',
    ]);
    expect(await c.run('UID FETCH 2:5 (FLAGS) (CHANGEDSINCE 10 VANISHED)')).toEqual(['T OK UID FETCH completed']);
    // The tagged OK of an expunge tells the new HIGHESTMODSEQ (no FETCH carries it).
    expect(await c.run('UID STORE 2 +FLAGS.SILENT (\\Deleted)')).toEqual(['* 1 FETCH (UID 2 MODSEQ (14))', 'T OK STORE completed']);
    expect(await c.run('UID EXPUNGE 2')).toEqual(['* VANISHED 2', 'T OK [HIGHESTMODSEQ 15] UID EXPUNGE completed']);
    b.close();
    c.close();
  });

  it('falls back to every absent UID when the expunges asked about are forgotten, narrowed by seq-match', async () => {
    const a = await Imap.login(srv);
    const v = await mailbox(a, 'qr2', 5); // modseqs 2..6
    await a.cmd('SELECT qr2');
    await a.cmd('STORE 1 +FLAGS.SILENT (\\Deleted)'); // 7
    await a.cmd('EXPUNGE'); // 8: the client knows UID 1 is gone
    await a.cmd('UID STORE 3:4 +FLAGS.SILENT (\\Deleted)'); // 9
    await a.cmd('CLOSE'); // 10: expunges 3, 4 after the client's state (modseq 8)
    a.close();
    // The store forgets expunges up to modseq 10 (as after MAX_EXPUNGED of them).
    const file = path.join(srv.mailRoot, 'example.test', 'alice', '.qr2', 'mailserver.modseq');
    await appendFile(file, 'T 10\n');

    const c = await Imap.login(srv);
    await c.cmd('ENABLE QRESYNC');
    expect(tail(await c.run(`SELECT qr2 (QRESYNC (${v} 8))`))).toEqual([
      '* OK [HIGHESTMODSEQ 10] Highest',
      '* VANISHED (EARLIER) 1,3:4',
      'T OK [READ-WRITE] SELECT completed',
    ]);
    // The client's message 1 is still UID 2 here, so nothing at or below UID 2 can be news (3.2.5.2).
    expect(tail(await c.run(`SELECT qr2 (QRESYNC (${v} 8 2:5 (1 2)))`))).toEqual([
      '* OK [HIGHESTMODSEQ 10] Highest',
      '* VANISHED (EARLIER) 3:4',
      'T OK [READ-WRITE] SELECT completed',
    ]);
    expect(await c.run(`SELECT qr2 (QRESYNC (${v} 8 2:5 (1:2 2)))`)).toEqual([
      'T BAD Error in IMAP command SELECT: Sequence match data of different lengths',
    ]);
    expect(await c.run('NOOP')).toEqual(['T OK NOOP completed']); // still selected
    c.close();
  });
});

describe('imapflow with qresync: true', () => {
  it('reconnects and learns what another client flagged and expunged', async () => {
    const setup = await Imap.login(srv);
    await mailbox(setup, 'qr3', 4);
    setup.close();
    const opts = { host: '127.0.0.1', port: srv.port('imap'), secure: false, doSTARTTLS: true, tls: { rejectUnauthorized: false }, auth: { user: USER, pass: PASS }, logger: false as const, qresync: true };

    const first = new ImapFlow(opts);
    await first.connect();
    const box = await first.mailboxOpen('qr3');
    const uidValidity = box.uidValidity;
    const highestModseq = box.highestModseq;
    expect(highestModseq).toBe(5n);
    await first.logout();

    const other = await Imap.login(srv);
    await other.cmd('SELECT qr3');
    await other.cmd('UID STORE 2 +FLAGS.SILENT (\\Flagged)');
    await other.cmd('UID STORE 3 +FLAGS.SILENT (\\Deleted)');
    await other.cmd('UID EXPUNGE 3');
    other.close();

    const again = new ImapFlow(opts);
    const expunged: Array<{ uid?: number; vanished?: boolean; earlier?: boolean }> = [];
    const flags: Array<{ uid?: number; flags: Set<string>; modseq?: bigint }> = [];
    again.on('expunge', (e) => expunged.push(e));
    again.on('flags', (e) => flags.push(e));
    await again.connect();
    expect(again.enabled.has('QRESYNC')).toBe(true);
    const reopened = await again.mailboxOpen('qr3', { uidValidity, changedSince: highestModseq } as never);
    expect(reopened.highestModseq).toBe(8n);
    expect(reopened.exists).toBe(3);
    expect(expunged.map((e) => [e.uid, e.vanished, e.earlier])).toEqual([[3, true, true]]);
    expect(flags.map((f) => [f.uid, [...f.flags], f.modseq])).toEqual([[2, ['\\Flagged'], 6n]]);
    await again.logout();
  });
});
