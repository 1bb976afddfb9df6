// Random and half-valid POP3 input in every state (before login, after it, mid-SASL, after
// STLS), from many short sessions. The daemon lives in this process, so an uncaught
// exception fails the test; afterwards a normal session must still work and no error line
// may have been logged.
import { Readable } from 'node:stream';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/app.js';
import { fuzzSession, xorshift32 } from '../helpers/fuzz.js';
import { Pop3Wire } from './wire-client.js';

const ALICE = 'fuzz@example.test';
const PW = 'pw-fuzz-1';
let srv: TestServer;

beforeAll(async () => {
  srv = await startTestServer({
    auth: { failureDelayMs: 0, maxFailureDelayMs: 0, maxFailuresPerIp: 1_000_000, maxFailuresPerUser: 1_000_000 },
    pop3: { maxLineBytes: 512, maxBadCommands: 40, maxCommandsBeforeLogin: 40 },
  });
  await srv.app.directory.addDomain('example.test');
  await srv.addUser(ALICE, PW);
  const user = { domain: 'example.test', localPart: 'fuzz' };
  for (let i = 0; i < 5; i++) {
    const text = `Subject: m${i}\n\n.dot\nline\n`;
    await srv.app.store.deliver(user, 'INBOX', { open: () => Readable.from([Buffer.from(text)]) });
  }
});
afterAll(async () => srv?.stop());

const b64 = (s: string) => Buffer.from(s).toString('base64');
const PIECES = [
  'CAPA\r\n', 'STAT\r\n', 'LIST\r\n', 'LIST 1\r\n', 'LIST 0\r\n', 'LIST 4294967296\r\n', 'UIDL\r\n', 'UIDL 2\r\n',
  'RETR 1\r\n', 'RETR 9\r\n', 'RETR\r\n', 'TOP 1 0\r\n', 'TOP 2 99999999\r\n', 'TOP 1\r\n', 'DELE 1\r\n', 'DELE 2\r\n',
  'DELE 1\r\n', 'RSET\r\n', 'NOOP\r\n', 'QUIT\r\n', 'STLS\r\n', 'USER x\r\n', `USER ${ALICE}\r\n`,
  'PASS\r\n', 'AUTH\r\n', 'AUTH PLAIN\r\n', 'AUTH LOGIN\r\n',
  `${b64(ALICE)}\r\n`, '*\r\n', '=\r\n', 'AUTH XOAUTH2 abc\r\n', 'APOP a b\r\n', '\r\n', '\n', '.\r\n', '\x00\x01\xff\r\n',
  `NOOP ${'x'.repeat(700)}\r\n`, 'x'.repeat(2000), 'RETR 1\r\nRETR 2\r\nRETR 3\r\n', '\u3042\u3044\r\n',
];

it('survives 100 sessions of random input in every state', async () => {
  const next = xorshift32(20261123);
  for (let s = 0; s < 100; s++) {
    await fuzzSession(srv.port('pop3'), next, {
      pieces: PIECES,
      maxSteps: 15,
      junkChance: 0.15,
      maxJunkBytes: 1500,
      pauseChance: 0.2,
      // Some sessions log in first, so the transaction state gets its share. (Only these
      // check a password: each check is an Argon2 hash that runs on after the client left,
      // and on two shared cores a backlog of them would only slow the test down.)
      onConnect: (sock) => {
        if (next() < 0.25) sock.write(`USER ${ALICE}\r\nPASS ${PW}\r\n`);
      },
    });
  }

  // Every session ends (and releases the maildrop lock) on its own.
  const pop = () => srv.logs.filter((l) => l.svc === 'pop3');
  for (let i = 0; i < 500; i++) {
    const p = pop();
    if (p.filter((l) => l.msg === 'connect').length === p.filter((l) => l.msg === 'disconnect').length) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const c = await Pop3Wire.connect(srv.port('pop3'));
  expect(await c.line()).toMatch(/^\+OK/);
  expect(await c.cmd(`USER ${ALICE}`)).toMatch(/^\+OK/);
  c.send(`PASS ${PW}`);
  expect(await c.line(60_000)).toMatch(/^\+OK Logged in/);
  expect(await c.cmd('STAT')).toMatch(/^\+OK \d+ \d+$/);
  expect(await c.cmd('QUIT')).toMatch(/^\+OK/);
  c.close();
  expect(srv.logs.filter((l) => l.level === 'error' || l.level === 'fatal' || l.msg === 'session crashed')).toEqual([]);
  // The refusals were logged, one line each.
  expect(pop().filter((l) => l.msg === 'command refused').length).toBeGreaterThan(80);
});
