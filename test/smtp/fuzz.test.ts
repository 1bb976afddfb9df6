// Random and half-valid input in every submission state (before and after AUTH, in DATA),
// from many short sessions over loopback. The daemon lives in this process, so any uncaught
// exception fails the test; afterwards a normal submission must still be relayed, no stray
// file may sit in the queue, and no error-level line may have been logged.
import net from 'node:net';
import { readdir } from 'node:fs/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { queueDir } from '../../src/smtp/index.js';
import { message, startSubmissionEnv, transport, until, type SubmissionEnv } from './setup.js';

let env: SubmissionEnv;
beforeAll(async () => {
  env = await startSubmissionEnv({ submission: { maxMessageBytes: 50_000 } } as never);
});
afterAll(async () => {
  await env?.stop();
});

function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

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
  const next = rng(20261123);
  const port = env.srv.port('submission');
  for (let s = 0; s < 200; s++) {
    const sock = net.connect({ port, host: '127.0.0.1' });
    sock.on('error', () => {});
    sock.on('data', () => {});
    await new Promise<void>((r) => sock.once('connect', () => r()));
    const steps = 1 + Math.floor(next() * 14);
    for (let i = 0; i < steps; i++) {
      if (next() < 0.15) {
        const junk = Buffer.alloc(Math.floor(next() * 3000));
        for (let j = 0; j < junk.length; j++) junk[j] = Math.floor(next() * 256);
        sock.write(junk);
      } else {
        sock.write(PIECES[Math.floor(next() * PIECES.length)]!);
      }
    }
    if (next() < 0.5) sock.destroy();
    else sock.end();
    await new Promise<void>((r) => (sock.destroyed ? r() : sock.once('close', () => r())));
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
