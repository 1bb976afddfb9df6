// CONDSTORE (RFC 7162 3.1) over the wire: HIGHESTMODSEQ on SELECT and STATUS, FETCH MODSEQ
// and CHANGEDSINCE, STORE UNCHANGEDSINCE with MODIFIED, MODSEQ in flag updates once enabled,
// SEARCH MODSEQ, HIGHESTMODSEQ across a daemon restart, and bad input.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from '../helpers/app.js';
import { append, Imap, message, startImapServer } from './client.js';

let srv: TestServer;
beforeAll(async () => {
  srv = await startImapServer();
});
afterAll(async () => {
  await srv?.stop();
});

/** A fresh mailbox with `n` messages; modseqs: 1 for the empty mailbox, then one per append. */
async function mailbox(i: Imap, name: string, n: number): Promise<void> {
  expect((await i.cmd(`CREATE ${name}`)).at(-1)).toMatch(/OK/);
  for (let k = 1; k <= n; k++) await append(i, name, message(`${name} ${k}`));
}

describe('CONDSTORE', () => {
  it('is advertised and enabled; SELECT (CONDSTORE) and STATUS report HIGHESTMODSEQ', async () => {
    const a = await Imap.login(srv);
    expect((await a.run('CAPABILITY'))[0]).toMatch(/ CONDSTORE QRESYNC( |$)/);
    await mailbox(a, 'cs1', 3);
    expect(await a.run('STATUS cs1 (MESSAGES HIGHESTMODSEQ)')).toEqual(['* STATUS "cs1" (MESSAGES 3 HIGHESTMODSEQ 4)', 'T OK STATUS completed']);
    const sel = await a.run('SELECT cs1 (CONDSTORE)');
    expect(sel).toContain('* OK [HIGHESTMODSEQ 4] Highest');
    expect(sel.at(-1)).toBe('T OK [READ-WRITE] SELECT completed');
    expect(await a.run('ENABLE CONDSTORE')).toEqual(['T BAD ENABLE not allowed with a mailbox selected']);
    const b = await Imap.login(srv);
    expect(await b.run('ENABLE CONDSTORE')).toEqual(['* ENABLED CONDSTORE', 'T OK ENABLE completed']);
    a.close();
    b.close();
  });

  it('FETCH MODSEQ, CHANGEDSINCE, STORE UNCHANGEDSINCE with MODIFIED, and MODSEQ in updates', async () => {
    const a = await Imap.login(srv);
    await mailbox(a, 'cs2', 4); // modseqs 2, 3, 4, 5
    await a.cmd('SELECT cs2');
    expect(await a.run('FETCH 1:* (MODSEQ)')).toEqual([
      '* 1 FETCH (MODSEQ (2))',
      '* 2 FETCH (MODSEQ (3))',
      '* 3 FETCH (MODSEQ (4))',
      '* 4 FETCH (MODSEQ (5))',
      'T OK FETCH completed',
    ]);
    // FETCH MODSEQ enabled CONDSTORE: the STORE reply carries the new modseq (one per STORE).
    expect(await a.run('STORE 1,3 +FLAGS (\\Seen)')).toEqual([
      '* 1 FETCH (FLAGS (\\Seen \\Recent) MODSEQ (6))',
      '* 3 FETCH (FLAGS (\\Seen \\Recent) MODSEQ (6))',
      'T OK STORE completed',
    ]);
    expect(await a.run('UID FETCH 1:* (FLAGS) (CHANGEDSINCE 5)')).toEqual([
      '* 1 FETCH (UID 1 FLAGS (\\Seen \\Recent) MODSEQ (6))',
      '* 3 FETCH (UID 3 FLAGS (\\Seen \\Recent) MODSEQ (6))',
      'T OK UID FETCH completed',
    ]);
    expect(await a.run('FETCH 1:* (UID) (CHANGEDSINCE 6)')).toEqual(['T OK FETCH completed']);

    // Another session changes message 2 (modseq 7). A's conditional STORE since 5 fails for
    // 1 and 3 (changed at 6) and 2 (at 7): MODIFIED lists them; 4 (at 5) is changed.
    const b = await Imap.login(srv);
    await b.cmd('SELECT cs2');
    expect(await b.run('STORE 2 +FLAGS.SILENT (\\Flagged)')).toEqual(['T OK STORE completed']);
    expect(await a.run('STORE 1:4 (UNCHANGEDSINCE 5) +FLAGS.SILENT (\\Answered)')).toEqual([
      '* 4 FETCH (MODSEQ (8))',
      '* 2 FETCH (UID 2 FLAGS (\\Flagged \\Recent) MODSEQ (7))',
      'T OK [MODIFIED 1:3] Conditional STORE failed',
    ]);
    expect(await a.run('UID STORE 2,4 (UNCHANGEDSINCE 7) FLAGS (\\Deleted)')).toEqual([
      '* 2 FETCH (UID 2 FLAGS (\\Deleted \\Recent) MODSEQ (9))',
      'T OK [MODIFIED 4] Conditional STORE failed',
    ]);
    // UNCHANGEDSINCE 0 always fails (RFC 7162 3.1.3): every message has a modseq.
    expect(await a.run('UID STORE 1 (UNCHANGEDSINCE 0) +FLAGS (\\Draft)')).toEqual(['T OK [MODIFIED 1] Conditional STORE failed']);

    // B was never CONDSTORE-enabled: its updates have no MODSEQ; after ENABLE-like use they do.
    expect(await b.run('NOOP')).toEqual([
      '* 2 FETCH (UID 2 FLAGS (\\Deleted))',
      '* 4 FETCH (UID 4 FLAGS (\\Answered))',
      'T OK NOOP completed',
    ]);
    await b.cmd('FETCH 1 (MODSEQ)');
    await a.cmd('STORE 1 -FLAGS.SILENT (\\Seen)');
    expect(await b.run('NOOP')).toEqual(['* 1 FETCH (UID 1 FLAGS () MODSEQ (10))', 'T OK NOOP completed']);

    // SEARCH MODSEQ (RFC 7162 3.1.5): the reply ends with the highest modseq of the matches.
    expect(await a.run('SEARCH MODSEQ 8')).toEqual(['* SEARCH 1 2 4 (MODSEQ 10)', 'T OK SEARCH completed']);
    expect(await a.run('UID SEARCH MODSEQ "/flags/\\\\draft" all 9')).toEqual(['* SEARCH 1 2 (MODSEQ 10)', 'T OK UID SEARCH completed']);
    const es = await a.run('SEARCH RETURN (COUNT) MODSEQ 9');
    expect(es[0]).toMatch(/^\* ESEARCH \(TAG "t\d+"\) COUNT 2 MODSEQ 10$/);
    expect(await a.run('SEARCH MODSEQ 11')).toEqual(['* SEARCH', 'T OK SEARCH completed']);
    a.close();
    b.close();
  });

  it('answers BAD for malformed modifiers', async () => {
    const a = await Imap.login(srv);
    await mailbox(a, 'cs3', 1);
    await a.cmd('SELECT cs3');
    const bad = [
      'FETCH 1 (FLAGS) (CHANGEDSINCE 0)',
      'FETCH 1 (FLAGS) (CHANGEDSINCE x)',
      'FETCH 1 (FLAGS) (CHANGEDSINCE 9223372036854775808)',
      'FETCH 1 (FLAGS) (CHANGEDSINCE)',
      'FETCH 1 (FLAGS) (CHANGEDSINCE 5 CHANGEDSINCE 6)',
      'FETCH 1 (FLAGS) (CHANGEDSINCE 5 VANISHED)',
      'UID FETCH 1 (FLAGS) (VANISHED)',
      'FETCH 1 (FLAGS) (FOO 1)',
      'STORE 1 (UNCHANGEDSINCE -1) +FLAGS (\\Seen)',
      'STORE 1 (UNCHANGEDSINCE 1)+FLAGS (\\Seen)',
      'STORE 1 (CHANGEDSINCE 1) +FLAGS (\\Seen)',
      'SEARCH MODSEQ',
      'SEARCH MODSEQ "/flags/x" bogus 1',
      'SELECT cs3 (CONDSTORE',
      'SELECT cs3 (FOO)',
    ];
    for (const c of bad) expect((await a.cmd(c)).at(-1), c).toMatch(/^t\d+ BAD /);
    // The largest legal value is fine.
    expect(await a.run('FETCH 1 (UID) (CHANGEDSINCE 9223372036854775807)')).toEqual(['T OK FETCH completed']);
    // The session survives all of that, and the log says why each was refused.
    expect(await a.run('NOOP')).toEqual(['T OK NOOP completed']);
    expect(srv.logs.some((l) => l.msg === 'bad command' && /mod-sequence/.test(String(l.reason)))).toBe(true);
    a.close();
  });
});

describe('HIGHESTMODSEQ across a restart', () => {
  it('survives stopping and starting the daemon on the same mail directory', async () => {
    const mailRoot = await mkdtemp(join(tmpdir(), 'condstore-root-'));
    try {
      const first = await startImapServer({ mailRoot });
      const a = await Imap.login(first);
      await mailbox(a, 'keep', 2);
      await a.cmd('SELECT keep');
      await a.cmd('STORE 2 +FLAGS (\\Flagged)');
      const before = await a.run('FETCH 1:* (MODSEQ)');
      expect(before).toEqual(['* 1 FETCH (MODSEQ (2))', '* 2 FETCH (MODSEQ (4))', 'T OK FETCH completed']);
      a.close();
      await first.stop();

      const second = await startImapServer({ mailRoot });
      try {
        const b = await Imap.login(second);
        expect(await b.run('SELECT keep (CONDSTORE)')).toContain('* OK [HIGHESTMODSEQ 4] Highest');
        expect(await b.run('FETCH 1:* (MODSEQ)')).toEqual(before);
        // The first change after a restart starts above the durable ceiling (1 + 1000 here),
        // in case the last records were lost with the page cache (src/maildir/modseq.ts).
        expect(await b.run('STORE 1 +FLAGS (\\Seen)')).toEqual(['* 1 FETCH (FLAGS (\\Seen \\Recent) MODSEQ (1002))', 'T OK STORE completed']);
        b.close();
      } finally {
        await second.stop();
      }
    } finally {
      await rm(mailRoot, { recursive: true, force: true });
    }
  });
});
