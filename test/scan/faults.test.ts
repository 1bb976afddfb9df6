// A clamd that misbehaves (issue 7, part 4), as a small fake server on port 0: one that
// hangs, one that closes the connection mid-stream, one that answers garbage. With
// onFailure: tempfail every recipient gets 451 4.7.0 and nothing is stored, so a retry
// (once clamd answers again) delivers exactly one copy; with onFailure: accept the message
// is delivered once, marked `X-Scan-Skipped: clamav (<reason>)`.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/app.js';
import { REFUSED_PORT } from '../helpers/ports.js';
import { lmtpSend, plainMessage, storedMessages } from './support.js';

type Mode = 'ok' | 'hang' | 'close-mid-stream' | 'garbage';

/** Speaks just enough zINSTREAM to be told apart from clamd failing in each way. */
async function fakeClamd(): Promise<{ port: number; mode: Mode; connections: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const state = {
    port: 0,
    mode: 'ok' as Mode,
    connections: 0,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
  const server = net.createServer((sock) => {
    state.connections++;
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => {});
    const mode = state.mode;
    let got = 0;
    let buf = Buffer.alloc(0);
    sock.on('data', (d: Buffer) => {
      got += d.length;
      if (mode === 'garbage') return void sock.end('HTTP/1.1 400 Bad Request\r\n\r\n');
      if (mode === 'close-mid-stream' && got > 1000) return void sock.destroy();
      if (mode !== 'ok') return; // hang: read everything, never answer
      buf = Buffer.concat([buf, d]);
      if (buf.subarray(0, 6).toString() === 'zPING\0') return void sock.end('PONG\0');
      // The zero-length chunk ends the stream: skip chunk by chunk after the command.
      let off = 'zINSTREAM\0'.length;
      while (off + 4 <= buf.length) {
        const n = buf.readUInt32BE(off);
        if (n === 0) return void sock.end('stream: OK\0');
        off += 4 + n;
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.port = (server.address() as net.AddressInfo).port;
  return state;
}

let fake: Awaited<ReturnType<typeof fakeClamd>>;
let tempfail: TestServer;
let accept: TestServer;
const RCPTS = ['alice@example.test', 'bob@example.test'];

async function withUsers(srv: TestServer): Promise<TestServer> {
  await srv.app.directory.addDomain('example.test');
  for (const r of RCPTS) await srv.addUser(r, 'pw-' + r);
  return srv;
}

beforeAll(async () => {
  fake = await fakeClamd();
  const clamav = { host: '127.0.0.1', port: fake.port, timeoutSeconds: 0.5, chunkBytes: 1024 };
  tempfail = await withUsers(await startTestServer({ scan: { clamav: { ...clamav, onFailure: 'tempfail' } } } as never));
  accept = await withUsers(await startTestServer({ scan: { clamav: { ...clamav, onFailure: 'accept', maxStreamBytes: 64 * 1024 } } } as never));
});
afterAll(async () => {
  await tempfail?.stop();
  await accept?.stop();
  await fake?.close();
});

// ~40 KB: several chunks, so "mid-stream" is mid-stream.
const body = (tag: string): string => plainMessage(('z'.repeat(78) + '\r\n').repeat(500), `fault ${tag}`);
const copies = async (srv: TestServer, tag: string) => (await storedMessages(srv.mailRoot)).filter((m) => m.text.includes(`Subject: fault ${tag}\n`));

describe.each([
  ['hang', 'timeout'],
  ['close-mid-stream', 'closed'],
  ['garbage', 'garbage'],
] as const)('a clamd that %s', (mode, reason) => {
  it('tempfail: 451 4.7.0 for every recipient, nothing stored; the retry after clamd recovers delivers once', async () => {
    fake.mode = mode;
    const started = Date.now();
    const replies = await lmtpSend(tempfail.lmtpPort, RCPTS, body(`${mode}-t`));
    expect(replies).toEqual(RCPTS.map((r) => `451 4.7.0 <${r}>: Virus scan temporarily unavailable, try again later`));
    expect(Date.now() - started).toBeLessThan(5000); // the whole-exchange timeout, not the client's
    expect(await copies(tempfail, `${mode}-t`)).toHaveLength(0);
    expect(tempfail.logs.some((l) => l.msg === 'scanner failed' && l.reason === reason)).toBe(true);

    fake.mode = 'ok';
    const retry = await lmtpSend(tempfail.lmtpPort, RCPTS, body(`${mode}-t`));
    for (const r of retry) expect(r).toMatch(/^250 2\.0\.0 /);
    const stored = await copies(tempfail, `${mode}-t`);
    expect(stored).toHaveLength(2);
    for (const m of stored) expect(m.text).not.toContain('X-Scan-Skipped');
  });

  it(`accept: delivered once per recipient with X-Scan-Skipped: clamav (${reason})`, async () => {
    fake.mode = mode;
    const replies = await lmtpSend(accept.lmtpPort, RCPTS, body(`${mode}-a`));
    for (const r of replies) expect(r).toMatch(/^250 2\.0\.0 /);
    const stored = await copies(accept, `${mode}-a`);
    expect(stored).toHaveLength(2);
    for (const m of stored) {
      // Maildir files have LF line ends (the store writes them as Dovecot does).
      expect(m.text).toContain(`\nX-Scan-Skipped: clamav (${reason})\nFrom: Sender <sender@remote.test>\n`);
      expect(m.text.match(/X-Scan-Skipped/g)).toHaveLength(1);
    }
  });
});

it('accept: a message over maxStreamBytes is not sent to clamd at all and is marked "too large"', async () => {
  fake.mode = 'ok';
  const before = fake.connections;
  const big = plainMessage(('q'.repeat(78) + '\r\n').repeat(1000), 'fault big-a'); // ~80 KB > 64 KiB
  const replies = await lmtpSend(accept.lmtpPort, ['alice@example.test'], big);
  expect(replies[0]).toMatch(/^250 /);
  expect(fake.connections).toBe(before);
  const [m] = await copies(accept, 'big-a');
  expect(m?.text).toContain('X-Scan-Skipped: clamav (too large)\n');
});

it('an unreachable clamd with accept: delivered, marked "unreachable"', async () => {
  const port = REFUSED_PORT;
  const down = await withUsers(await startTestServer({ scan: { clamav: { host: '127.0.0.1', port, onFailure: 'accept' } } } as never));
  try {
    const replies = await lmtpSend(down.lmtpPort, ['alice@example.test'], body('down-a'));
    expect(replies[0]).toMatch(/^250 /);
    const text = (await copies(down, 'down-a'))[0]?.text ?? '';
    expect(text.match(/^X-Scan-Skipped: .*$/m)?.[0]).toBe('X-Scan-Skipped: clamav (unreachable)');
  } finally {
    await down.stop();
  }
});
