// Dovecot's LMTP and ours delivering into the same Maildir at the same time, as happens
// while a site migrates: both take Dovecot's dotlock on dovecot-uidlist, so every message
// gets one UID, no UID is handed out twice, and Dovecot's IMAP and our store agree on
// which message holds which UID.
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dovecotAvailable, ImapClient, startDovecot, serveDovecotMaildir, type Dovecot } from '../helpers/dovecot.js';
import type { TestServer } from '../helpers/app.js';
import { japaneseMessage } from '../helpers/messages.js';
import { INSTALL_SCRIPT } from '../helpers/peers.js';

const available = await dovecotAvailable();
if (!available) {
  const msg = `Dovecot is not installed: skipping the concurrent delivery test. Run ${INSTALL_SCRIPT} to install it.`;
  if (process.env.CI === 'true') describe('dovecot concurrent delivery', () => it('needs dovecot in CI', () => expect.fail(msg)));
  else console.warn(`\n!!!!!!!!\n${msg}\n!!!!!!!!\n`);
}

const N = 30;

describe.skipIf(!available)('dovecot and ours delivering at once', () => {
  let dovecot: Dovecot;
  let srv: TestServer;

  beforeAll(async () => {
    dovecot = await startDovecot();
    srv = await serveDovecotMaildir(dovecot, 'not-used-here');
  });

  afterAll(async () => {
    await srv?.stop();
    await dovecot?.stop();
  });

  it('gives every message one UID that both sides agree on', async () => {
    const send = (port: number, i: number, who: string) => {
      const t = nodemailer.createTransport({ host: '127.0.0.1', port, lmtp: true, name: `${who}.test` });
      return t
        .sendMail({ envelope: { from: 'sender@example.jp', to: [dovecot.user] }, raw: japaneseMessage({ id: `${who}-${i}` }) })
        .finally(() => t.close());
    };
    // Both daemons write as the shared mail uid, as in production.
    const results = await dovecot.asMailUser(() =>
      Promise.all(
        Array.from({ length: N }, (_, i) => [send(dovecot.lmtpPort, i, 'dovecot'), send(srv.lmtpPort, i, 'ours')]).flat(),
      ),
    );
    expect(results.every((r) => r.accepted.length === 1)).toBe(true);

    const user = { domain: 'example.test', localPart: 'alice' };
    const ours = await dovecot.asMailUser(() => srv.app.store.listMessages(user, 'INBOX'));
    expect(ours.messages).toHaveLength(2 * N);
    expect(new Set(ours.messages.map((m) => m.uid)).size).toBe(2 * N);

    // Dovecot's view: the same UIDs, each holding the same Message-ID as ours.
    const imap = await ImapClient.connect(dovecot.imapPort);
    try {
      await imap.login(dovecot.user, dovecot.password);
      const sel = await imap.command('SELECT INBOX');
      expect(sel.untagged, JSON.stringify(sel.untagged)).toContain(`* ${2 * N} EXISTS`);
      const uidv = sel.untagged.map((l) => /UIDVALIDITY (\d+)/.exec(l)?.[1]).find(Boolean);
      expect(Number(uidv)).toBe(ours.uidValidity);
      const f = await imap.command('UID FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])');
      const theirs = new Map<number, string>();
      f.untagged.forEach((line, i) => {
        const uid = /UID (\d+)/.exec(line)?.[1];
        const id = /<([^>]+)>/.exec(f.literals[i]?.toString('latin1') ?? '')?.[1];
        if (uid && id) theirs.set(Number(uid), id);
      });
      expect(theirs.size).toBe(2 * N);
      for (const m of ours.messages) {
        const chunks: Buffer[] = [];
        for await (const c of await dovecot.asMailUser(() => srv.app.store.openMessage(user, 'INBOX', m.uid))) chunks.push(c as Buffer);
        const id = /Message-ID: <([^>]+)>/i.exec(Buffer.concat(chunks).toString('latin1'))?.[1];
        expect(theirs.get(m.uid)).toBe(id);
      }
      // Every message from each side arrived.
      const ids = [...theirs.values()];
      for (let i = 0; i < N; i++) {
        expect(ids).toContain(`dovecot-${i}@example.jp`);
        expect(ids).toContain(`ours-${i}@example.jp`);
      }
    } finally {
      await imap.close();
    }
  });
});
