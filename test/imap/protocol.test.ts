// Exact wire output of the tricky IMAP commands against the running daemon: UIDPLUS codes,
// RENAME of INBOX and of folders with children, LIST/LSUB patterns, STATUS, \Recent.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from '../helpers/app.js';
import { BASE_CAPABILITIES } from '../../src/imap/capabilities.js';
import { append, Imap, message, startImapServer } from './client.js';

// The extension names are listed once, in capabilities.ts; what depends on the connection
// (STARTTLS, AUTH=, LOGINDISABLED) and on the limits (APPENDLIMIT=) is pinned here.
const EXTENSIONS = `${BASE_CAPABILITIES.join(' ')} APPENDLIMIT=26214400`;

let srv: TestServer;
beforeAll(async () => {
  srv = await startImapServer();
});
afterAll(async () => {
  await srv?.stop();
});

const uidValidity = async (i: Imap, box: string): Promise<number> => {
  const r = await i.cmd(`STATUS ${box} (UIDVALIDITY)`);
  return Number(/UIDVALIDITY (\d+)/.exec(r[0]!)![1]);
};

describe('IMAP protocol', () => {
  it('greets with capabilities by state and refuses commands in the wrong state', async () => {
    const i = await Imap.connect(srv.port('imap'));
    expect(await i.run('CAPABILITY')).toEqual([
      // Loopback counts as secure by default (auth.loopbackIsSecure), as in Dovecot.
      `* CAPABILITY ${EXTENSIONS} STARTTLS AUTH=PLAIN AUTH=LOGIN`,
      'T OK CAPABILITY completed',
    ]);
    expect(await i.run('SELECT INBOX')).toEqual(['T BAD SELECT not allowed before login']);
    expect(await i.run('FETCH 1 FLAGS')).toEqual(['T BAD FETCH not allowed before login']);
    expect(await i.run('LOGIN alice@example.test wonderland')).toEqual([
      `T OK [CAPABILITY ${EXTENSIONS}] Logged in`,
    ]);
    expect(await i.run('LOGIN alice@example.test wonderland')).toEqual(['T BAD LOGIN not allowed without a selected mailbox']);
    expect(await i.run('EXPUNGE')).toEqual(['T BAD EXPUNGE not allowed without a selected mailbox']);
    expect(await i.run('NAMESPACE')).toEqual(['* NAMESPACE (("" ".")) NIL NIL', 'T OK NAMESPACE completed']);
    expect(await i.run('ENABLE CONDSTORE')).toEqual(['* ENABLED CONDSTORE', 'T OK ENABLE completed']);
    expect(await i.run('LOGOUT')).toEqual(['* BYE Logging out', 'T OK LOGOUT completed']);
    expect(await i.c.line()).toBeNull();
  });

  it('SELECT, APPEND with APPENDUID, COPY with COPYUID, MOVE with an untagged COPYUID before the EXPUNGEs', async () => {
    const i = await Imap.login(srv);
    await i.cmd('CREATE Work');
    const inboxV = await uidValidity(i, 'INBOX');
    const workV = await uidValidity(i, 'Work');
    expect((await append(i, 'INBOX', message('one'), '\\Seen')).at(-1)).toMatch(new RegExp(`^t\\d+ OK \\[APPENDUID ${inboxV} 1\\] APPEND completed$`));
    await append(i, 'INBOX', message('two'));
    await append(i, 'INBOX', message('three'), '\\Flagged $Important');
    expect(await append(i, 'Nowhere', message('x'))).toEqual([expect.stringMatching(/^t\d+ NO \[TRYCREATE\] Mailbox does not exist$/)]);

    const sel = await i.run('SELECT INBOX');
    expect(sel).toEqual([
      '* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Important)',
      '* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Important \\*)] Flags permitted',
      '* 3 EXISTS',
      '* 3 RECENT',
      '* OK [UNSEEN 2] First unseen',
      `* OK [UIDVALIDITY ${inboxV}] UIDs valid`,
      '* OK [UIDNEXT 4] Predicted next UID',
      '* OK [HIGHESTMODSEQ 4] Highest', // RFC 7162 3.1.2.1: the empty INBOX had 1, each APPEND one more
      'T OK [READ-WRITE] SELECT completed',
    ]);
    expect(await i.run('FETCH 1:* (UID FLAGS)')).toEqual([
      '* 1 FETCH (UID 1 FLAGS (\\Seen \\Recent))',
      '* 2 FETCH (UID 2 FLAGS (\\Recent))',
      '* 3 FETCH (UID 3 FLAGS (\\Flagged $Important \\Recent))',
      'T OK FETCH completed',
    ]);
    expect(await i.run('UID COPY 1:2 Work')).toEqual([`T OK [COPYUID ${workV} 1:2 1:2] COPY completed`]);
    expect(await i.run('COPY 1 Nowhere')).toEqual(['T NO [TRYCREATE] Mailbox does not exist']);
    expect(await i.run('MOVE 2:3 Work')).toEqual([
      `* OK [COPYUID ${workV} 2:3 3:4] Moved`,
      '* 3 EXPUNGE',
      '* 2 EXPUNGE',
      'T OK MOVE completed',
    ]);
    expect(await i.run('UID FETCH 1:* (FLAGS)')).toEqual(['* 1 FETCH (UID 1 FLAGS (\\Seen \\Recent))', 'T OK UID FETCH completed']);
    // UID EXPUNGE removes only \Deleted messages inside the set (RFC 4315 2.1).
    await append(i, 'INBOX', message('four'), '\\Deleted');
    await append(i, 'INBOX', message('five'), '\\Deleted');
    expect(await i.run('NOOP')).toEqual(['T OK NOOP completed']);
    expect(await i.run('UID EXPUNGE 5')).toEqual(['* 3 EXPUNGE', 'T OK UID EXPUNGE completed']);
    expect(await i.run('CLOSE')).toEqual(['T OK CLOSE completed']);
    expect(await i.run('EXAMINE INBOX')).toContain('T OK [READ-ONLY] EXAMINE completed');
    expect(await i.run('STATUS INBOX (MESSAGES UIDNEXT UNSEEN)')).toEqual(['* STATUS "INBOX" (MESSAGES 1 UIDNEXT 6 UNSEEN 0)', 'T OK STATUS completed']);
    expect(await i.run('STORE 1 +FLAGS (\\Deleted)')).toEqual(['T NO [READ-ONLY] Mailbox is read-only']);
    i.close();
  });

  it('LIST and LSUB: patterns, references, children, \\Noselect parents, special use', async () => {
    const i = await Imap.login(srv);
    for (const n of ['Projects.Alpha', 'Projects.Beta.Old', 'Lists']) expect((await i.cmd(`CREATE ${n}`)).at(-1)).toMatch(/OK/);
    expect(await i.run('LIST "" %')).toEqual([
      '* LIST (\\HasNoChildren) "." "INBOX"',
      '* LIST (\\HasNoChildren \\Archive) "." "Archive"',
      '* LIST (\\HasNoChildren \\Drafts) "." "Drafts"',
      '* LIST (\\HasNoChildren \\Junk) "." "Junk"',
      '* LIST (\\HasNoChildren) "." "Lists"',
      '* LIST (\\Noselect \\HasChildren) "." "Projects"',
      '* LIST (\\HasNoChildren \\Sent) "." "Sent"',
      '* LIST (\\HasNoChildren \\Trash) "." "Trash"',
      '* LIST (\\HasNoChildren) "." "Work"',
      'T OK LIST completed',
    ]);
    expect(await i.run('LIST Projects. *')).toEqual([
      '* LIST (\\HasNoChildren) "." "Projects.Alpha"',
      '* LIST (\\Noselect \\HasChildren) "." "Projects.Beta"',
      '* LIST (\\HasNoChildren) "." "Projects.Beta.Old"',
      'T OK LIST completed',
    ]);
    expect(await i.run('LIST "" Projects.%')).toEqual([
      '* LIST (\\HasNoChildren) "." "Projects.Alpha"',
      '* LIST (\\Noselect \\HasChildren) "." "Projects.Beta"',
      'T OK LIST completed',
    ]);
    expect(await i.run('LIST "" inbox')).toEqual(['* LIST (\\HasNoChildren) "." "INBOX"', 'T OK LIST completed']);
    expect(await i.run('LIST "" ""')).toEqual(['* LIST (\\Noselect) "." ""', 'T OK LIST completed']);
    expect(await i.run('SUBSCRIBE Projects.Beta.Old')).toEqual(['T OK SUBSCRIBE completed']);
    expect(await i.run('SUBSCRIBE Nope')).toEqual(['T NO [NONEXISTENT] Mailbox does not exist']);
    expect(await i.run('LSUB "" Projects.%')).toEqual(['* LSUB (\\Noselect) "." "Projects.Beta"', 'T OK LSUB completed']);
    expect(await i.run('LSUB "" Projects.*')).toEqual([
      '* LSUB (\\Noselect) "." "Projects.Beta"',
      '* LSUB () "." "Projects.Beta.Old"',
      'T OK LSUB completed',
    ]);
    expect(await i.run('UNSUBSCRIBE Projects.Beta.Old')).toEqual(['T OK UNSUBSCRIBE completed']);
    expect(await i.run('LSUB "" Projects.*')).toEqual(['T OK LSUB completed']);
    // Non-ASCII names travel as modified UTF-7 (RFC 3501 5.1.3).
    expect(await i.run('CREATE Entw&APw-rfe')).toEqual(['T OK CREATE completed']);
    expect(await i.run('LIST "" Entw*')).toEqual(['* LIST (\\HasNoChildren) "." "Entw&APw-rfe"', 'T OK LIST completed']);
    i.close();
  });

  it('RENAME of a folder with children moves them along; RENAME INBOX moves its messages and leaves INBOX empty', async () => {
    const i = await Imap.login(srv);
    expect(await i.run('RENAME Projects Stuff')).toEqual(['T NO [NONEXISTENT] Mailbox does not exist']);
    expect(await i.run('CREATE Projects')).toEqual(['T OK CREATE completed']);
    expect(await i.run('RENAME Projects Stuff')).toEqual(['T OK RENAME completed']);
    expect(await i.run('LIST "" Stuff*')).toEqual([
      '* LIST (\\HasChildren) "." "Stuff"',
      '* LIST (\\HasNoChildren) "." "Stuff.Alpha"',
      '* LIST (\\Noselect \\HasChildren) "." "Stuff.Beta"',
      '* LIST (\\HasNoChildren) "." "Stuff.Beta.Old"',
      'T OK LIST completed',
    ]);
    expect(await i.run('LIST "" Projects*')).toEqual(['T OK LIST completed']);
    expect(await i.run('RENAME Stuff Lists')).toEqual(['T NO [ALREADYEXISTS] Mailbox already exists']);

    await append(i, 'INBOX', message('keep me'));
    const before = await i.cmd('STATUS INBOX (MESSAGES)');
    const n = Number(/MESSAGES (\d+)/.exec(before[0]!)![1]);
    expect(n).toBeGreaterThan(0);
    expect(await i.run('RENAME INBOX Old-Inbox')).toEqual(['T OK RENAME completed']);
    expect(await i.run('STATUS INBOX (MESSAGES)')).toEqual(['* STATUS "INBOX" (MESSAGES 0)', 'T OK STATUS completed']);
    expect(await i.run('STATUS Old-Inbox (MESSAGES)')).toEqual([`* STATUS "Old-Inbox" (MESSAGES ${n})`, 'T OK STATUS completed']);
    expect(await i.run('DELETE INBOX')).toEqual(['T NO [CANNOT] INBOX cannot be deleted']);
    expect(await i.run('DELETE Stuff.Beta.Old')).toEqual(['T OK DELETE completed']);
    expect(await i.run('DELETE Stuff.Beta.Old')).toEqual(['T NO [NONEXISTENT] Mailbox does not exist']);
    i.close();
  });

  it('\\Recent belongs to one session; STATUS and EXAMINE do not take it', async () => {
    await srv.app.directory.addUser('recent@example.test', 'pw');
    await srv.app.store.ensureUser({ domain: 'example.test', localPart: 'recent' });
    const a = await Imap.login(srv, 'recent@example.test', 'pw');
    const b = await Imap.login(srv, 'recent@example.test', 'pw');
    await append(a, 'INBOX', message('r1'));
    expect(await b.run('STATUS INBOX (RECENT)')).toEqual(['* STATUS "INBOX" (RECENT 1)', 'T OK STATUS completed']);
    expect(await b.run('EXAMINE INBOX')).toContain('* 1 RECENT');
    expect(await a.run('SELECT INBOX')).toContain('* 1 RECENT');
    expect(await b.run('EXAMINE INBOX')).toContain('* 0 RECENT');
    // A message delivered while both have it selected is recent only for the first told.
    expect(await b.run('SELECT INBOX')).toContain('* 0 RECENT');
    await append(b, 'Drafts', message('elsewhere'));
    // The appending session hears of it first (at its own APPEND reply) and takes \Recent.
    expect((await append(a, 'INBOX', message('r2'))).slice(0, 2)).toEqual(['* 2 EXISTS', '* 2 RECENT']);
    expect(await b.run('NOOP')).toEqual(['* 2 EXISTS', 'T OK NOOP completed']);
    expect(await b.run('FETCH 2 FLAGS')).toEqual(['* 2 FETCH (FLAGS ())', 'T OK FETCH completed']);
    a.close();
    b.close();
  });

  it('FETCH sets \\Seen for BODY[] (not BODY.PEEK) and reports FLAGS; partial fetch; SEARCH with OR/NOT, sets and CHARSET', async () => {
    await srv.app.directory.addUser('fetch@example.test', 'pw');
    await srv.app.store.ensureUser({ domain: 'example.test', localPart: 'fetch' });
    const i = await Imap.login(srv, 'fetch@example.test', 'pw');
    await append(i, 'INBOX', message('alpha', 'First body.\r\n'));
    await append(i, 'INBOX', message('beta', 'Second body.\r\n'), '\\Flagged');
    await append(i, 'INBOX', message('gamma', 'Third body.\r\n'), '\\Seen');
    await i.cmd('SELECT INBOX');
    expect(await i.run('FETCH 1 (BODY.PEEK[TEXT])')).toEqual(['* 1 FETCH (BODY[TEXT] {13}', 'First body.', ')', 'T OK FETCH completed']);
    // Bodies are always literals (streamed); the flags changed, so FLAGS comes along.
    expect(await i.run('FETCH 1 (BODY[TEXT]<6.4>)')).toEqual(['* 1 FETCH (BODY[TEXT]<6> {4}', 'body FLAGS (\\Seen \\Recent))', 'T OK FETCH completed']);
    expect(await i.run('FETCH 1 (BODY[TEXT]<6.4>)')).toEqual(['* 1 FETCH (BODY[TEXT]<6> {4}', 'body)', 'T OK FETCH completed']);
    expect(await i.run('UID FETCH 2 (RFC822.SIZE)')).toEqual([expect.stringMatching(/^\* 2 FETCH \(UID 2 RFC822\.SIZE \d+\)$/), 'T OK UID FETCH completed']);
    expect(await i.run('SEARCH OR FLAGGED SUBJECT gamma')).toEqual(['* SEARCH 2 3', 'T OK SEARCH completed']);
    expect(await i.run('SEARCH NOT SEEN')).toEqual(['* SEARCH 2', 'T OK SEARCH completed']);
    expect(await i.run('SEARCH 2:* UNFLAGGED')).toEqual(['* SEARCH 3', 'T OK SEARCH completed']);
    expect(await i.run('UID SEARCH CHARSET UTF-8 BODY "Second"')).toEqual(['* SEARCH 2', 'T OK UID SEARCH completed']);
    expect(await i.run('SEARCH CHARSET KOI8-R SUBJECT x')).toEqual(['T NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset']);
    expect(await i.run('SEARCH SUBJECT nothing-like-this')).toEqual(['* SEARCH', 'T OK SEARCH completed']);
    // APPEND keeps the internal date it is given (RFC 3501 6.3.11).
    const dated = message('dated');
    expect((await i.cmd(`APPEND INBOX (\\Seen) "05-Mar-2021 08:09:10 +0100" {${dated.length}+}\r\n${dated}`)).at(-1)).toMatch(/OK \[APPENDUID \d+ 4\]/);
    expect(await i.run('UID FETCH 4 (INTERNALDATE FLAGS)')).toEqual([
      expect.stringMatching(/^\* 4 FETCH \(UID 4 INTERNALDATE "0?5-Mar-2021 0?7:09:10 \+0000" FLAGS \(\\Seen \\Recent\)\)$/),
      'T OK UID FETCH completed',
    ]);
    expect(await i.run('SEARCH BEFORE 1-Jan-2022')).toEqual(['* SEARCH 4', 'T OK SEARCH completed']);
    i.close();
  });

  it('APPEND over the user\'s quota is refused with [OVERQUOTA]', async () => {
    await srv.addUser('small@example.test', 'pw', { quotaMb: 1 });
    const i = await Imap.login(srv, 'small@example.test', 'pw');
    const big = message('big', 'x'.repeat(700 * 1024) + '\r\n');
    expect((await append(i, 'INBOX', big)).at(-1)).toMatch(/^t\d+ OK \[APPENDUID \d+ 1\] APPEND completed$/);
    expect((await append(i, 'INBOX', big)).at(-1)).toMatch(/^t\d+ NO \[OVERQUOTA\] Quota exceeded$/);
    expect(await i.run('STATUS INBOX (MESSAGES)')).toEqual(['* STATUS "INBOX" (MESSAGES 1)', 'T OK STATUS completed']);
    i.close();
  });
});
