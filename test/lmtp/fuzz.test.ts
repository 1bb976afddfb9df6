// Random and half-valid input in every LMTP state, from many short sessions. The daemon
// lives in this process, so any uncaught exception fails the test; afterwards a normal
// delivery must still succeed and no stray file may sit in tmp/ or the spool.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '../helpers/app.js';
import { fuzzSession, xorshift32 } from '../helpers/fuzz.js';
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

const PIECES = [
  'LHLO fuzz.test\r\n', 'HELO x\r\n', 'EHLO x\r\n', 'MAIL FROM:<a@example.jp>\r\n', 'MAIL FROM:<>\r\n',
  'MAIL FROM:<a@example.jp> SIZE=99999999999999999999999\r\n', 'MAIL FROM:<a@example.jp> BODY=8BITMIME SMTPUTF8\r\n',
  'RCPT TO:<fuzz@example.test>\r\n', 'RCPT TO:<fuzz+x@example.test> NOTIFY=NEVER\r\n', 'RCPT TO:<../../etc/passwd@example.test>\r\n',
  'RCPT TO:<\u00e9l\u00e8ve@example.test>\r\n', 'DATA\r\n', 'BDAT 10 LAST\r\n', 'RSET\r\n', 'NOOP\r\n', 'VRFY fuzz\r\n',
  'STARTTLS\r\n', 'AUTH PLAIN AGZvbwBiYXI=\r\n', 'QUIT\r\n', '.\r\n', '\r\n.\r\n', '\n.\n', '\r\n', 'Subject: x\r\n\r\nbody\r\n',
  'MAIL FROM:<' + 'x'.repeat(600) + '@example.jp>\r\n', '\x00\x01\x02\xff\xfe', 'RCPT TO:<fuzz@example.test>\n',
];

it('survives 300 sessions of random input in every state', async () => {
  const next = xorshift32(20261122);
  for (let s = 0; s < 300; s++) {
    await fuzzSession(srv.lmtpPort, next, { pieces: PIECES, maxSteps: 12, junkChance: 0.2, maxJunkBytes: 3000 });
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
