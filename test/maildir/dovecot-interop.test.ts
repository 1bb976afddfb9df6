// Interoperability with the real Dovecot 2.3 on the same Maildir: what Dovecot wrote,
// we read with the same UIDs, UIDVALIDITY, flags and keywords; what we wrote, Dovecot
// serves with our UIDs and bytes.
import { Readable } from 'node:stream';
import nodemailer from 'nodemailer';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMaildirStore, type MaildirStore } from '../../src/maildir/store.js';
import type { MessageInfo } from '../../src/maildir/types.js';
import { dovecotAvailable, ImapClient, parseFetchFlags, startDovecot, type Dovecot } from '../helpers/dovecot.js';

const available = await dovecotAvailable();
if (!available) {
  const msg = 'Dovecot is not installed: skipping the Dovecot interop tests. Run .ci/install-test-deps.sh to install it.';
  if (process.env.CI === 'true') {
    describe('dovecot interop', () => it('needs dovecot in CI', () => expect.fail(msg)));
  } else {
    console.warn(`\n!!!!!!!!\n${msg}\n!!!!!!!!\n`);
  }
}

const alice = { domain: 'example.test', localPart: 'alice' };

function ourFlags(m: MessageInfo): string[] {
  return [...m.flags, ...m.keywords].sort();
}

function crlf(s: string): string {
  return s.replace(/\r?\n/g, '\r\n');
}

describe.skipIf(!available)('dovecot interop', () => {
  let dovecot: Dovecot;
  let store: MaildirStore;
  let imap: ImapClient;
  const ours = (fn: () => Promise<unknown>) => dovecot.asMailUser(fn as () => Promise<never>);

  beforeAll(async () => {
    dovecot = await startDovecot();
    store = createMaildirStore({ root: dovecot.mailRoot, hostname: 'ours.test', logger: pino({ level: 'silent' }) });
  });

  afterAll(async () => {
    await imap?.close();
    await store?.close();
    await dovecot?.stop();
  });

  async function session(): Promise<ImapClient> {
    const c = await ImapClient.connect(dovecot.imapPort);
    await c.login(dovecot.user, dovecot.password);
    return c;
  }

  async function dovecotView(c: ImapClient, mailbox = 'INBOX') {
    await c.command(`SELECT "${mailbox}"`);
    const flags = parseFetchFlags((await c.command('UID FETCH 1:* (FLAGS)')).untagged);
    const status = (await c.command(`STATUS "${mailbox}" (UIDNEXT UIDVALIDITY)`)).untagged.join(' ');
    return {
      flags,
      uidNext: Number(/UIDNEXT (\d+)/.exec(status)![1]),
      uidValidity: Number(/UIDVALIDITY (\d+)/.exec(status)![1]),
    };
  }

  const delivered = new Map<number, string>();

  it('reads what Dovecot delivered and flagged', async () => {
    const lmtp = nodemailer.createTransport({ host: '127.0.0.1', port: dovecot.lmtpPort, lmtp: true, secure: false, ignoreTLS: true });
    for (let i = 1; i <= 3; i++) {
      const raw = `From: bob@example.test\r\nTo: alice@example.test\r\nSubject: lmtp ${i}\r\nMessage-ID: <m${i}@example.test>\r\n\r\nBody ${i}\r\n`;
      await lmtp.sendMail({ envelope: { from: 'bob@example.test', to: [dovecot.user] }, raw });
      delivered.set(i, raw);
    }
    lmtp.close();

    imap = await session();
    await imap.command('SELECT INBOX');
    await imap.command('UID STORE 1 +FLAGS (\\Seen \\Flagged)');
    await imap.command('UID STORE 2 +FLAGS ($Label1 Junk NonJunk \\Answered)');
    await imap.command('UID STORE 3 +FLAGS ($Label1 $Forwarded \\Draft)');
    const view = await dovecotView(imap);
    expect([...view.flags.keys()]).toEqual([1, 2, 3]);

    const list = (await ours(() => store.listMessages(alice, 'INBOX'))) as Awaited<ReturnType<MaildirStore['listMessages']>>;
    expect(list.uidValidity).toBe(view.uidValidity);
    expect(list.uidNext).toBe(view.uidNext);
    expect(list.messages.map((m) => m.uid)).toEqual([1, 2, 3]);
    for (const m of list.messages) expect(ourFlags(m)).toEqual([...view.flags.get(m.uid)!].sort());
    expect(list.messages[1]!.keywords).toEqual(['$Label1', 'Junk', 'NonJunk']);
    // RFC822.SIZE from Dovecot equals our W= view.
    const sizes = (await imap.command('UID FETCH 1:* (RFC822.SIZE)')).untagged.map((l) => Number(/RFC822\.SIZE (\d+)/.exec(l)![1]));
    expect(list.messages.map((m) => m.vsize)).toEqual(sizes);
  });

  it('serves what we delivered and flagged with our UIDs, flags and bytes', async () => {
    const r4 = `From: carol@example.test\nSubject: ours 4\n\nLF only body\n`;
    const r5 = `From: carol@example.test\r\nSubject: ours 5\r\n\r\nCRLF body \u00e9\r\n`;
    const source = (s: string) => ({ open: () => Readable.from([Buffer.from(s)]) });
    const [d4, d5] = (await ours(async () => [
      await store.deliver(alice, 'INBOX', source(r4)),
      await store.deliver(alice, 'INBOX', source(r5), { flags: ['\\Seen'], keywords: ['Work'] }),
    ])) as Array<{ uid: number; uidValidity: number }>;
    expect([d4!.uid, d5!.uid]).toEqual([4, 5]);
    await ours(async () => {
      await store.setFlags(alice, 'INBOX', [1], 'remove', ['\\Flagged']);
      await store.setFlags(alice, 'INBOX', [1, 4], 'add', ['\\Answered'], ['Work', '$Label1']);
      await store.setFlags(alice, 'INBOX', [2], 'set', ['\\Seen'], ['NonJunk']);
    });

    await imap.close();
    imap = await session();
    const view = await dovecotView(imap);
    const list = (await ours(() => store.listMessages(alice, 'INBOX'))) as Awaited<ReturnType<MaildirStore['listMessages']>>;
    expect(view.uidValidity).toBe(d4!.uidValidity);
    expect(view.uidNext).toBe(6);
    expect(list.uidNext).toBe(6);
    expect([...view.flags.keys()]).toEqual([1, 2, 3, 4, 5]);
    for (const m of list.messages) expect([...view.flags.get(m.uid)!].sort()).toEqual(ourFlags(m));
    expect(view.flags.get(1)!.sort()).toEqual(['$Label1', 'Work', '\\Answered', '\\Seen'].sort());
    expect(view.flags.get(5)!.sort()).toEqual(['Work', '\\Seen'].sort());

    const body = await imap.command('UID FETCH 4:5 (BODY.PEEK[] RFC822.SIZE)');
    expect(body.literals.map((b) => b.toString('utf8'))).toEqual([crlf(r4), crlf(r5)]);
    const sizes = body.untagged.map((l) => Number(/RFC822\.SIZE (\d+)/.exec(l)![1]));
    expect(sizes).toEqual([Buffer.byteLength(crlf(r4)), Buffer.byteLength(crlf(r5))]);

    // And back: a flag change by Dovecot on a message we delivered.
    await imap.command('UID STORE 4 -FLAGS (Work)');
    await imap.command('UID STORE 3 +FLAGS (\\Deleted)');
    await imap.command('UID EXPUNGE 3');
    const after = (await ours(() => store.listMessages(alice, 'INBOX'))) as Awaited<ReturnType<MaildirStore['listMessages']>>;
    expect(after.messages.map((m) => m.uid)).toEqual([1, 2, 4, 5]);
    const m4 = after.messages.find((m) => m.uid === 4)!;
    expect(ourFlags(m4)).toEqual(['$Label1', '\\Answered']);
  });

  it('agrees on folders, modified UTF-7 names, UIDVALIDITY and subscriptions', async () => {
    await ours(async () => {
      await store.createMailbox(alice, '受信箱/アーカイブ');
      await store.createMailbox(alice, 'A&B');
      await store.setSubscribed(alice, '受信箱/アーカイブ', true);
      await store.deliver(alice, '受信箱/アーカイブ', { open: () => Readable.from([Buffer.from('Subject: jp\n\nx\n')]) });
    });
    // A fresh session: the running one keeps Dovecot's in-memory mailbox list.
    await imap.close();
    imap = await session();
    const listed = (await imap.command('LIST "" "*"')).untagged;
    expect(listed.some((l) => l.endsWith('"/" &U9dP4Xux-/&MKIw,DCrMKQw1g-'))).toBe(true);
    expect(listed.some((l) => l.endsWith('"/" A&-B'))).toBe(true);
    const lsub = (await imap.command('LSUB "" "*"')).untagged;
    expect(lsub.some((l) => l.endsWith('"/" &U9dP4Xux-/&MKIw,DCrMKQw1g-'))).toBe(true);
    expect(lsub.some((l) => l.endsWith('"/" A&-B'))).toBe(false);

    const boxes = (await ours(() => store.listMailboxes(alice))) as Awaited<ReturnType<MaildirStore['listMailboxes']>>;
    const jp = boxes.find((b) => b.name === '受信箱/アーカイブ')!;
    const view = await dovecotView(imap, '&U9dP4Xux-/&MKIw,DCrMKQw1g-');
    expect(view.uidValidity).toBe(jp.uidValidity);
    expect(view.uidNext).toBe(2);
    expect([...view.flags.keys()]).toEqual([1]);

    // Dovecot's own changes, read by us.
    await imap.command('CREATE "Dovecot made/&ZeVnLIqe-"');
    await imap.command('SUBSCRIBE "Dovecot made/&ZeVnLIqe-"');
    await imap.command('UNSUBSCRIBE "&U9dP4Xux-/&MKIw,DCrMKQw1g-"');
    const again = (await ours(() => store.listMailboxes(alice))) as Awaited<ReturnType<MaildirStore['listMailboxes']>>;
    expect(again.find((b) => b.name === 'Dovecot made/日本語')).toMatchObject({ subscribed: true });
    expect(again.find((b) => b.name === '受信箱/アーカイブ')).toMatchObject({ subscribed: false });
    // Folder UIDVALIDITY handed out through dovecot-uidvalidity never collides.
    expect(new Set(again.map((b) => b.uidValidity)).size).toBe(again.length);
  });

  it('notices Dovecot changing files through watch()', async () => {
    await imap.command('SELECT INBOX');
    const stop = store.watch(alice);
    await stop.ready;
    const external = new Promise((resolve) => {
      const off = store.onChange((c) => {
        if (c.type === 'external' && c.mailbox === 'INBOX') {
          off();
          resolve(c);
        }
      });
    });
    await imap.command('UID STORE 5 +FLAGS (\\Flagged)');
    await external;
    stop();
  });
});
