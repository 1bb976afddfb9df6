// Dovecot compatibility of the IMAP view: a mailbox written by a real Dovecot is served with
// the same UIDs, UIDVALIDITY, flags, keywords and folder names; what we change (flags,
// keywords, appends, expunges, new and renamed folders) Dovecot reads back the same.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dovecotAvailable, ImapClient, parseFetchFlags, startDovecot, serveDovecotMaildir, type Dovecot } from '../helpers/dovecot.js';
import type { TestServer } from '../helpers/app.js';
import { japaneseMessage } from '../helpers/messages.js';
import { INSTALL_SCRIPT } from '../helpers/peers.js';
import { LineClient } from '../helpers/line-client.js';

const available = await dovecotAvailable();
if (!available) {
  const msg = `Dovecot is not installed: skipping the IMAP compatibility test. Run ${INSTALL_SCRIPT} to install it.`;
  if (process.env.CI === 'true') describe('dovecot imap compatibility', () => it('needs dovecot in CI', () => expect.fail(msg)));
  else console.warn(`\n!!!!!!!!\n${msg}\n!!!!!!!!\n`);
}

const literal = (s: string | Buffer) => `{${Buffer.byteLength(s)}+}\r\n${Buffer.isBuffer(s) ? s.toString('latin1') : s}`;
const msg = (subject: string) => `From: a@example.test\r\nSubject: ${subject}\r\n\r\nbody of ${subject}\r\n`;

interface Snapshot {
  list: string[];
  boxes: Record<string, { status: string; flags: Array<[number, string[]]> }>;
}

async function snapshot(port: number, user: string, password: string, boxes: string[]): Promise<Snapshot> {
  const c = await ImapClient.connect(port);
  try {
    await c.login(user, password);
    const list = (await c.command('LIST "" *')).untagged.map((l) => /"([^"]+)"$/.exec(l)?.[1] ?? /(\S+)$/.exec(l)![1]!).sort();
    const out: Snapshot = { list, boxes: {} };
    for (const b of boxes) {
      const status = (await c.command(`STATUS ${b} (MESSAGES UIDNEXT UIDVALIDITY)`)).untagged[0]!.replace(/^\* STATUS "?[^ "]+"? /, '');
      await c.command(`EXAMINE ${b}`);
      const fetched = await c.command('UID FETCH 1:* (UID FLAGS)');
      const flags = [...parseFetchFlags(fetched.untagged).entries()].map(([u, f]) => [u, [...f].sort()] as [number, string[]]);
      out.boxes[b] = { status, flags: flags.sort((x, y) => x[0] - y[0]) };
    }
    return out;
  } finally {
    await c.close();
  }
}

describe.skipIf(!available)('IMAP on a Dovecot Maildir', () => {
  let dovecot: Dovecot;
  let srv: TestServer;

  beforeAll(async () => {
    dovecot = await startDovecot({ separator: '.' });
    srv = await serveDovecotMaildir(dovecot);
  });
  afterAll(async () => {
    await srv?.stop();
    await dovecot?.stop();
  });

  it('serves what Dovecot wrote unchanged, and Dovecot reads back what we changed', async () => {
    // Dovecot writes a mailbox: folders, flags, keywords, an 8-bit message.
    const d = await ImapClient.connect(dovecot.imapPort);
    await d.login(dovecot.user, dovecot.password);
    await d.command('CREATE Work.Sub');
    await d.command('CREATE Archive');
    await d.command(`APPEND INBOX (\\Seen $Label1) ${literal(msg('one'))}`);
    await d.command(`APPEND INBOX (\\Flagged) ${literal(msg('two'))}`);
    await d.command(`APPEND INBOX (Junk $Label1) ${literal(japaneseMessage({ subject: '日本語' }))}`);
    await d.command(`APPEND INBOX ${literal(msg('four'))}`);
    await d.command(`APPEND Work.Sub (\\Answered) ${literal(msg('sub'))}`);
    await d.close();
    const boxes = ['INBOX', 'Work.Sub'];
    const before = await snapshot(dovecot.imapPort, dovecot.user, dovecot.password, boxes);
    expect(before.boxes.INBOX!.flags.length).toBe(4);

    await dovecot.asMailUser(async () => {
      // Our view of the same files: same names, UIDs, UIDVALIDITY, UIDNEXT, flags, keywords.
      const ours = await snapshot(srv.port('imap'), dovecot.user, dovecot.password, boxes);
      expect(ours.boxes).toEqual(before.boxes);
      for (const name of ['INBOX', 'Work', 'Work.Sub', 'Archive']) expect(ours.list).toContain(name);

      // Our changes.
      const c = await ImapClient.connect(srv.port('imap'));
      await c.login(dovecot.user, dovecot.password);
      await c.command('SELECT INBOX');
      await c.command('UID STORE 1 +FLAGS (\\Answered $Label2)');
      await c.command('UID STORE 2 -FLAGS (\\Flagged)');
      await c.command('UID STORE 3 FLAGS (\\Seen)');
      await c.command('UID STORE 4 +FLAGS (\\Deleted)');
      await c.command('EXPUNGE');
      await c.command(`APPEND INBOX (\\Draft Ours) ${literal(msg('ours'))}`);
      await c.command('CREATE Ours.New');
      await c.command('RENAME Work.Sub Work.Renamed');
      await c.close();
    });

    const renamed = ['INBOX', 'Work.Renamed'];
    const ours = await dovecot.asMailUser(() => snapshot(srv.port('imap'), dovecot.user, dovecot.password, renamed));
    expect(ours.boxes.INBOX!.flags).toEqual([
      [1, ['$Label1', '$Label2', '\\Answered', '\\Seen']],
      [2, []],
      [3, ['\\Seen']],
      [5, ['Ours', '\\Draft']],
    ]);
    const after = await snapshot(dovecot.imapPort, dovecot.user, dovecot.password, renamed);
    expect(after.boxes).toEqual(ours.boxes);
    expect(after.boxes['Work.Renamed']!.status).toBe(before.boxes['Work.Sub']!.status); // UIDVALIDITY travels
    for (const name of ['Ours.New', 'Work.Renamed']) expect(after.list).toContain(name);
    expect(after.list).not.toContain('Work.Sub');
  });

  it('notices what Dovecot changes on disk while our client is IDLE', async () => {
    await dovecot.asMailUser(async () => {
      const c = await ImapClient.connect(srv.port('imap'));
      await c.login(dovecot.user, dovecot.password);
      const sel = await c.command('SELECT INBOX');
      const exists = Number(/^\* (\d+) EXISTS/m.exec(sel.untagged.join('\n'))![1]);
      await c.close();
      // A raw socket for IDLE: the helper's client reads whole commands only.
      const idle = await LineClient.connect(srv.port('imap'));
      await idle.line();
      idle.send(`a LOGIN ${dovecot.user} ${dovecot.password}`);
      await idle.line();
      idle.send('b SELECT INBOX');
      while (!(await idle.line())!.startsWith('b OK')) {
        /* untagged SELECT data */
      }
      idle.send('c IDLE');
      expect(await idle.line()).toBe('+ idling');
      const d = await ImapClient.connect(dovecot.imapPort);
      await d.login(dovecot.user, dovecot.password);
      await d.command(`APPEND INBOX ${literal(msg('from dovecot'))}`);
      await d.command('SELECT INBOX');
      await d.command('UID STORE 1 +FLAGS (\\Flagged)');
      await d.close();
      const pushed = [await idle.line(5000), await idle.line(5000)];
      expect(pushed).toContain(`* ${exists + 1} EXISTS`);
      idle.send('DONE');
      idle.close();
    });
  });
});
