// Random and half-valid input in every submission state (before and after AUTH, in DATA),
// from many short sessions over loopback. The daemon lives in this process, so any uncaught
// exception fails the test; afterwards a normal submission must still be relayed, no stray
// file may sit in the queue, and no error-level line may have been logged.
import { readdir } from 'node:fs/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { fuzzSession, xorshift32 } from '../helpers/fuzz.js';
import { queueDir } from '../../src/smtp/index.js';
import { message, startSubmissionEnv, transport, until, type SubmissionEnv } from './setup.js';

let env: SubmissionEnv;
beforeAll(async () => {
  env = await startSubmissionEnv({ submission: { maxMessageBytes: 50_000 } } as never);
});
afterAll(async () => {
  await env?.stop();
});

const AUTH = `AUTH PLAIN ${Buffer.from('\0alice@example.test\0pw-alice-1').toString('base64')}\r\n`;
const PIECES = [
  'EHLO fuzz.test\r\n', 'HELO x\r\n', 'LHLO x\r\n', AUTH, AUTH, 'AUTH LOGIN\r\n', 'AUTH PLAIN =\r\n', 'AUTH CRAM-MD5\r\n', '*\r\n',
  'MAIL FROM:<alice@example.test>\r\n', 'MAIL FROM:<>\r\n', 'MAIL FROM:<ceo@bank.test>\r\n',
  'MAIL FROM:<alice@example.test> SIZE=99999999999999999999999\r\n', 'MAIL FROM:<alice@example.test> BODY=8BITMIME SMTPUTF8 RET=FULL ENVID=x\r\n',
  'RCPT TO:<friend@remote.test>\r\n', 'RCPT TO:<bob@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;x@y\r\n',
  'RCPT TO:<../../etc/passwd@example.test>\r\n', 'RCPT TO:<\u00e9l\u00e8ve@remote.test>\r\n', 'RCPT TO:<nosuch@example.test>\r\n',
  'DATA\r\n', 'BDAT 10 LAST\r\n', 'RSET\r\n', 'NOOP\r\n', 'VRFY alice\r\n', 'STARTTLS\r\n', 'QUIT\r\n', '.\r\n', '\r\n.\r\n',
  '\n.\n', '\r.\r', '\r\n', 'From: alice@example.test\r\nSubject: x\r\n\r\nbody\r\n', 'From: ceo@bank.test\r\n\r\n',
  'MAIL FROM:<' + 'x'.repeat(600) + '@example.test>\r\n', '\x00\x01\x02\xff\xfe', 'RCPT TO:<friend@remote.test>\n',
];

it('survives 200 sessions of random input in every state', async () => {
  const next = xorshift32(20261123);
  const port = env.srv.port('submission');
  for (let s = 0; s < 200; s++) {
    await fuzzSession(port, next, { pieces: PIECES, maxSteps: 14, junkChance: 0.15, maxJunkBytes: 3000 });
  }

  // Whatever the fuzz managed to queue drains; then a normal submission still goes through.
  await until(() => env.queue.worker.size() === 0, 30_000);
  const before = env.relay.received.length;
  await transport(env).sendMail({ envelope: { from: 'alice@example.test', to: ['after@remote.test'] }, raw: message({ to: 'after@remote.test', subject: 'after fuzz' }) });
  await env.relay.waitFor(before + 1);
  await until(() => env.queue.worker.size() === 0);
  await until(async () => (await readdir(queueDir(env.srv.app.config))).length === 0);
  expect(env.srv.logs.filter((l) => l.msg === 'uncaught exception' || l.level === 'fatal' || l.level === 'error')).toEqual([]);
}, 120_000);
