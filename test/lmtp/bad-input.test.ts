// LMTP under hostile and broken input: crafted recipients, malformed commands, oversized
// messages, clients that vanish mid-DATA, end-of-data smuggling, recipient floods, idle
// connection floods and the allowlist. The daemon must answer each with a standard reply,
// lose nothing, write nothing half-way and never leave the mail root.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '../helpers/app.js';
import { LineClient } from '../helpers/line-client.js';
import { multipartMessage } from '../helpers/messages.js';
import type { MailUser } from '../../src/maildir/types.js';

let srv: TestServer;
const dave: MailUser = { domain: 'example.test', localPart: 'dave' };

async function session(): Promise<LineClient> {
  const c = await LineClient.connect(srv.lmtpPort);
  expect((await c.reply())[0]).toMatch(/^220 /);
  expect(await c.command('LHLO bad.test')).toMatch(/^250 /);
  return c;
}

async function count(user: MailUser): Promise<number> {
  return (await srv.app.store.listMessages(user, 'INBOX')).messages.length;
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p)));
    else out.push(p);
  }
  return out;
}

beforeAll(async () => {
  srv = await startTestServer({ delivery: { maxMessageBytes: 200_000, maxRecipients: 50 } });
  await srv.app.directory.addDomain('example.test');
  await srv.addUser('dave@example.test', 'pw-dave-1');
});

afterAll(async () => {
  await srv?.stop();
});

describe('crafted recipients never reach the file system', () => {
  const hostile = [
    '../x@example.test',
    'a/b@example.test',
    '..@example.test',
    '.hidden@example.test',
    'dave@../example.test',
    'dave@example.test/..',
    'x@..',
    `${'a'.repeat(300)}@example.test`,
    `dave@${'b'.repeat(300)}.test`,
    '"../../etc"@example.test',
  ];
  for (const rcpt of hostile) {
    it(`refuses ${rcpt.slice(0, 40)}`, async () => {
      const c = await session();
      expect(await c.command('MAIL FROM:<x@example.jp>')).toMatch(/^250 /);
      expect(await c.command(`RCPT TO:<${rcpt}>`)).toMatch(/^5\d\d /);
      c.close();
    });
  }

  it('refuses a NUL inside an address', async () => {
    const c = await session();
    expect(await c.command('MAIL FROM:<x@example.jp>')).toMatch(/^250 /);
    expect(await c.command('RCPT TO:<da\x00ve@example.test>')).toMatch(/^5\d\d /);
    c.close();
  });

  it('left nothing outside <mailRoot>/example.test/dave', async () => {
    const files = await walk(srv.dataDir);
    for (const f of files) {
      expect(f.startsWith(join(srv.mailRoot, 'example.test', 'dave')) || !f.startsWith(srv.mailRoot)).toBe(true);
    }
  });
});

describe('malformed commands and wrong states', () => {
  it('answers each with a standard reply and keeps the session usable', async () => {
    const c = await session();
    expect(await c.command('RCPT TO:<dave@example.test>')).toMatch(/^503 /); // before MAIL
    expect(await c.command('DATA')).toMatch(/^503 /);
    expect(await c.command('MAIL FROM:<not an address')).toMatch(/^501 /);
    expect(await c.command('FROB nicate')).toMatch(/^50[02] /);
    expect(await c.command('MAIL FROM:<x@example.jp>')).toMatch(/^250 /);
    expect(await c.command('RCPT TO:<>')).toMatch(/^501 /);
    expect(await c.command('RCPT TO:<@@@>')).toMatch(/^5\d\d /);
    expect(await c.command('RCPT TO:<dave@example.test>')).toMatch(/^250 /);
    expect(await c.command('RCPT TO:<DAVE@example.test>')).toMatch(/^452 4\.5\.3 /);
    expect(await c.command('RSET')).toMatch(/^250 /);
    expect(await c.command('NOOP')).toMatch(/^250 /);
    c.close();
    // Each refusal the protocol library sent on its own also left a log line.
    const refusals = srv.logs.filter((l) => l.msg === 'error reply').map((l) => String(l.reply));
    expect(refusals.some((r) => r.startsWith('503 '))).toBe(true);
    expect(refusals.some((r) => r.startsWith('501 '))).toBe(true);
    expect(refusals.some((r) => /^50[02] /.test(r))).toBe(true);
  });

  it('drops an overlong command line without crashing', async () => {
    const c = await session();
    c.send('MAIL FROM:<' + 'x'.repeat(100_000) + '@example.jp>');
    const l = await c.line();
    // smtp-server answers 421 and closes; either way the line is refused and logged.
    expect(l === null || /^(421|5\d\d) /.test(l)).toBe(true);
    c.close();
    const ok = await session(); // the daemon still serves
    expect(await ok.command('NOOP')).toMatch(/^250 /);
    ok.close();
  });
});

describe('message size and broken transfers', () => {
  it('refuses a message over the limit for every recipient with 552 5.3.4', async () => {
    const before = await count(dave);
    const c = await session();
    await c.command('MAIL FROM:<x@example.jp>');
    await c.command('RCPT TO:<dave@example.test>');
    await c.command('RCPT TO:<dave+two@example.test>');
    expect(await c.command('DATA')).toMatch(/^354 /);
    c.write(multipartMessage({ attachmentBytes: 300_000 }));
    c.write('.\r\n');
    expect(await c.line()).toMatch(/^552 5\.3\.4 /);
    expect(await c.line()).toMatch(/^552 5\.3\.4 /);
    expect(await c.command('NOOP')).toMatch(/^250 /);
    c.close();
    expect(await count(dave)).toBe(before);
    // Nothing left in the spool either.
    const spool = await readdir(join(srv.dataDir, 'spool', 'incoming')).catch(() => []);
    expect(spool).toEqual([]);
  });

  it('refuses a declared SIZE over the limit at MAIL FROM (RFC 1870)', async () => {
    const c = await session();
    expect(await c.command('MAIL FROM:<x@example.jp> SIZE=300000')).toMatch(/^552 5\.3\.4 /);
    expect(await c.command('MAIL FROM:<x@example.jp> SIZE=abc')).toMatch(/^501 /);
    expect(await c.command('MAIL FROM:<x@example.jp> SIZE=1000')).toMatch(/^250 /);
    c.close();
  });

  it('a client that disconnects in the middle of DATA leaves no file behind', async () => {
    const before = await count(dave);
    const c = await session();
    await c.command('MAIL FROM:<x@example.jp>');
    await c.command('RCPT TO:<dave@example.test>');
    expect(await c.command('DATA')).toMatch(/^354 /);
    c.write(multipartMessage({ attachmentBytes: 150_000 }).subarray(0, 150_000)); // past the in-memory limit
    await new Promise((r) => setTimeout(r, 100));
    c.close();
    // The server notices the close asynchronously; give it a bounded time to clean up.
    const home = join(srv.mailRoot, 'example.test', 'dave');
    const leftovers = async () => [
      ...(await readdir(join(home, 'tmp'))),
      ...(await readdir(join(srv.dataDir, 'spool', 'incoming')).catch(() => [])),
    ];
    for (let i = 0; i < 100 && (await leftovers()).length > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(await leftovers()).toEqual([]);
    expect(srv.logs.some((l) => l.msg === 'transaction failed' || l.msg === 'disconnect')).toBe(true);
    expect(await count(dave)).toBe(before);
    const spool = await readdir(join(srv.dataDir, 'spool', 'incoming')).catch(() => []);
    expect(spool).toEqual([]);
  });
});

describe('storage failures', () => {
  it('answers 451 4.3.0 when the Maildir cannot be written, leaves nothing behind, and logs why', async () => {
    await srv.addUser('erin@example.test', 'pw-erin-1');
    const erin: MailUser = { domain: 'example.test', localPart: 'erin' };
    const home = join(srv.mailRoot, 'example.test', 'erin');
    // A plain file where tmp/ should be: every write into tmp/ fails with ENOTDIR.
    await rm(join(home, 'tmp'), { recursive: true });
    await writeFile(join(home, 'tmp'), 'not a directory');
    try {
      const c = await session();
      await c.command('MAIL FROM:<x@example.jp>');
      expect(await c.command('RCPT TO:<erin@example.test>')).toMatch(/^250 /);
      expect(await c.command('RCPT TO:<dave@example.test>')).toMatch(/^250 /);
      expect(await c.command('DATA')).toMatch(/^354 /);
      c.write(multipartMessage({ id: 'storage-fail' }));
      c.write('.\r\n');
      const first = await c.line();
      expect(first).toMatch(/^451 4\.3\.0 <erin@example\.test>: Temporary failure/);
      expect(first).not.toMatch(/ENOTDIR|\/tmp|mail\//); // no storage detail on the wire
      expect(await c.line()).toMatch(/^250 2\.0\.0 <dave@example\.test> /); // the other recipient is unaffected
      c.close();
      expect(await readdir(join(home, 'new'))).toEqual([]);
      expect(srv.logs.some((l) => l.msg === 'delivery failed' && l.user === 'erin@example.test' && l.err)).toBe(true);
    } finally {
      await rm(join(home, 'tmp'));
      await mkdir(join(home, 'tmp'));
    }
    expect(await count(erin)).toBe(0);
  });
});

describe('end-of-data smuggling', () => {
  it('only <CRLF>.<CRLF> ends a message', async () => {
    const before = await count(dave);
    const c = await session();
    await c.command('MAIL FROM:<x@example.jp>');
    await c.command('RCPT TO:<dave@example.test>');
    expect(await c.command('DATA')).toMatch(/^354 /);
    const tricks = [
      'Subject: smuggle\r\n\r\nline one\r\n',
      '\n.\nMAIL FROM:<evil@example.jp>\r\n',
      '\r.\rRCPT TO:<dave@example.test>\r\n',
      '\n.\r\nDATA\r\n',
      '\r\n.\n',
      '\r.\r\n',
      'tail\r\n',
    ];
    for (const t of tricks) c.write(t);
    c.write('.\r\n');
    expect(await c.line()).toMatch(/^250 /);
    expect(await c.command('NOOP')).toMatch(/^250 /); // nothing queued behind the message
    c.close();
    const msgs = (await srv.app.store.listMessages(dave, 'INBOX')).messages;
    expect(msgs.length).toBe(before + 1);
    const chunks: Buffer[] = [];
    for await (const ch of await srv.app.store.openMessage(dave, 'INBOX', msgs.at(-1)!.uid)) chunks.push(ch as Buffer);
    const text = Buffer.concat(chunks).toString('latin1');
    expect(text).toContain('MAIL FROM:<evil@example.jp>');
    expect(text).toContain('tail');
  });
});

describe('floods', () => {
  it('refuses recipients past the configured limit with 452 4.5.3', async () => {
    const c = await session();
    await c.command('MAIL FROM:<x@example.jp>');
    // Pipeline 10,000 RCPTs; the first 50 are accepted, the rest refused; memory stays bounded.
    const n = 10_000;
    let batch = '';
    for (let i = 0; i < n; i++) batch += `RCPT TO:<dave+${i}@example.test>\r\n`;
    c.write(batch);
    let ok = 0;
    let refused = 0;
    for (let i = 0; i < n; i++) {
      const l = (await c.line())!;
      if (l.startsWith('250 ')) ok++;
      else if (l.startsWith('452 4.5.3')) refused++;
    }
    expect(ok).toBe(50);
    expect(refused).toBe(n - 50);
    expect(await c.command('RSET')).toMatch(/^250 /);
    c.close();
  });

  it('100 idle connections do not lock out a new one', async () => {
    const idle = await Promise.all(Array.from({ length: 100 }, () => LineClient.connect(srv.lmtpPort)));
    const c = await session();
    await c.command('MAIL FROM:<x@example.jp>');
    expect(await c.command('RCPT TO:<dave@example.test>')).toMatch(/^250 /);
    c.close();
    for (const i of idle) i.close();
  });

  it('50 concurrent deliveries to one mailbox get 50 distinct UIDs', async () => {
    const before = (await srv.app.store.listMessages(dave, 'INBOX')).messages;
    const results = await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        const c = await session();
        await c.command('MAIL FROM:<x@example.jp>');
        await c.command('RCPT TO:<dave@example.test>');
        await c.command('DATA');
        c.write(multipartMessage({ id: `conc-${i}` }));
        c.write('.\r\n');
        const l = await c.line();
        c.close();
        return l;
      }),
    );
    expect(results.every((l) => l?.startsWith('250 2.0.0'))).toBe(true);
    const after = (await srv.app.store.listMessages(dave, 'INBOX')).messages;
    expect(after.length).toBe(before.length + 50);
    expect(new Set(after.map((m) => m.uid)).size).toBe(after.length);
    const files = await readdir(join(srv.mailRoot, 'example.test', 'dave', 'new'));
    expect(files.length).toBeGreaterThanOrEqual(50);
  });
});

describe('slow clients', () => {
  it('a client silent past the idle timeout is told 421 and disconnected', async () => {
    const other = await startTestServer({ lmtp: { idleTimeoutSeconds: 1 } });
    try {
      const c = await LineClient.connect(other.lmtpPort);
      expect((await c.reply())[0]).toMatch(/^220 /);
      expect(await c.command('LHLO slow.test')).toMatch(/^250 /);
      c.send('MAIL FROM:<slow@example.jp>');
      expect(await c.line()).toMatch(/^250 /);
      // Say nothing more: the server ends the session on its own.
      expect(await c.line(5_000)).toMatch(/^421 /);
      expect(await c.line(5_000)).toBeNull();
      // and keeps serving others
      const d = await LineClient.connect(other.lmtpPort);
      expect((await d.reply())[0]).toMatch(/^220 /);
      d.close();
    } finally {
      await other.stop();
    }
  });
});

describe('allowlist', () => {
  it('closes a connection from outside the list before the greeting and logs it', async () => {
    const other = await startTestServer({ lmtp: { allow: ['10.0.0.0/8'] } });
    try {
      const c = await LineClient.connect(other.lmtpPort);
      expect(await c.line()).toBeNull();
      expect(other.logs.some((l) => l.msg === 'connection refused by allowlist' && l.remote === '127.0.0.1')).toBe(true);
    } finally {
      await other.stop();
    }
  });
});
