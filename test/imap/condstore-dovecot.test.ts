// Modseqs for changes another program makes: a real Dovecot 2.3 on the same Maildir flags
// and expunges messages; our QRESYNC client, reconnecting, gets VANISHED (EARLIER) and the
// changed flags with a higher MODSEQ (RFC 7162 3.2.5).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from '../helpers/app.js';
import { dovecotAvailable, ImapClient, startDovecot, serveDovecotMaildir, type Dovecot } from '../helpers/dovecot.js';
import { INSTALL_SCRIPT } from '../helpers/peers.js';
import { Imap } from './client.js';

const available = await dovecotAvailable();
if (!available) {
  const msg = `Dovecot is not installed: skipping the CONDSTORE/Dovecot test. Run ${INSTALL_SCRIPT} to install it.`;
  if (process.env.CI === 'true') describe('condstore with dovecot', () => it('needs dovecot in CI', () => expect.fail(msg)));
  else console.warn(`\n!!!!!!!!\n${msg}\n!!!!!!!!\n`);
}

const literal = (s: string) => `{${Buffer.byteLength(s)}+}\r\n${s}`;
const msg = (subject: string) => `From: a@example.test\r\nSubject: ${subject}\r\n\r\nbody of ${subject}\r\n`;

describe.skipIf(!available)('CONDSTORE/QRESYNC with Dovecot changing the Maildir', () => {
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

  it('stamps Dovecot’s flag changes and expunges with new modseqs', async () => {
    const d = await ImapClient.connect(dovecot.imapPort);
    await d.login(dovecot.user, dovecot.password);
    for (const s of ['one', 'two', 'three', 'four']) await d.command(`APPEND INBOX ${literal(msg(s))}`);

    await dovecot.asMailUser(async () => {
      const a = await Imap.login(srv, dovecot.user, dovecot.password);
      await a.cmd('ENABLE QRESYNC');
      const sel = await a.cmd('SELECT INBOX');
      const uidValidity = Number(/UIDVALIDITY (\d+)/.exec(sel.join('\n'))![1]);
      const before = Number(/HIGHESTMODSEQ (\d+)/.exec(sel.join('\n'))![1]);
      a.close();

      await d.command('SELECT INBOX');
      await d.command('UID STORE 2 +FLAGS (\\Flagged)');
      await d.command('UID STORE 3 +FLAGS (\\Deleted)');
      await d.command('EXPUNGE');

      const b = await Imap.login(srv, dovecot.user, dovecot.password);
      await b.cmd('ENABLE QRESYNC');
      const resync = await b.run(`SELECT INBOX (QRESYNC (${uidValidity} ${before}))`);
      expect(resync).toContain('* VANISHED (EARLIER) 3');
      const fetches = resync.filter((l) => / FETCH /.test(l));
      expect(fetches).toEqual([expect.stringMatching(/^\* 2 FETCH \(UID 2 FLAGS \(\\Flagged\) MODSEQ \((\d+)\)\)$/)]);
      expect(Number(/MODSEQ \((\d+)\)/.exec(fetches[0]!)![1])).toBeGreaterThan(before);
      expect(Number(/HIGHESTMODSEQ (\d+)/.exec(resync.join('\n'))![1])).toBeGreaterThan(before);
      b.close();
    });
    await d.close();
  });
});
