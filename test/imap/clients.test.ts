// Real IMAP clients against the running daemon: imapflow (Node, what many web/mobile stacks
// use) over STARTTLS, and Python's imaplib over implicit TLS.
import { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from '../helpers/app.js';
import { japaneseMessage, multipartMessage } from '../helpers/messages.js';
import { requirePeer, runPeer } from '../helpers/peers.js';
import { LineClient } from '../helpers/line-client.js';
import { PASS, startImapServer, USER } from './client.js';

let srv: TestServer;
beforeAll(async () => {
  srv = await startImapServer();
});
afterAll(async () => {
  await srv?.stop();
});

async function lmtpDeliver(msg: Buffer | string): Promise<void> {
  const c = await LineClient.connect(srv.lmtpPort);
  await c.reply();
  await c.command('LHLO test');
  await c.command('MAIL FROM:<bob@example.test>');
  await c.command(`RCPT TO:<${USER}>`);
  await c.command('DATA');
  const text = Buffer.isBuffer(msg) ? msg.toString('latin1') : msg;
  c.write(Buffer.from(text.replace(/\r?\n/g, '\r\n').replace(/^\./gm, '..') + '\r\n.\r\n', 'latin1'));
  const r = await c.reply();
  expect(r[0]).toMatch(/^250 /);
  c.close();
}

describe('imapflow', () => {
  it('logs in over STARTTLS, lists, appends, fetches, flags, searches, moves, and hears IDLE news', async () => {
    const client = new ImapFlow({
      host: '127.0.0.1',
      port: srv.port('imap'),
      secure: false,
      doSTARTTLS: true,
      tls: { rejectUnauthorized: false },
      auth: { user: USER, pass: PASS },
      logger: false,
    });
    await client.connect();
    expect(client.secureConnection || (client as unknown as { _socket?: { encrypted?: boolean } })._socket?.encrypted).toBeTruthy();

    const boxes = await client.list();
    const special = Object.fromEntries(boxes.filter((b) => b.specialUse).map((b) => [b.specialUse, b.path]));
    expect(special).toEqual({ '\\Inbox': 'INBOX', '\\Archive': 'Archive', '\\Drafts': 'Drafts', '\\Junk': 'Junk', '\\Sent': 'Sent', '\\Trash': 'Trash' });
    await client.mailboxCreate(['Projects', 'Über']);
    expect((await client.list()).map((b) => b.path)).toContain('Projects.Über');

    await lmtpDeliver(japaneseMessage({ subject: '会議の件' }));
    await lmtpDeliver(multipartMessage({ attachmentBytes: 200_000 }));
    const appended = await client.append('INBOX', 'From: a@example.test\r\nSubject: by append\r\n\r\nbody\r\n', ['\\Flagged']);
    expect(appended).toMatchObject({ destination: 'INBOX', uid: 3 });

    const lock = await client.getMailboxLock('INBOX');
    try {
      expect(client.mailbox && client.mailbox.exists).toBe(3);
      const seen: Array<{ uid: number; subject?: string; size?: number }> = [];
      for await (const m of client.fetch('1:*', { uid: true, envelope: true, size: true, flags: true, bodyStructure: true })) {
        seen.push({ uid: m.uid, subject: m.envelope?.subject, size: m.size });
      }
      expect(seen.map((m) => m.uid)).toEqual([1, 2, 3]);
      expect(seen[0]!.subject).toBe('会議の件');
      expect(seen[2]!.subject).toBe('by append');
      const { content } = await client.download('3', undefined, { uid: true });
      const chunks: Buffer[] = [];
      for await (const c of content!) chunks.push(c as Buffer);
      expect(Buffer.concat(chunks).toString()).toContain('body');

      await client.messageFlagsAdd('1', ['\\Seen', '$Work'], { uid: true });
      const flags = await client.fetchOne('1', { flags: true }, { uid: true });
      expect([...(flags && flags.flags ? flags.flags : [])].sort()).toEqual(['$Work', '\\Recent', '\\Seen']);
      expect(await client.search({ seen: false }, { uid: true })).toEqual([2, 3]);
      expect(await client.search({ flagged: true }, { uid: true })).toEqual([3]);

      const moved = await client.messageMove('2', 'Archive', { uid: true });
      expect(moved && moved.uidMap && [...moved.uidMap.entries()]).toEqual([[2, 1]]);
      expect(client.mailbox && client.mailbox.exists).toBe(2);

      // IDLE: a delivery shows up as an `exists` event.
      const news = new Promise<number>((resolve) => client.once('exists', (d: { count: number }) => resolve(d.count)));
      const idling = client.idle();
      await new Promise((r) => setTimeout(r, 100));
      await lmtpDeliver('From: c@example.test\r\nSubject: while idle\r\n\r\nhi\r\n');
      expect(await news).toBe(3);
      void idling;
    } finally {
      lock.release();
    }
    await client.logout();
  });
});

describe("Python's imaplib", () => {
  it('speaks implicit TLS: login, list, select, append, search, fetch, store, expunge, logout', async () => {
    if (!requirePeer('python3', 'imaplib client test')) return;
    const script = `
import imaplib, ssl, json, sys
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
M = imaplib.IMAP4_SSL('127.0.0.1', int(sys.argv[1]), ssl_context=ctx)
out = {}
out['login'] = M.login(sys.argv[2], sys.argv[3])[0]
typ, boxes = M.list()
out['list'] = [b.decode() for b in boxes]
out['create'] = M.create('Py.Sub')[0]
out['append'] = M.append('Py.Sub', '(\\\\Seen)', None, b'From: py@example.test\\r\\nSubject: from python\\r\\n\\r\\nhello python\\r\\n')[0]
typ, data = M.select('Py.Sub')
out['exists'] = int(data[0])
typ, data = M.search(None, 'SUBJECT', 'python')
out['search'] = data[0].decode()
typ, data = M.fetch('1', '(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)] RFC822.SIZE)')
out['fetch'] = data[0][0].decode() + data[0][1].decode()
out['store'] = M.store('1', '+FLAGS', '\\\\Deleted')[0]
typ, data = M.expunge()
out['expunge'] = [d.decode() for d in data]
out['status'] = M.status('Py.Sub', '(MESSAGES UIDNEXT)')[1][0].decode()
M.close()
out['logout'] = M.logout()[0]
print(json.dumps(out))
`;
    const r = await runPeer('python3', ['-c', script, String(srv.port('imaps')), USER, PASS]);
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout);
    expect(out.login).toBe('OK');
    expect(out.list).toContain('(\\HasNoChildren) "." "INBOX"');
    expect(out.create).toBe('OK');
    expect(out.append).toBe('OK');
    expect(out.exists).toBe(1);
    expect(out.search).toBe('1');
    expect(out.fetch).toMatch(/^1 \(FLAGS \(\\Seen( \\Recent)?\) BODY\[HEADER\.FIELDS \(SUBJECT\)\] \{\d+\}Subject: from python\r\n\r\n/);
    expect(out.store).toBe('OK');
    expect(out.expunge).toEqual(['1']);
    expect(out.status).toMatch(/^"Py\.Sub" \(MESSAGES 0 UIDNEXT 2\)$/);
    expect(out.logout).toBe('BYE');
  });
});
