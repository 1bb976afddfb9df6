// SORT, SORT=DISPLAY and THREAD against the running daemon: exact replies on a fixed message
// set (sort-thread-messages.ts) for every key, REVERSE combinations, search criteria, the UID
// forms and bad input; then the same commands against Dovecot 2.3 on the same Maildir files.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from '../helpers/app.js';
import { dovecotAvailable, type Dovecot, type ImapClient } from '../helpers/dovecot.js';
import { startDovecotInbox } from '../helpers/dovecot-inbox.js';
import { requirePeer, runPeer } from '../helpers/peers.js';
import { store } from '../mime/fixtures.js';
import { Imap, PASS, startImapServer, USER } from './client.js';
import { imapDateTime, messages } from './sort-thread-messages.js';

const lit = (s: string): string => `{${Buffer.byteLength(s)}+}\r\n${s}`;

async function appendAll(i: Imap, mailbox: string): Promise<void> {
  for (const m of messages) {
    const r = await i.cmd(`APPEND ${mailbox} "${imapDateTime(m.internalDate)}" ${lit(m.raw.toString('latin1'))}`);
    expect(r.at(-1)).toMatch(/OK/);
  }
}

/**
 * [command, its untagged reply]. The expected orders were worked out by hand from RFC 5256
 * (the comments say why where it is not obvious) and agree with Dovecot except where the
 * DOVECOT_DIFFERS table says otherwise. Sent dates in UTC: 1 Nov 2 09:00, 2 09:30, 4 and 5
 * Nov 3 16:00 (equal), 6-8 Nov 4 01:00-03:00, 11 9 10 Nov 5 08:00-10:00, 13 12 Nov 6,
 * 14-16 Nov 7, 18 Nov 8 06:00 (EST), 19 Nov 8 22:15 (+1345), 3 and 17 fall back to
 * INTERNALDATE (no Date:, unreadable Date:), Nov 20.
 */
const TABLE: Array<[string, string]> = [
  ['SORT (ARRIVAL) UTF-8 ALL', '* SORT 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19'],
  // 11 and 12 arrived at the same second: sequence order, also under REVERSE.
  ['SORT (REVERSE ARRIVAL) UTF-8 ALL', '* SORT 19 18 17 16 15 14 13 11 12 10 9 8 7 6 5 4 3 2 1'],
  ['SORT (DATE) UTF-8 ALL', '* SORT 1 2 4 5 6 7 8 11 9 10 13 12 14 15 16 18 19 3 17'],
  ['SORT (REVERSE DATE) UTF-8 ALL', '* SORT 17 3 19 18 16 15 14 12 13 10 9 11 8 7 6 4 5 2 1'],
  // Local parts under i;ascii-casemap: "" (17), ALICE, BOB (3, 8), CAROL … YAMADA, ZED.
  ['SORT (FROM) UTF-8 ALL', '* SORT 17 2 3 8 1 9 10 11 12 13 14 15 16 19 18 7 6 4 5'],
  // A group's first ENVELOPE address is the group itself: 18 sorts as "Group", 5 as "undisclosed-recipients".
  ['SORT (TO) UTF-8 ALL', '* SORT 17 1 4 2 3 8 13 18 12 16 14 15 9 10 11 19 6 7 5'],
  ['SORT (CC) UTF-8 ALL', '* SORT 2 4 5 6 7 8 9 10 11 12 13 14 15 16 17 19 3 18 1'],
  // Base subjects: "" BUDGET DUP "DUP RESENT" LOOP "LOST THREAD" "PROJECT PLAN" Été 会議…;
  // "RE: [dev] Re: project PLAN (fwd)", "[list] Re: [list] Budget" and "[fwd: 会議…]" reduce too.
  ['SORT (SUBJECT) UTF-8 ALL', '* SORT 17 4 5 19 14 16 15 12 13 9 10 11 1 2 3 18 6 7 8'],
  ['SORT (SIZE) UTF-8 ALL', '* SORT 17 5 1 4 2 14 9 15 8 12 11 13 10 7 16 19 18 3 6'],
  ['SORT (REVERSE SIZE) UTF-8 ALL', '* SORT 6 3 18 19 16 7 10 13 11 12 8 15 9 14 2 4 1 5 17'],
  // RFC 5957: decoded display names (山田太郎 from ISO-2022-JP), else mailbox@host.
  ['SORT (DISPLAYFROM) UTF-8 ALL', '* SORT 17 2 8 3 1 9 10 11 12 13 14 15 16 19 5 18 4 6 7'],
  ['SORT (DISPLAYTO) UTF-8 ALL', '* SORT 17 1 4 2 3 8 13 18 12 16 14 15 9 10 11 19 7 5 6'],
  ['SORT (SUBJECT REVERSE DATE) UTF-8 ALL', '* SORT 17 19 4 5 16 14 15 12 13 10 9 11 3 2 1 18 8 7 6'],
  ['SORT (REVERSE SUBJECT DATE) UTF-8 ALL', '* SORT 6 7 8 18 1 2 3 11 9 10 13 12 15 14 16 4 5 19 17'],
  ['SORT (FROM REVERSE SIZE) US-ASCII ALL', '* SORT 17 2 3 8 1 9 10 11 12 13 15 14 16 19 18 7 6 4 5'],
  // Search criteria filter first (the SEARCH evaluator, decoded headers included).
  ['SORT (DATE) UTF-8 FROM example.org', '* SORT 1 11 9 10 13 12 14 15 16 19'],
  [`SORT (REVERSE DATE) UTF-8 SUBJECT ${lit('会議')}`, '* SORT 8 7 6'],
  [`SORT (ARRIVAL) UTF-8 FROM ${lit('山田')}`, '* SORT 4 6'],
  ['SORT (SUBJECT REVERSE DATE) UTF-8 5:12', '* SORT 5 12 10 9 11 8 7 6'],
  ['SORT (SIZE) UTF-8 OR LARGER 900 SUBJECT dup', '* SORT 14 15 16 6'],
  ['SORT (DATE) UTF-8 SUBJECT "no such subject"', '* SORT'],
  // Threads: 1 2 3 by References/In-Reply-To; 4 (Fwd:) joins 5 by subject under the non-reply;
  // 19 names 5; 8 ([fwd: …]) joins 6 by subject; 9-11 share a missing parent (a dummy that
  // stays, two children at the root); 12/13 name each other (no loop: 13 came last and
  // keeps 12); 15 duplicates 14's Message-ID, so 16 (In-Reply-To <"dup"@…>) is 14's.
  ['THREAD REFERENCES UTF-8 ALL', '* THREAD (1 2 3)(5 (4)(19))(6 (7)(8))((11)(9 10))(13 12)(14 16)(15)(18)(17)'],
  // Without 1, the dummy for its Message-ID has one child: 2 takes its place.
  ['THREAD REFERENCES UTF-8 NOT 1', '* THREAD (2 3)(5 (4)(19))(6 (7)(8))((11)(9 10))(13 12)(14 16)(15)(18)(17)'],
  ['THREAD REFERENCES UTF-8 SUBJECT budget', '* THREAD (5 (4)(19))'],
  ['THREAD REFERENCES US-ASCII 10', '* THREAD (10)'],
  ['THREAD ORDEREDSUBJECT UTF-8 ALL', '* THREAD (1 (2)(3))(4 (5)(19))(6 (7)(8))(11 (9)(10))(13 12)(14 16)(15)(18)(17)'],
  ['THREAD ORDEREDSUBJECT UTF-8 NOT 1', '* THREAD (2 3)(4 (5)(19))(6 (7)(8))(11 (9)(10))(13 12)(14 16)(15)(18)(17)'],
  ['THREAD ORDEREDSUBJECT UTF-8 SUBJECT "no such subject"', '* THREAD'],
];

/** Where Dovecot answers otherwise on purpose: its answer, and why ours is the RFC's. */
const DOVECOT_DIFFERS: Record<string, { dovecot: string; why: string }> = {
  'SORT (SUBJECT) UTF-8 ALL': {
    dovecot: '* SORT 17 4 5 19 14 16 15 18 12 13 9 10 11 1 2 3 6 7 8',
    why: 'Dovecot compares under i;unicode-casemap (Été as ETE); RFC 5256 3 says i;ascii-casemap, where É (U+00C9) follows all ASCII',
  },
  'SORT (SUBJECT REVERSE DATE) UTF-8 ALL': {
    dovecot: '* SORT 17 19 4 5 16 14 15 18 12 13 10 9 11 3 2 1 8 7 6',
    why: 'i;unicode-casemap (Été as ETE), as above',
  },
  'SORT (REVERSE SUBJECT DATE) UTF-8 ALL': {
    dovecot: '* SORT 6 7 8 1 2 3 11 9 10 13 12 18 15 14 16 4 5 19 17',
    why: 'i;unicode-casemap (Été as ETE), as above',
  },
  'THREAD ORDEREDSUBJECT UTF-8 SUBJECT "no such subject"': {
    dovecot: '* THREAD ',
    why: 'a trailing space; RFC 5256 5: thread-data = "THREAD" [SP 1*thread-list]',
  },
  'SORT (DISPLAYFROM) UTF-8 ALL': {
    dovecot: '* SORT 17 2 8 3 1 9 10 11 12 13 14 15 16 19 18 5 4 6 7',
    why: 'i;unicode-casemap (Ödön as ODON, before ZED@…); ours is i;ascii-casemap (RFC 5957 3 uses the active collation, RFC 5256 3 makes it i;ascii-casemap)',
  },
};

let srv: TestServer;
let i: Imap;
beforeAll(async () => {
  srv = await startImapServer();
  i = await Imap.login(srv);
  // A first message, expunged, so that UIDs are sequence numbers + 1 in the UID checks.
  await i.cmd(`APPEND INBOX ${lit('Subject: placeholder\r\n\r\nx\r\n')}`);
  await appendAll(i, 'INBOX');
  await i.cmd('SELECT INBOX');
  await i.cmd('STORE 1 +FLAGS.SILENT (\\Deleted)');
  expect(await i.run('EXPUNGE')).toEqual(['* 1 EXPUNGE', 'T OK EXPUNGE completed']);
}, 60_000);
afterAll(async () => {
  i?.close();
  await srv?.stop();
});

describe('SORT and THREAD replies', () => {
  it('advertises SORT, SORT=DISPLAY, THREAD=ORDEREDSUBJECT and THREAD=REFERENCES', async () => {
    const caps = (await i.run('CAPABILITY'))[0]!.split(' ');
    expect(caps).toEqual(expect.arrayContaining(['SORT', 'SORT=DISPLAY', 'THREAD=ORDEREDSUBJECT', 'THREAD=REFERENCES']));
  });

  it.each(TABLE)('%s', async (cmd, line) => {
    const name = cmd.split(' ')[0];
    expect(await i.run(cmd)).toEqual([line, `T OK ${name} completed`]);
  });

  it('UID SORT and UID THREAD answer with UIDs (here sequence number + 1)', async () => {
    expect(await i.run('UID SORT (DATE) UTF-8 ALL')).toEqual(['* SORT 2 3 5 6 7 8 9 12 10 11 14 13 15 16 17 19 20 4 18', 'T OK UID SORT completed']);
    // UID 12 and 13 (sequence 11 and 12) share an INTERNALDATE: sequence order even reversed.
    expect(await i.run('UID SORT (REVERSE ARRIVAL) US-ASCII UID 10:14')).toEqual(['* SORT 14 12 13 11 10', 'T OK UID SORT completed']);
    expect(await i.run('UID THREAD REFERENCES UTF-8 ALL')).toEqual([
      '* THREAD (2 3 4)(6 (5)(20))(7 (8)(9))((12)(10 11))(14 13)(15 17)(16)(19)(18)',
      'T OK UID THREAD completed',
    ]);
    expect(await i.run('UID THREAD ORDEREDSUBJECT UTF-8 UID 2:4')).toEqual(['* THREAD (2 (3)(4))', 'T OK UID THREAD completed']);
  });

  it("Roundcube's own commands: SORT=DISPLAY for the sender column, UNDELETED, US-ASCII for ASCII criteria", async () => {
    // rcube_imap_generic::sort() turns FROM into DISPLAYFROM when SORT=DISPLAY is offered.
    expect(await i.run('UID SORT (DISPLAYFROM) US-ASCII UNDELETED')).toEqual(['* SORT 18 3 9 4 2 10 11 12 13 14 15 16 17 20 6 19 5 7 8', 'T OK UID SORT completed']);
    expect(await i.run('UID SORT (ARRIVAL) UTF-8 ALL UNDELETED SUBJECT budget')).toEqual(['* SORT 5 6 20', 'T OK UID SORT completed']);
    expect(await i.run('UID THREAD REFERENCES US-ASCII UNDELETED')).toEqual([
      '* THREAD (2 3 4)(6 (5)(20))(7 (8)(9))((12)(10 11))(14 13)(15 17)(16)(19)(18)',
      'T OK UID THREAD completed',
    ]);
  });

  it.runIf(requirePeer('python3', 'SORT/THREAD through imaplib'))("Python's imaplib sort() and thread() read the replies", async () => {
    const script = [
      'import imaplib, json, sys',
      'm = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]))',
      'm.login(sys.argv[2], sys.argv[3])',
      'm.select("INBOX")',
      'def first(r): return [r[0], r[1][0].decode()]',
      'out = {"sort": first(m.sort("(REVERSE DATE)", "UTF-8", "ALL")), "thread": first(m.thread("ORDEREDSUBJECT", "UTF-8", "ALL"))}',
      'out["uid"] = first(m.uid("THREAD", "REFERENCES", "UTF-8", "SUBJECT", "budget"))',
      'm.logout()',
      'print(json.dumps(out))',
    ].join('\n');
    const r = await runPeer('python3', ['-c', script, String(srv.port('imap')), USER, PASS]);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({
      sort: ['OK', '17 3 19 18 16 15 14 12 13 10 9 11 8 7 6 4 5 2 1'],
      thread: ['OK', '(1 (2)(3))(4 (5)(19))(6 (7)(8))(11 (9)(10))(13 12)(14 16)(15)(18)(17)'],
      uid: ['OK', '(6 (5)(20))'],
    });
  });

  it('bad input: BAD for syntax, NO [BADCHARSET] for a charset, each logged', async () => {
    const bad: Array<[string, string]> = [
      ['SORT (FOO) UTF-8 ALL', 'T BAD Error in IMAP command SORT: Unknown sort key FOO'],
      ['SORT () UTF-8 ALL', 'T BAD Error in IMAP command SORT: Expected at least one item in a sort criteria list'],
      ['SORT (REVERSE) UTF-8 ALL', 'T BAD Error in IMAP command SORT: Expected a sort key after REVERSE'],
      ['SORT (REVERSE REVERSE DATE) UTF-8 ALL', 'T BAD Error in IMAP command SORT: Unknown sort key REVERSE'],
      ['SORT DATE UTF-8 ALL', 'T BAD Error in IMAP command SORT: Expected a sort criteria list'],
      ['SORT (DATE) UTF-8', 'T BAD Error in IMAP command SORT: Missing argument'],
      ['SORT (DATE) UTF-8 CHARSET UTF-8 ALL', 'T BAD Error in IMAP command SORT: Unexpected CHARSET in search criteria'],
      ['SORT (DATE) UTF-8 NOSUCHKEY', 'T BAD Error in IMAP command SORT: Unknown search key NOSUCHKEY'],
      ['UID SORT (DATE)', 'T BAD Error in IMAP command UID: Missing argument'],
      ['THREAD FOO UTF-8 ALL', 'T BAD Error in IMAP command THREAD: Unknown threading algorithm FOO'],
      ['THREAD REFERENCES', 'T BAD Error in IMAP command THREAD: Missing argument'],
      ['SORT (DATE) KOI8-R ALL', 'T NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset'],
      ['THREAD ORDEREDSUBJECT ISO-2022-JP ALL', 'T NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset'],
    ];
    const got: Array<[string, string]> = [];
    for (const [cmd] of bad) got.push([cmd, (await i.run(cmd)).join(' | ')]);
    expect(got).toEqual(bad);
    expect(srv.logs.some((l) => l.msg === 'bad command' && l.reason === 'Error in IMAP command SORT: Unknown sort key FOO')).toBe(true);
    expect(srv.logs.some((l) => l.msg === 'command refused' && l.code === 'BADCHARSET (UTF-8 US-ASCII)')).toBe(true);
    expect(srv.logs.filter((l) => l.level === 'error' || l.level === 'fatal')).toEqual([]);
    // The session is still fine.
    expect(await i.run('SORT (ARRIVAL) UTF-8 1:3')).toEqual(['* SORT 1 2 3', 'T OK SORT completed']);
  });

  it('a MODSEQ criterion (CONDSTORE, RFC 7162 3.1.5) ends SORT with the highest modseq of the matches', async () => {
    const [sortLine, ok] = await i.run('SORT (REVERSE ARRIVAL) UTF-8 MODSEQ 1 1:3');
    expect(ok).toBe('T OK SORT completed');
    const top = Number(/^\* SORT 3 2 1 \(MODSEQ (\d+)\)$/.exec(sortLine!)?.[1]);
    const fetched = await i.run('FETCH 1:3 (MODSEQ)');
    const modseqs = fetched.filter((l) => l.startsWith('* ')).map((l) => Number(/MODSEQ \((\d+)\)/.exec(l)![1]));
    expect(top).toBe(Math.max(...modseqs));
    expect(await i.run('SORT (ARRIVAL) UTF-8 MODSEQ 1 SUBJECT "no such subject"')).toEqual(['* SORT', 'T OK SORT completed']);
    expect(await i.run('THREAD REFERENCES UTF-8 MODSEQ 1 1:2')).toEqual(['* THREAD (1 2)', 'T OK THREAD completed']);
  });

  it('needs a selected mailbox', async () => {
    const j = await Imap.login(srv);
    expect(await j.run('SORT (DATE) UTF-8 ALL')).toEqual(['T BAD SORT not allowed without a selected mailbox']);
    expect(await j.run('UID THREAD REFERENCES UTF-8 ALL')).toEqual(['T BAD THREAD not allowed without a selected mailbox']);
    j.close();
  });

  it('no EXPUNGE during SORT/THREAD, as for SEARCH (RFC 3501 7.4.1); the UID forms may carry it', async () => {
    const a = await Imap.login(srv);
    await a.cmd('CREATE Expunging');
    await appendAll(a, 'Expunging');
    await a.cmd('SELECT Expunging');
    expect(await a.run('SORT (DATE) UTF-8 1:3')).toEqual(['* SORT 1 2 3', 'T OK SORT completed']); // keys now cached
    const b = await Imap.login(srv);
    await b.cmd('SELECT Expunging');
    await b.cmd('STORE 2 +FLAGS.SILENT (\\Deleted)');
    await b.cmd('EXPUNGE');
    // Sequence numbers stay as the client knows them (3 is still 3); message 2 matches
    // nothing any more (RFC 2180 4.3), with its keys cached (DATE) or not (ARRIVAL).
    expect(await a.run('SORT (DATE) UTF-8 1:3')).toEqual(['* SORT 1 3', 'T OK SORT completed']);
    expect(await a.run('SORT (ARRIVAL) UTF-8 1:3')).toEqual(['* SORT 1 3', 'T OK SORT completed']);
    expect(await a.run('THREAD REFERENCES UTF-8 1:3')).toEqual(['* THREAD (1 3)', 'T OK THREAD completed']);
    expect(await a.run('UID SORT (ARRIVAL) UTF-8 1:3')).toEqual(['* SORT 1 3', '* 2 EXPUNGE', 'T OK UID SORT completed']);
    a.close();
    b.close();
  });
});

describe('SORT and THREAD over ALL, answered again while the messages stay the same', () => {
  // Replies over ALL are kept per mailbox (key-cache.ts ReplyMemo); the same criteria over
  // 1:* are always computed afresh, so comparing the two checks every reuse.
  const both = async (c: Imap, cmd: string): Promise<string[]> => {
    const viaAll = await c.run(cmd.replace('%', 'ALL'));
    expect(await c.run(cmd.replace('%', '1:*')), cmd).toEqual(viaAll);
    return viaAll;
  };
  const CMDS = ['SORT (DATE) UTF-8 %', 'UID SORT (REVERSE SUBJECT) UTF-8 %', 'SORT (DISPLAYFROM) UTF-8 %', 'THREAD REFERENCES UTF-8 %', 'UID THREAD ORDEREDSUBJECT UTF-8 %'];

  it('after flag changes, a delivery, an expunge pending and one announced', async () => {
    const a = await Imap.login(srv);
    await a.cmd('CREATE Memo');
    await appendAll(a, 'Memo');
    await a.cmd('SELECT Memo');
    const first = [];
    for (const c of CMDS) first.push(await both(a, c));
    for (const c of CMDS) expect(await a.run(c.replace('%', 'ALL'))).toEqual(first[CMDS.indexOf(c)]); // from the memo

    await a.cmd('STORE 1:* +FLAGS.SILENT (\\Seen $Work)'); // flags do not change SORT/THREAD over ALL
    for (const c of CMDS) expect(await both(a, c)).toEqual(first[CMDS.indexOf(c)]);

    // Another session delivers the oldest message of all: it sorts first once announced.
    const b = await Imap.login(srv);
    await b.cmd(`APPEND Memo ${lit('Date: Mon, 1 Jan 1990 00:00:00 +0000\r\nFrom: zz@example.test\r\nSubject: oldest\r\n\r\nx\r\n')}`);
    await a.cmd('NOOP');
    const sorted = await both(a, 'SORT (DATE) UTF-8 %');
    expect(sorted[0]).toMatch(new RegExp(`^\\* SORT ${first.length > 0 ? first[0]![0]!.split(' ').length - 1 : 0}\\b`));
    for (const c of CMDS) await both(a, c);

    // b expunges message 1: until a hears of it, message 1 matches nothing (RFC 2180 4.3).
    await b.cmd('SELECT Memo');
    await b.cmd('STORE 1 +FLAGS.SILENT (\\Deleted)');
    await b.cmd('EXPUNGE');
    expect((await a.run('SORT (DATE) UTF-8 ALL'))[0]!.split(' ')).not.toContain('1');
    await a.cmd('NOOP'); // now the EXPUNGE is sent and numbers move
    for (const c of CMDS) await both(a, c);
    a.close();
    b.close();
  });
});

const dovecotOk = (await dovecotAvailable()) && requirePeer('doveadm', 'SORT/THREAD vs Dovecot');

describe.runIf(dovecotOk)('SORT and THREAD answers agree with Dovecot 2.3', () => {
  let dc: Dovecot;
  let client: ImapClient;
  beforeAll(async () => {
    let uidlist: string;
    ({ dc, client, uidlist } = await startDovecotInbox(
      messages.map((m, n) => ({ name: `cur/${1700000000 + n}.M${n}P1.host:2,`, data: store(m.raw), mtime: m.internalDate })),
    ));
    expect(uidlist).toContain(`19 :${1700000018}.M18P1.host`);
  }, 60_000);
  afterAll(async () => {
    await client?.close();
    await dc?.stop();
  });

  it.each(TABLE)('%s', async (cmd, line) => {
    const res = await client.command(cmd);
    expect(res.untagged).toEqual([DOVECOT_DIFFERS[cmd]?.dovecot ?? line]);
  });
});
