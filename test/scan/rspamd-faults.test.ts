// An Rspamd that misbehaves (issue 7, part 4), as a small fake HTTP server on port 0: it
// answers 500, answers something that is not JSON, never answers (timeout), or drops the
// connection. With onFailure: tempfail every recipient gets 451 4.7.0 and nothing is stored,
// so the sender's retry (once Rspamd answers again) delivers exactly one copy; with
// onFailure: accept the message is delivered once, marked `X-Scan-Skipped: rspamd (<reason>)`.
import http from 'node:http';
import os from 'node:os';
import { Readable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanSection } from '../../src/config/sections/scan.js';
import { createRspamdScanner } from '../../src/scan/rspamd.js';
import { spoolMessage } from '../../src/delivery/spool.js';
import { startTestServer, type TestServer } from '../helpers/app.js';
import { REFUSED_PORT } from '../helpers/ports.js';
import { lmtpSend, plainMessage, storedMessages } from './support.js';

type Mode = 'ok' | '500' | 'invalid-json' | 'hang' | 'reset';

interface Seen {
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  body: Buffer;
}

async function fakeRspamd(): Promise<{ url: string; mode: Mode; seen: Seen[]; close(): Promise<void> }> {
  const state = { url: '', mode: 'ok' as Mode, seen: [] as Seen[], close: async () => {} };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      state.seen.push({ headers: req.headers, rawHeaders: req.rawHeaders, body: Buffer.concat(chunks) });
      switch (state.mode) {
        case 'ok':
          return res.end(JSON.stringify({ action: 'no action', score: 1.5, required_score: 15, symbols: {} }));
        case '500':
          res.statusCode = 500;
          return res.end('{"error":"internal"}');
        case 'invalid-json':
          return res.end('<html>not rspamd</html>');
        case 'reset':
          return req.socket.destroy();
        case 'hang':
          return; // never answers
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  state.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return state;
}

const RCPTS = ['alice@example.test', 'bob@example.test'];
const REASON: Record<Exclude<Mode, 'ok'>, string> = { '500': 'HTTP 500', 'invalid-json': 'invalid JSON', hang: 'timeout', reset: 'econnreset' };

let fake: Awaited<ReturnType<typeof fakeRspamd>>;
let tempfail: TestServer;
let accept: TestServer;

async function withUsers(srv: TestServer): Promise<TestServer> {
  await srv.app.directory.addDomain('example.test');
  for (const r of RCPTS) await srv.addUser(r, `pw-${r}`);
  return srv;
}

beforeAll(async () => {
  fake = await fakeRspamd();
  const rspamd = { url: fake.url, timeoutSeconds: 1 };
  tempfail = await withUsers(await startTestServer({ scan: { rspamd: { ...rspamd, onFailure: 'tempfail' } } } as never));
  accept = await withUsers(await startTestServer({ scan: { rspamd: { ...rspamd, onFailure: 'accept' } } } as never));
});
afterAll(async () => {
  await tempfail?.stop();
  await accept?.stop();
  await fake?.close();
});

const copies = async (srv: TestServer, marker: string) => (await storedMessages(srv.mailRoot)).filter((m) => m.text.includes(marker));

describe('Rspamd faults', () => {
  it('sends the envelope in Rspamd\'s headers and the whole message as the body', async () => {
    fake.mode = 'ok';
    fake.seen.length = 0;
    const msg = plainMessage('A normal message.', 'headers check');
    const replies = await lmtpSend(tempfail.lmtpPort, RCPTS, msg);
    expect(replies.every((r) => r.startsWith('250 '))).toBe(true);
    const [req] = fake.seen;
    expect(req!.body.toString('latin1')).toBe(msg);
    expect(req!.headers['content-length']).toBe(String(Buffer.byteLength(msg, 'latin1')));
    // One `Rcpt` line per recipient, in order (Node keeps repeated headers in rawHeaders).
    expect(req!.rawHeaders.filter((h, i) => i % 2 === 1 && req!.rawHeaders[i - 1] === 'Rcpt')).toEqual(RCPTS);
    expect(req!.headers['ip']).toBe('127.0.0.1');
    expect(req!.headers['helo']).toBe('client.test');
    expect(req!.headers['from']).toBe('sender@remote.test');
    expect(req!.headers['queue-id']).toMatch(/\S/);
    expect(req!.headers['deliver-to']).toBeUndefined(); // two recipients
    // A clean verdict from the fake: the score headers, INBOX.
    const got = await copies(tempfail, 'headers check');
    expect(got).toHaveLength(2);
    for (const c of got) expect(c.text).toMatch(/^X-Spam-Status: No, score=1\.50 required=15\.00$/m);
  });

  for (const mode of ['500', 'invalid-json', 'hang', 'reset'] as const) {
    it(`${mode}: tempfail answers 451 4.7.0 for every recipient and the retry delivers once`, async () => {
      fake.mode = mode;
      const msg = plainMessage('Retry me.', `tempfail ${mode}`);
      const first = await lmtpSend(tempfail.lmtpPort, RCPTS, msg);
      expect(first).toEqual(RCPTS.map((r) => `451 4.7.0 <${r}>: Spam scanner unavailable, try again later`));
      expect(await copies(tempfail, `tempfail ${mode}`)).toHaveLength(0);
      expect(tempfail.logs.some((l) => l.msg === 'rspamd unavailable' && l.reason === REASON[mode])).toBe(true);

      fake.mode = 'ok';
      const retry = await lmtpSend(tempfail.lmtpPort, RCPTS, msg);
      expect(retry.every((r) => r.startsWith('250 2.0.0 '))).toBe(true);
      expect(await copies(tempfail, `tempfail ${mode}`)).toHaveLength(2);
    });

    it(`${mode}: accept delivers once, marked X-Scan-Skipped`, async () => {
      fake.mode = mode;
      const replies = await lmtpSend(accept.lmtpPort, RCPTS, plainMessage('Take me anyway.', `accept ${mode}`));
      expect(replies.every((r) => r.startsWith('250 2.0.0 '))).toBe(true);
      const got = await copies(accept, `accept ${mode}`);
      expect(got).toHaveLength(2);
      for (const c of got) {
        expect(c.text).toMatch(new RegExp(`^X-Scan-Skipped: rspamd \\(${REASON[mode]}\\)$`, 'm'));
        expect(c.text).not.toMatch(/^X-Spam-/m);
        expect(c.text).toContain('Take me anyway.');
      }
    });
  }

  it('an unreachable Rspamd is a failure like the others; ping says so', async () => {
    const cfg = scanSection.parse({ rspamd: { url: `http://127.0.0.1:${REFUSED_PORT}`, onFailure: 'tempfail' } }).rspamd;
    const scanner = createRspamdScanner(cfg, pino({ level: 'silent' }));
    const message = await spoolMessage(Readable.from([Buffer.from(plainMessage('x'))]), { spoolDir: os.tmpdir(), maxBytes: 1 << 20 });
    const env = { mailFrom: '', recipients: ['alice@example.test'], remoteAddress: '127.0.0.1', heloName: 'h', protocol: 'LMTP' as const, sessionId: 's1' };
    const o = await scanner.scan({ env, message, log: pino({ level: 'silent' }) });
    expect(o.refuse).toEqual({ code: 451, enhanced: '4.7.0', text: 'Spam scanner unavailable, try again later' });
    expect(await scanner.ping()).toBe(false);
  });
});
