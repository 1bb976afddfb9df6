// Random and half-valid input in every LMTP state, from many short sessions. The daemon
// lives in this process, so any uncaught exception fails the test; afterwards a normal
// delivery must still succeed and no stray file may sit in tmp/ or the spool.
import { afterAll, beforeAll, expect, it } from 'vitest';
import net from 'node:net';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '../helpers/app.js';
import { LineClient } from '../helpers/line-client.js';

let srv: TestServer;

beforeAll(async () => {
  srv = await startTestServer({ delivery: { maxMessageBytes: 50_000, maxRecipients: 20 } });
  await srv.app.directory.addDomain('example.test');
  await srv.addUser('fuzz@example.test', 'pw-fuzz-1');
});

afterAll(async () => {
  await srv?.stop();
});

/** xorshift32: the same sequence on every run, so a failure can be replayed. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

const PIECES = [
  'LHLO fuzz.test\r\n', 'HELO x\r\n', 'EHLO x\r\n', 'MAIL FROM:<a@example.jp>\r\n', 'MAIL FROM:<>\r\n',
  'MAIL FROM:<a@example.jp> SIZE=99999999999999999999999\r\n', 'MAIL FROM:<a@example.jp> BODY=8BITMIME SMTPUTF8\r\n',
  'RCPT TO:<fuzz@example.test>\r\n', 'RCPT TO:<fuzz+x@example.test> NOTIFY=NEVER\r\n', 'RCPT TO:<../../etc/passwd@example.test>\r\n',
  'RCPT TO:<\u00e9l\u00e8ve@example.test>\r\n', 'DATA\r\n', 'BDAT 10 LAST\r\n', 'RSET\r\n', 'NOOP\r\n', 'VRFY fuzz\r\n',
  'STARTTLS\r\n', 'AUTH PLAIN AGZvbwBiYXI=\r\n', 'QUIT\r\n', '.\r\n', '\r\n.\r\n', '\n.\n', '\r\n', 'Subject: x\r\n\r\nbody\r\n',
  'MAIL FROM:<' + 'x'.repeat(600) + '@example.jp>\r\n', '\x00\x01\x02\xff\xfe', 'RCPT TO:<fuzz@example.test>\n',
];

it('survives 300 sessions of random input in every state', async () => {
  const next = rng(20261122);
  for (let s = 0; s < 300; s++) {
    const sock = net.connect({ port: srv.lmtpPort, host: '127.0.0.1' });
    sock.on('error', () => {});
    sock.on('data', () => {});
    await new Promise<void>((r) => sock.once('connect', () => r()));
    const steps = 1 + Math.floor(next() * 12);
    for (let i = 0; i < steps; i++) {
      if (next() < 0.2) {
        const junk = Buffer.alloc(Math.floor(next() * 3000));
        for (let j = 0; j < junk.length; j++) junk[j] = Math.floor(next() * 256);
        sock.write(junk);
      } else {
        sock.write(PIECES[Math.floor(next() * PIECES.length)]!);
      }
    }
    // Half the sessions vanish abruptly, half close politely.
    if (next() < 0.5) sock.destroy();
    else sock.end();
    await new Promise<void>((r) => (sock.destroyed ? r() : sock.once('close', () => r())));
  }

  // Still serving, and still correct.
  const c = await LineClient.connect(srv.lmtpPort);
  expect((await c.reply())[0]).toMatch(/^220 /);
  expect(await c.command('LHLO after.fuzz')).toMatch(/^250 /);
  expect(await c.command('MAIL FROM:<a@example.jp>')).toMatch(/^250 /);
  expect(await c.command('RCPT TO:<fuzz@example.test>')).toMatch(/^250 /);
  expect(await c.command('DATA')).toMatch(/^354 /);
  c.write('Subject: after fuzz\r\n\r\nstill here\r\n.\r\n');
  expect(await c.line()).toMatch(/^250 2\.0\.0 /);
  c.close();

  // Sessions that vanished mid-DATA left nothing half-written.
  const home = join(srv.mailRoot, 'example.test', 'fuzz');
  for (let i = 0; i < 100 && (await readdir(join(home, 'tmp'))).length > 0; i++) await new Promise((r) => setTimeout(r, 20));
  expect(await readdir(join(home, 'tmp'))).toEqual([]);
  expect(srv.logs.filter((l) => l.msg === 'uncaught exception' || l.level === 'fatal' || l.level === 'error')).toEqual([]);
});
