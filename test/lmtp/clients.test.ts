// LMTP from real clients: Python's smtplib.LMTP, nodemailer's LMTP transport and swaks.
// One transaction mixes known, unknown, aliased, catch-all and over-quota recipients and
// must get the right reply for each, in RCPT order (RFC 2033 4.2).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { startTestServer, type TestServer } from '../helpers/app.js';
import { LineClient } from '../helpers/line-client.js';
import { japaneseMessage, multipartMessage } from '../helpers/messages.js';
import { requirePeer, runPeer } from '../helpers/peers.js';
import type { MailUser } from '../../src/maildir/types.js';

let srv: TestServer;
const alice: MailUser = { domain: 'example.test', localPart: 'alice' };
const bob: MailUser = { domain: 'example.test', localPart: 'bob' };
const carol: MailUser = { domain: 'catch.test', localPart: 'carol' };
const small: MailUser = { domain: 'example.test', localPart: 'small' };

async function inbox(user: MailUser) {
  return (await srv.app.store.listMessages(user, 'INBOX')).messages;
}

async function readAll(user: MailUser, uid: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of await srv.app.store.openMessage(user, 'INBOX', uid)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

beforeAll(async () => {
  srv = await startTestServer();
  const d = srv.app.directory;
  await d.addDomain('example.test');
  await d.addDomain('catch.test');
  await srv.addUser('alice@example.test', 'pw-alice-1');
  await srv.addUser('bob@example.test', 'pw-bob-1');
  await srv.addUser('carol@catch.test', 'pw-carol-1');
  await srv.addUser('full@example.test', 'pw-full-1');
  await srv.addUser('small@example.test', 'pw-small-1', { quotaMb: 1 });
  await d.addAlias('sales@example.test', ['alice@example.test', 'bob@example.test']);
  await d.addAlias('@catch.test', ['carol@catch.test']);
});

afterAll(async () => {
  await srv?.stop();
});

describe('LMTP per-recipient replies (raw wire)', () => {
  it('answers each recipient of one mixed transaction on its own', async () => {
    // Fill "full" past a 1 MB quota first.
    const c = await LineClient.connect(srv.lmtpPort);
    expect((await c.reply())[0]).toMatch(/^220 /);
    const lhlo = await c.command('LHLO client.test');
    expect(lhlo).toMatch(/^250 /);
    expect(await c.command('MAIL FROM:<filler@example.jp>')).toMatch(/^250 /);
    expect(await c.command('RCPT TO:<full@example.test>')).toMatch(/^250 /);
    expect(await c.command('DATA')).toMatch(/^354 /);
    c.write(multipartMessage({ attachmentBytes: 1_200_000 }));
    c.write('.\r\n');
    expect(await c.reply()).toEqual([expect.stringMatching(/^250 2\.0\.0 <full@example\.test> /)]);
    await srv.app.directory.setQuota('full@example.test', 1);

    // The mixed transaction. A message a little over 1 MB also overflows "small" at DATA.
    expect(await c.command('MAIL FROM:<sender@example.jp>')).toMatch(/^250 /);
    expect(await c.command('RCPT TO:<alice@example.test>')).toMatch(/^250 /);
    expect(await c.command('RCPT TO:<nobody@example.test>')).toBe('550 5.1.1 <nobody@example.test>: User unknown');
    expect(await c.command('RCPT TO:<sales@example.test>')).toMatch(/^250 /);
    expect(await c.command('RCPT TO:<whoever@catch.test>')).toMatch(/^250 /);
    expect(await c.command('RCPT TO:<full@example.test>')).toBe('552 5.2.2 <full@example.test>: Mailbox is full');
    expect(await c.command('RCPT TO:<small+news@example.test>')).toMatch(/^250 /);
    expect(await c.command('RCPT TO:<nobody@unknown-domain.test>')).toMatch(/^550 5\.1\.1 /);
    expect(await c.command('DATA')).toMatch(/^354 /);
    const msg = multipartMessage({ attachmentBytes: 800_000, id: 'mixed-1' });
    c.write(msg);
    c.write('.\r\n');
    // Four accepted recipients → four replies, in RCPT order.
    const replies = [await c.line(), await c.line(), await c.line(), await c.line()];
    expect(replies[0]).toMatch(/^250 2\.0\.0 <alice@example\.test> /);
    expect(replies[1]).toMatch(/^250 2\.0\.0 <sales@example\.test> /);
    expect(replies[2]).toMatch(/^250 2\.0\.0 <whoever@catch\.test> /);
    expect(replies[3]).toBe('552 5.2.2 <small+news@example.test>: Mailbox is full');
    expect(await c.command('QUIT')).toMatch(/^221 /);
    c.close();

    // alice got one copy although she was reached directly and through the alias.
    const a = (await inbox(alice)).length;
    expect(a).toBe(1);
    expect((await inbox(bob)).length).toBe(1);
    expect((await inbox(carol)).length).toBe(1);
    expect((await inbox(small)).length).toBe(0);

    const stored = await readAll(carol, (await inbox(carol))[0]!.uid);
    const text = stored.toString('latin1');
    expect(text).toMatch(/^Return-Path: <sender@example\.jp>\r?\nDelivered-To: carol@catch\.test\r?\nReceived: from client\.test \(\[127\.0\.0\.1\]\)/);
    expect(text).toContain('for <whoever@catch.test>;');
    // The body arrives byte for byte (modulo the line-ending normalisation of Maildir).
    const body = msg.toString('latin1').replace(/\r\n/g, '\n');
    expect(text.replace(/\r\n/g, '\n').endsWith(body)).toBe(true);
  });
});

describe('LMTP from real clients', () => {
  it("Python's smtplib.LMTP reads one reply per recipient", async () => {
    if (!requirePeer('python3', 'lmtp/python')) return;
    const script = `
import smtplib, json, sys
msg = sys.stdin.buffer.read()
c = smtplib.LMTP('127.0.0.1', ${srv.lmtpPort})
c.ehlo('python.test')  # smtplib.LMTP sends LHLO here
out = {'mail': c.mail('py@example.jp')[0], 'rcpt': []}
for r in ['bob@example.test', 'ghost@example.test', 'bob+tag@example.test', 'sales@example.test']:
    out['rcpt'].append(c.rcpt(r)[0])
code, text = c.data(msg)
out['data'] = [[code, text.decode()]]
# RFC 2033: one more reply per further accepted recipient
for _ in range(sum(1 for x in out['rcpt'] if x == 250) - 1):
    code, text = c.getreply()
    out['data'].append([code, text.decode()])
c.quit()
print(json.dumps(out))
`;
    const r = await runPeer('python3', ['-c', script], { input: japaneseMessage({ to: 'bob@example.test', id: 'py-1' }) });
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as { mail: number; rcpt: number[]; data: Array<[number, string]> };
    expect(out.mail).toBe(250);
    expect(out.rcpt).toEqual([250, 550, 250, 250]);
    expect(out.data.map((d) => d[0])).toEqual([250, 250, 250]);
    expect(out.data[1]![1]).toContain('<bob+tag@example.test>');
  });

  it('nodemailer (lmtp: true) delivers and reports refused recipients', async () => {
    const t = nodemailer.createTransport({ host: '127.0.0.1', port: srv.lmtpPort, lmtp: true, name: 'nodemailer.test' });
    const before = (await inbox(alice)).length;
    const info = await t.sendMail({
      envelope: { from: 'nm@example.jp', to: ['alice@example.test', 'ghost@example.test'] },
      raw: japaneseMessage({ to: 'alice@example.test', id: 'nm-1' }),
    });
    expect(info.accepted).toEqual(['alice@example.test']);
    expect(info.rejected).toEqual(['ghost@example.test']);
    t.close();
    const msgs = await inbox(alice);
    expect(msgs.length).toBe(before + 1);
    const raw = await readAll(alice, msgs.at(-1)!.uid);
    // The ISO-2022-JP body is 7-bit with escape sequences and must arrive unchanged.
    expect(raw.includes(Buffer.from('\x1b$B', 'latin1'))).toBe(true);
    expect(raw.toString('latin1')).toContain('Message-ID: <nm-1@example.jp>');
  });

  it('swaks --protocol LMTP gets a reply per recipient', async () => {
    if (!requirePeer('swaks', 'lmtp/swaks')) return;
    const r = await runPeer(
      'swaks',
      ['--protocol', 'LMTP', '--server', '127.0.0.1', '--port', String(srv.lmtpPort), '--from', 'swaks@example.jp',
        '--to', 'bob@example.test,zed@catch.test', '--helo', 'swaks.test', '--header', 'Subject: swaks test'],
    );
    expect(r.status).toBe(0);
    const lines = r.stdout.split('\n').filter((l) => l.startsWith('<-  250 2.0.0 <'));
    expect(lines.length).toBe(2);
    expect(lines[0]).toContain('<bob@example.test>');
    expect(lines[1]).toContain('<zed@catch.test>');
    // The file sits in new/ with Dovecot's name shape.
    const files = await readdir(join(srv.mailRoot, 'catch.test', 'carol', 'new'));
    expect(files.some((f) => /^\d+\.M\d+P\d+\..+,S=\d+,W=\d+$/.test(f))).toBe(true);
    const content = await readFile(join(srv.mailRoot, 'catch.test', 'carol', 'new', files.sort().at(-1)!), 'latin1');
    expect(content).toContain('Subject: swaks test');
  });
});
