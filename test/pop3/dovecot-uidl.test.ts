// UIDL compatibility with Dovecot (Debian's dovecot-pop3d, default pop3_uidl_format
// %08Xu%08Xv) on a Maildir that Dovecot wrote: a client migrated from Dovecot must see the
// same UIDLs from us, or it would download everything again. Also compared: STAT/LIST sizes
// and the RETR bytes on the wire, and that a deletion made over our POP3 is what Dovecot
// then sees.
import { access } from 'node:fs/promises';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dovecotAvailable, startDovecot, serveDovecotMaildir, type Dovecot } from '../helpers/dovecot.js';
import type { TestServer } from '../helpers/app.js';
import { japaneseMessage, multipartMessage } from '../helpers/messages.js';
import { INSTALL_SCRIPT } from '../helpers/peers.js';
import { Pop3Wire } from './wire-client.js';

const available = (await dovecotAvailable()) && (await access('/usr/lib/dovecot/pop3').then(() => true, () => false));
if (!available) {
  const msg = `Dovecot's POP3 (dovecot-pop3d) is not installed: skipping the UIDL comparison. Run ${INSTALL_SCRIPT} to install it.`;
  if (process.env.CI === 'true') describe('dovecot pop3 uidl', () => it('needs dovecot-pop3d in CI', () => expect.fail(msg)));
  else console.warn(`\n!!!!!!!!\n${msg}\n!!!!!!!!\n`);
}

const OUR_PW = 'ours-password';

interface View {
  stat: string;
  list: string[];
  uidl: string[];
  retr: Buffer[];
}

async function view(port: number, user: string, password: string, opts: { dele?: number } = {}): Promise<View> {
  const c = await Pop3Wire.connect(port);
  try {
    expect(await c.line()).toMatch(/^\+OK/);
    expect(await c.login(user, password)).toMatch(/^\+OK/);
    const stat = await c.cmd('STAT');
    expect(await c.cmd('LIST')).toMatch(/^\+OK/);
    const list = await c.multiline();
    expect(await c.cmd('UIDL')).toMatch(/^\+OK/);
    const uidl = await c.multiline();
    const retr: Buffer[] = [];
    for (let i = 1; i <= list.length; i++) {
      expect(await c.cmd(`RETR ${i}`)).toMatch(/^\+OK/);
      retr.push(await c.rawMultiline());
    }
    if (opts.dele) expect(await c.cmd(`DELE ${opts.dele}`)).toMatch(/^\+OK/);
    expect(await c.cmd('QUIT')).toMatch(/^\+OK/);
    return { stat, list, uidl, retr };
  } finally {
    c.close();
  }
}

describe.skipIf(!available)('UIDL equality with Dovecot POP3', () => {
  let dovecot: Dovecot;
  let srv: TestServer | undefined;

  beforeAll(async () => {
    dovecot = await startDovecot({ pop3: true });
  });
  afterAll(async () => {
    await srv?.stop();
    await dovecot?.stop();
  });

  async function startOurs(): Promise<TestServer> {
    return serveDovecotMaildir(dovecot, OUR_PW);
  }

  it('gives the same UIDLs, sizes and RETR bytes as Dovecot, across a restart and a deletion', async () => {
    // Dovecot writes the Maildir (its LMTP), as on the server being migrated from.
    const t = nodemailer.createTransport({ host: '127.0.0.1', port: dovecot.lmtpPort, lmtp: true, name: 'dovecot.test' });
    const raws = [
      japaneseMessage({ id: 'd-1' }),
      Buffer.from('Subject: dots\r\n\r\n.one\r\n..two\r\n.\r\nend\r\n'),
      multipartMessage({ id: 'd-3', attachmentBytes: 5000 }),
      japaneseMessage({ id: 'd-4', subject: '四通目' }),
    ];
    try {
      for (const raw of raws) await t.sendMail({ envelope: { from: 'x@example.jp', to: [dovecot.user] }, raw });
    } finally {
      t.close();
    }
    const theirs = await view(dovecot.pop3Port, dovecot.user, dovecot.password);
    expect(theirs.uidl).toHaveLength(4);
    // %08Xu%08Xv: UID 1..4, then the mailbox's UIDVALIDITY, lower-case hex.
    expect(theirs.uidl.map((l) => l.slice(0, 10))).toEqual(['1 00000001', '2 00000002', '3 00000003', '4 00000004']);
    expect(theirs.uidl.every((l) => /^\d+ [0-9a-f]{16}$/.test(l))).toBe(true);

    // Ours, on the same files, as the shared mail uid (as in production).
    srv = await startOurs();
    const ours = await dovecot.asMailUser(() => view(srv!.port('pop3'), dovecot.user, OUR_PW));
    expect(ours.uidl).toEqual(theirs.uidl);
    expect(ours.list).toEqual(theirs.list);
    expect(ours.stat).toBe(theirs.stat);
    ours.retr.forEach((r, i) => expect(r.equals(theirs.retr[i]!), `RETR ${i + 1}`).toBe(true));

    // Stable across a restart of our daemon; this time message 2 is deleted at QUIT.
    await srv.stop();
    srv = await startOurs();
    const again = await dovecot.asMailUser(() => view(srv!.port('pop3'), dovecot.user, OUR_PW, { dele: 2 }));
    expect(again.uidl).toEqual(theirs.uidl);

    // Dovecot sees the deletion and still agrees on the remaining UIDLs.
    const after = await view(dovecot.pop3Port, dovecot.user, dovecot.password);
    const strip = (l: string) => l.split(' ')[1];
    expect(after.uidl.map(strip)).toEqual(theirs.uidl.filter((_, i) => i !== 1).map(strip));
  });
});
