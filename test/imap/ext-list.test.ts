// LIST-EXTENDED (RFC 5258), LIST-STATUS (RFC 5819), SPECIAL-USE selection and
// CREATE-SPECIAL-USE (RFC 6154), STATUS=SIZE (RFC 8438) and APPENDLIMIT (RFC 7889): exact
// replies on the wire, then imapflow, which uses LIST-EXTENDED and LIST-STATUS when offered,
// and the same commands against Dovecot 2.3 for equal answers.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from '../helpers/app.js';
import { dovecotAvailable, startDovecot, type Dovecot } from '../helpers/dovecot.js';
import { ImapWire, type ImapResponse } from '../helpers/imap-wire.js';
import { append, Imap, message, PASS, startImapServer, USER } from './client.js';

let srv: TestServer;
let i: Imap;
beforeAll(async () => {
  srv = await startImapServer({ imap: { maxLiteralBytes: 100_000 } });
  i = await Imap.login(srv);
  for (const n of ['Projects.Alpha', 'Projects.Beta.Old', 'Lists', 'Gone']) expect((await i.cmd(`CREATE ${n}`)).at(-1)).toMatch(/ OK /);
  for (const n of ['Projects.Beta.Old', 'Gone']) expect((await i.cmd(`SUBSCRIBE ${n}`)).at(-1)).toMatch(/ OK /);
  // Subscriptions outlive their mailbox (RFC 3501 6.3.6): "Gone" stays subscribed.
  expect((await i.cmd('DELETE Gone')).at(-1)).toMatch(/ OK /);
});
afterAll(async () => {
  i?.close();
  await srv?.stop();
});

describe('LIST-EXTENDED', () => {
  it("Thunderbird's LIST (SUBSCRIBED) RETURN (SPECIAL-USE): subscribed names, missing ones \\NonExistent", async () => {
    expect(await i.run('LIST (SUBSCRIBED) "" "*" RETURN (SPECIAL-USE)')).toEqual([
      '* LIST (\\Subscribed) "." "INBOX"',
      '* LIST (\\Subscribed \\Archive) "." "Archive"',
      '* LIST (\\Subscribed \\Drafts) "." "Drafts"',
      '* LIST (\\Subscribed \\NonExistent) "." "Gone"',
      '* LIST (\\Subscribed \\Junk) "." "Junk"',
      '* LIST (\\Subscribed) "." "Projects.Beta.Old"',
      '* LIST (\\Subscribed \\Sent) "." "Sent"',
      '* LIST (\\Subscribed \\Trash) "." "Trash"',
      'T OK LIST completed',
    ]);
    // LSUB keeps its RFC 3501 form: unsubscribed parents \Noselect, no extended attributes.
    expect(await i.run('LSUB "" Projects*')).toEqual([
      '* LSUB (\\Noselect) "." "Projects"',
      '* LSUB (\\Noselect) "." "Projects.Beta"',
      '* LSUB () "." "Projects.Beta.Old"',
      'T OK LSUB completed',
    ]);
  });

  it('RECURSIVEMATCH reports a parent of subscribed names with CHILDINFO; several patterns; CHILDREN on request', async () => {
    expect(await i.run('LIST (SUBSCRIBED RECURSIVEMATCH) "" "P%"')).toEqual([
      '* LIST (\\NonExistent) "." "Projects" ("CHILDINFO" ("SUBSCRIBED"))',
      'T OK LIST completed',
    ]);
    // The child matches too, so the parent is not reported for it (RFC 5258 3.5).
    expect(await i.run('LIST (SUBSCRIBED RECURSIVEMATCH) "" "Projects*"')).toEqual([
      '* LIST (\\Subscribed) "." "Projects.Beta.Old"',
      'T OK LIST completed',
    ]);
    expect(await i.run('LIST "" ("INBOX" "Lists" "Proj*" "Lis%") RETURN (CHILDREN)')).toEqual([
      '* LIST (\\HasNoChildren) "." "INBOX"',
      '* LIST (\\HasNoChildren) "." "Lists"',
      '* LIST (\\NonExistent \\HasChildren) "." "Projects"',
      '* LIST (\\HasNoChildren) "." "Projects.Alpha"',
      '* LIST (\\NonExistent \\HasChildren) "." "Projects.Beta"',
      '* LIST (\\HasNoChildren) "." "Projects.Beta.Old"',
      'T OK LIST completed',
    ]);
    // Without RETURN options an extended LIST carries only the base attributes (as Dovecot).
    expect(await i.run('LIST () "" "Lists"')).toEqual(['* LIST () "." "Lists"', 'T OK LIST completed']);
    // RFC 5258 3: the empty pattern is no delimiter request in an extended LIST.
    expect(await i.run('LIST () "" ""')).toEqual(['T OK LIST completed']);
    expect(await i.run('LIST (RECURSIVEMATCH) "" *')).toEqual(['T BAD Error in IMAP command LIST: RECURSIVEMATCH needs another selection option (RFC 5258 3.1)']);
    expect(await i.run('LIST (FOO) "" *')).toEqual(['T BAD Error in IMAP command LIST: Unknown LIST selection option FOO']);
  });

  it('SPECIAL-USE selection; CREATE with USE (RFC 6154 3) persists, follows RENAME, and ends with DELETE', async () => {
    expect(await i.run('CREATE "Old Mail" (USE (\\Archive))')).toEqual(['T OK CREATE completed']);
    expect(await i.run('CREATE Everything (USE (\\All))')).toEqual(['T NO [USEATTR] Special use \\All is not supported']);
    expect(await i.run('CREATE Both (USE (\\Sent \\Trash))')).toEqual(['T NO [USEATTR] Only one special use per mailbox']);
    expect(await i.run('LIST "" Both')).toEqual(['T OK LIST completed']);
    expect(await i.run('LIST (SPECIAL-USE) "" "*"')).toEqual([
      '* LIST (\\Archive) "." "Archive"',
      '* LIST (\\Drafts) "." "Drafts"',
      '* LIST (\\Junk) "." "Junk"',
      '* LIST (\\Archive) "." "Old Mail"',
      '* LIST (\\Sent) "." "Sent"',
      '* LIST (\\Trash) "." "Trash"',
      'T OK LIST completed',
    ]);
    // Kept in our own file beside `subscriptions`, levels in modified UTF-7 as Dovecot's files.
    const file = await readFile(join(srv.mailRoot, 'example.test', 'alice', 'mailserver-special-use'), 'utf8');
    expect(file).toBe('V\t1\n\n\\Archive\tOld Mail\n');
    expect(await i.run('RENAME "Old Mail" Attic')).toEqual(['T OK RENAME completed']);
    expect(await i.run('LIST "" Attic')).toEqual(['* LIST (\\HasNoChildren \\Archive) "." "Attic"', 'T OK LIST completed']);
    expect(await i.run('DELETE Attic')).toEqual(['T OK DELETE completed']);
    expect(await i.run('CREATE Attic')).toEqual(['T OK CREATE completed']);
    expect(await i.run('LIST "" Attic')).toEqual(['* LIST (\\HasNoChildren) "." "Attic"', 'T OK LIST completed']);
    expect(await i.run('DELETE Attic')).toEqual(['T OK DELETE completed']);
  });
});

describe('LIST-STATUS, STATUS=SIZE, APPENDLIMIT', () => {
  it('STATUS after each selectable LIST entry, none for \\NonExistent; SIZE sums RFC822.SIZE', async () => {
    const one = message('one');
    const two = message('two', 'A longer body.\r\n');
    await append(i, 'Lists', one, '\\Seen');
    await append(i, 'Lists', two);
    const size = Buffer.byteLength(one) + Buffer.byteLength(two);
    expect(await i.run('LIST "" "L%" RETURN (STATUS (MESSAGES UNSEEN SIZE))')).toEqual([
      '* LIST () "." "Lists"',
      `* STATUS "Lists" (MESSAGES 2 UNSEEN 1 SIZE ${size})`,
      'T OK LIST completed',
    ]);
    expect(await i.run('LIST "" Proj% RETURN (CHILDREN STATUS (MESSAGES))')).toEqual([
      '* LIST (\\NonExistent \\HasChildren) "." "Projects"',
      'T OK LIST completed',
    ]);
    expect(await i.run('STATUS Lists (SIZE APPENDLIMIT MESSAGES)')).toEqual([`* STATUS "Lists" (SIZE ${size} APPENDLIMIT 100000 MESSAGES 2)`, 'T OK STATUS completed']);
  });

  it('APPENDLIMIT is announced and a larger APPEND is refused before it is sent', async () => {
    const caps = (await i.cmd('CAPABILITY'))[0]!;
    expect(caps.split(' ')).toEqual(expect.arrayContaining(['LIST-EXTENDED', 'LIST-STATUS', 'STATUS=SIZE', 'CREATE-SPECIAL-USE', 'APPENDLIMIT=100000']));
    i.c.send('big APPEND INBOX {100001}');
    expect(await i.c.line()).toBe('big NO [TOOBIG] Literal too large');
    expect((await append(i, 'INBOX', message('small'))).at(-1)).toMatch(/ OK \[APPENDUID /);
  });
});

describe('imapflow', () => {
  it('lists with special use, subscription and status in one LIST-STATUS round trip', async () => {
    const client = new ImapFlow({ host: '127.0.0.1', port: srv.port('imap'), secure: false, tls: { rejectUnauthorized: false }, auth: { user: USER, pass: PASS }, logger: false });
    await client.connect();
    const boxes = await client.list({ statusQuery: { messages: true, unseen: true } });
    const lists = boxes.find((b) => b.path === 'Lists')!;
    expect(lists.status).toMatchObject({ messages: 2, unseen: 1 });
    expect(lists.subscribed).toBeFalsy();
    expect(boxes.find((b) => b.path === 'Sent')).toMatchObject({ specialUse: '\\Sent', subscribed: true });
    expect(boxes.find((b) => b.path === 'Projects.Beta.Old')).toMatchObject({ subscribed: true });
    await client.logout();
  });
});

const haveDovecot = await dovecotAvailable();

describe.skipIf(!haveDovecot)('the same answers as Dovecot 2.3', () => {
  let dovecot: Dovecot;
  let ours: TestServer;
  beforeAll(async () => {
    dovecot = await startDovecot({ separator: '.' });
    ours = await startImapServer();
  });
  afterAll(async () => {
    await ours?.stop();
    await dovecot?.stop();
  });

  /** Reply lines in a comparable form: names unquoted, the CHILDINFO tag unquoted, sorted (Dovecot lists in directory order). */
  function normal(r: ImapResponse, tag: string): string[] {
    return r.untagged
      .filter((l) => !/^\* (FLAGS|OK) /.test(l))
      .map((l) => l.replace(/ "([^"]*)"( \(|$)/, ' $1$2').replace('("CHILDINFO" ', '(CHILDINFO ').replace(/\(TAG "[^"]+"\)/, `(TAG "${tag}")`))
      .sort();
  }

  it('extended LIST, LIST-STATUS and ESEARCH replies match', async () => {
    const d = await ImapWire.connect(dovecot.imapPort);
    const o = await ImapWire.connect(ours.port('imap'));
    const both = async (cmd: string): Promise<[string[], string[]]> => {
      const [rd, ro] = [await d.command(cmd), await o.command(cmd)];
      expect(ro.tagged.split(' ')[1], `${cmd}: ${ro.tagged}`).toBe(rd.tagged.split(' ')[1]);
      return [normal(rd, 'T'), normal(ro, 'T')];
    };
    expect((await d.command(`LOGIN ${dovecot.user} ${dovecot.password}`)).tagged).toMatch(/ OK /);
    expect((await o.command(`LOGIN ${USER} ${PASS}`)).tagged).toMatch(/ OK /);
    for (const n of ['Projects.Alpha', 'Projects.Beta.Old', 'Lists', 'Gone']) await both(`CREATE ${n}`);
    for (const n of ['Projects.Beta.Old', 'Gone']) await both(`SUBSCRIBE ${n}`);
    await both('DELETE Gone');
    for (const m of [message('one'), message('two', 'Longer.\r\n'), message('three')]) {
      await both(`APPEND Lists (\\Seen) {${Buffer.byteLength(m)}+}\r\n${m}`);
    }
    await both('APPEND Lists {5+}\r\nx\r\n\r\n');
    const cmds = [
      'LIST (SUBSCRIBED) "" ("P*" "G*" "Lists")',
      'LIST (SUBSCRIBED) "" ("P*" "G*" "Lists") RETURN (CHILDREN)',
      'LIST (SUBSCRIBED RECURSIVEMATCH) "" "P%"',
      'LIST (SUBSCRIBED RECURSIVEMATCH) "" "Projects*"',
      'LIST (SUBSCRIBED RECURSIVEMATCH) "" "Projects.%" RETURN (CHILDREN)',
      'LIST "" ("Lists" "Proj*" "Lis%") RETURN (CHILDREN SUBSCRIBED)',
      'LIST () "" "Lists"',
      'LIST () "" ""',
      // Items in Dovecot's fixed order: we answer in the order asked, Dovecot in its own.
      'LIST "" "L%" RETURN (STATUS (MESSAGES UIDNEXT UNSEEN SIZE))',
      'LIST "" "Proj%" RETURN (CHILDREN STATUS (MESSAGES))',
      'STATUS Lists (MESSAGES SIZE)',
      'SELECT Lists',
      'SEARCH RETURN (MIN MAX COUNT ALL) SEEN',
      'UID SEARCH RETURN () ALL',
      'SEARCH RETURN (COUNT) UNSEEN',
      'SEARCH RETURN (MIN MAX ALL) KEYWORD nothing',
    ];
    for (const cmd of cmds) {
      const [dv, ov] = await both(cmd);
      if (cmd.startsWith('SELECT')) continue; // UIDVALIDITY and the greeting texts differ by design
      expect(ov, cmd).toEqual(dv);
    }
    d.close();
    o.close();
  });
});
