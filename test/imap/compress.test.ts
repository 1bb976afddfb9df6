// COMPRESS=DEFLATE (RFC 4978) on the wire: the OK uncompressed and everything after it raw
// deflate both ways; every reply flushed (IDLE pushes included); a pipelined first compressed
// command (iOS Mail) in the same segment as COMPRESS; literals both ways and a slow reader
// of large FETCHes; garbage that does not inflate ends only that session, with a log line.
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from '../helpers/app.js';
import { DeflateWire } from '../helpers/deflate-wire.js';
import { LineClient } from '../helpers/line-client.js';
import { DEFLATER_LINGER_MS, DeflateStream } from '../../src/imap/compress.js';
import { parseRequest } from '../../src/imap/proto/parser.js';
import { Receiver } from '../../src/imap/proto/receiver.js';
import { message, PASS, startImapServer, USER } from './client.js';

let srv: TestServer;
beforeAll(async () => {
  srv = await startImapServer();
});
afterAll(async () => {
  await srv?.stop();
});

async function loggedIn(opts: { tls?: boolean } = {}): Promise<DeflateWire> {
  const c = await DeflateWire.connect(srv.port(opts.tls ? 'imaps' : 'imap'), opts);
  const r = await c.command(`LOGIN ${USER} ${PASS}`);
  expect(r.tagged).toMatch(/ OK /);
  return c;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('COMPRESS=DEFLATE', () => {
  it('is offered; refused before login, for unknown algorithms, and a second time with COMPRESSIONACTIVE', async () => {
    const c = await DeflateWire.connect(srv.port('imap'));
    expect(c.greeting).toContain(' COMPRESS=DEFLATE');
    // RFC 4978 5: command-auth, so not before login.
    expect((await c.command('COMPRESS DEFLATE')).tagged).toBe('A001 BAD COMPRESS not allowed before login');
    await c.command(`LOGIN ${USER} ${PASS}`);
    expect((await c.command('COMPRESS GZIP')).tagged).toBe('A003 NO [CANNOT] Unknown compression algorithm GZIP');
    expect((await c.command('COMPRESS')).tagged).toMatch(/^A004 BAD /);
    expect(await c.compress()).toBe('A005 OK DEFLATE active');
    expect(c.compressing).toBe(true);
    const cap = await c.command('CAPABILITY');
    expect(cap.untagged[0]).toMatch(/^\* CAPABILITY IMAP4rev1 .*COMPRESS=DEFLATE/);
    expect(cap.tagged).toBe('A006 OK CAPABILITY completed');
    // RFC 4978 3: the layer already compressing is named in the response code.
    expect((await c.command('COMPRESS DEFLATE')).tagged).toBe('A007 NO [COMPRESSIONACTIVE] DEFLATE is active already on this connection');
    expect((await c.command('NOOP')).tagged).toBe('A008 OK NOOP completed');
    const bye = await c.command('LOGOUT');
    expect(bye.untagged).toEqual(['* BYE Logging out']);
    c.close();
  });

  it('accepts the first compressed command in the same segment as COMPRESS (iOS Mail), and works over TLS', async () => {
    for (const tls of [false, true]) {
      const c = await loggedIn({ tls });
      // The SELECT is deflated and sent before the OK arrives: those bytes belong to the inflater.
      expect(await c.compress(['p1 SELECT INBOX\r\n', 'p2 NOOP\r\n'])).toMatch(/^A002 OK DEFLATE active$/);
      const sel = await c.response('p1');
      expect(sel.tagged).toMatch(/^p1 OK \[READ-WRITE\] /);
      expect(sel.untagged.some((l) => /^\* \d+ EXISTS$/.test(l))).toBe(true);
      expect((await c.response('p2')).tagged).toBe('p2 OK NOOP completed');
      expect(c.wireBytesIn).toBeGreaterThan(0);
      c.close();
    }
    expect(srv.logs.some((l) => l.msg === 'compression on' && Number(l.pipelined) > 0)).toBe(true);
  });

  it('carries literals both ways and keeps large FETCHes intact through a slow reader', async () => {
    const c = await loggedIn();
    await c.compress();
    await c.command('CREATE Big');
    // A synchronising literal: the continuation request must come through compressed and flushed.
    const small = Buffer.from(message('sync literal'), 'latin1');
    const tag = c.nextTag();
    c.send(`${tag} APPEND Big {${small.length}}\r\n`);
    expect(await c.line()).toMatch(/^\+ /);
    c.send(Buffer.concat([small, Buffer.from('\r\n')]));
    expect((await c.response(tag)).tagged).toMatch(new RegExp(`^${tag} OK \\[APPENDUID \\d+ 1\\]`));
    // Three 3 MB messages of incompressible data (LITERAL+), then FETCHed back in one go.
    const bodies: Buffer[] = [];
    for (let i = 0; i < 3; i++) {
      const body = Buffer.concat([Buffer.from(message(`big ${i}`, ''), 'latin1'), Buffer.from(randomBytes(3 * 1024 * 1024).toString('base64').replace(/.{76}/g, '$&\r\n'))]);
      bodies.push(body);
      const r = await c.command(Buffer.concat([Buffer.from(`APPEND Big {${body.length}+}\r\n`), body]));
      expect(r.tagged).toMatch(/ OK \[APPENDUID /);
    }
    await c.command('SELECT Big');
    const t = c.nextTag();
    c.send(`${t} UID FETCH 2:4 (BODY.PEEK[])\r\n`);
    // Read nothing for a while: the server must wait for us, not buffer and not fail.
    (c as unknown as { socket: { pause(): void; resume(): void } }).socket.pause();
    await new Promise((r) => setTimeout(r, 700));
    (c as unknown as { socket: { pause(): void; resume(): void } }).socket.resume();
    const r = await c.response(t, 60_000);
    expect(r.tagged).toBe(`${t} OK UID FETCH completed`);
    expect(r.literals.map(sha)).toEqual(bodies.map(sha));
    // base64 of random data still deflates (6 bits of 8 are used).
    expect(c.wireBytesIn).toBeLessThan(c.plainBytesIn * 0.85);
    c.close();
  });

  it('pushes IDLE updates at once (each flushed), and keeps working after the deflater was released', async () => {
    const c = await loggedIn();
    await c.compress();
    const sel = await c.command('SELECT INBOX');
    const count = Number(/^\* (\d+) EXISTS$/m.exec(sel.untagged.join('\n'))![1]);
    const idleTag = c.nextTag();
    c.send(`${idleTag} IDLE\r\n`);
    expect(await c.line()).toBe('+ idling');
    // Longer than the deflater's linger: the next push comes from a fresh deflater.
    await new Promise((r) => setTimeout(r, DEFLATER_LINGER_MS + 300));
    const lmtp = await LineClient.connect(srv.lmtpPort);
    await lmtp.reply();
    await lmtp.command('LHLO test');
    await lmtp.command('MAIL FROM:<bob@example.test>');
    await lmtp.command(`RCPT TO:<${USER}>`);
    await lmtp.command('DATA');
    lmtp.write(message('pushed while compressed') + '\r\n.\r\n');
    expect((await lmtp.reply())[0]).toMatch(/^250 /);
    lmtp.close();
    // Without a flush per batch these would sit in the server's deflater and time out here.
    expect(await c.line(5000)).toBe(`* ${count + 1} EXISTS`);
    expect(await c.line(5000)).toBe('* 1 RECENT');
    c.send('DONE\r\n');
    expect((await c.response(idleTag)).tagged).toBe(`${idleTag} OK IDLE terminated`);
    expect((await c.command('NOOP')).tagged).toMatch(/ OK NOOP completed$/);
    c.close();
  });

  it('garbage that does not inflate: a log line, BYE, the connection closed; the server goes on', async () => {
    const c = await loggedIn();
    await c.compress();
    expect((await c.command('NOOP')).tagged).toMatch(/ OK /);
    // 0xff... is an invalid block type (BTYPE 11, RFC 1951 3.2.3) at the next block boundary.
    c.sendRaw(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x00, 0x13, 0x37]));
    expect(await c.lineOrClose()).toBe('* BYE Invalid compressed data');
    await c.waitClose();
    expect(srv.logs.some((l) => l.msg === 'compressed input does not inflate' && typeof l.reason === 'string')).toBe(true);
    // The daemon is alive and serves the next client, compressed or not.
    const d = await loggedIn();
    await d.compress();
    expect((await d.command('NOOP')).tagged).toMatch(/ OK NOOP completed$/);
    d.close();
  });

  it('a client that disconnects mid-stream leaves no error behind', async () => {
    const c = await loggedIn();
    await c.compress();
    await c.command('SELECT Big');
    c.send(`${c.nextTag()} FETCH 1:* (BODY.PEEK[])\r\n`);
    await c.line();
    c.close();
    const d = await loggedIn();
    expect((await d.command('NOOP')).tagged).toMatch(/ OK /);
    d.close();
    expect(srv.logs.filter((l) => l.level === 50 || l.level === 60)).toEqual([]);
  });
});

describe('DeflateStream on its own (a socket pair on loopback)', () => {
  /** A server socket wrapped in a DeflateStream, and the raw client socket facing it. */
  async function pair(): Promise<{ z: DeflateStream; client: net.Socket; errors: Error[]; close(): void }> {
    // allowHalfOpen keeps the server side open after the client's FIN, so what the stream
    // does at FIN is seen on its own, not hidden by the socket closing at once.
    const server = net.createServer({ allowHalfOpen: true });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
    const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    const raw = await accepted;
    const errors: Error[] = [];
    const z = new DeflateStream(raw, Buffer.alloc(0), { onInflateError: (e) => errors.push(e) });
    z.on('error', () => {});
    return {
      z,
      client,
      errors,
      close() {
        client.destroy();
        z.destroy();
        server.close();
      },
    };
  }

  it("reads a client's FIN as the end of input, not as a truncated stream (zone-eu/wildduck#115)", async () => {
    const p = await pair();
    const got: Buffer[] = [];
    p.z.on('data', (d: Buffer) => got.push(d));
    const ended = new Promise<void>((r) => p.z.once('end', () => r()));
    // What every client sends: sync-flushed data, never a final block, then FIN.
    p.client.end(zlib.deflateRawSync(Buffer.from('a1 NOOP\r\n'), { finishFlush: zlib.constants.Z_SYNC_FLUSH }));
    await ended;
    expect(Buffer.concat(got).toString()).toBe('a1 NOOP\r\n');
    await new Promise((r) => setTimeout(r, 100)); // zlib reports from its thread pool
    expect(p.errors).toEqual([]);
    p.close();
   }, 10_000);

  it('inflates input flushed with Z_PARTIAL_FLUSH (K-9 Mail) and Z_SYNC_FLUSH alike', async () => {
    const p = await pair();
    const got: Buffer[] = [];
    p.z.on('data', (d: Buffer) => got.push(d));
    const d = zlib.createDeflateRaw({ level: 1 });
    d.on('data', (b: Buffer) => p.client.write(b));
    d.write('a1 NOOP\r\n');
    d.flush(zlib.constants.Z_PARTIAL_FLUSH);
    await expect.poll(() => Buffer.concat(got).toString()).toBe('a1 NOOP\r\n');
    d.write('a2 CAPABILITY\r\n');
    d.flush(zlib.constants.Z_SYNC_FLUSH);
    await expect.poll(() => Buffer.concat(got).toString()).toBe('a1 NOOP\r\na2 CAPABILITY\r\n');
    d.close();
    p.close();
  });

  it('holds writes back while the socket is full, so the session sees the backlog', async () => {
    const p = await pair();
    p.client.pause();
    const chunk = randomBytes(64 * 1024); // incompressible
    // Write as a session does (wait for 'drain' when write() says so) until 'drain' stops
    // coming: the client reads nothing, so the kernel buffers fill and the stream must wait.
    let written = 0;
    for (;;) {
      written++;
      if (p.z.write(chunk)) continue;
      const drained = await new Promise<boolean>((r) => {
        const t = setTimeout(() => r(false), 300);
        p.z.once('drain', () => {
          clearTimeout(t);
          r(true);
        });
      });
      if (!drained) break;
      expect(written).toBeLessThan(2000); // 125 MB: the kernel cannot be taking all that
    }
    // Held back: the one batch in flight, not everything written so far.
    expect(p.z.writableLength).toBeGreaterThan(0);
    expect(p.z.writableLength).toBeLessThanOrEqual(2 * chunk.length);
    const inflater = zlib.createInflateRaw();
    let out = 0;
    inflater.on('data', (b: Buffer) => (out += b.length));
    p.client.on('data', (b: Buffer) => inflater.write(b));
    p.client.resume();
    await new Promise<void>((r) => p.z.once('drain', () => r()));
    await expect.poll(() => out).toBe(written * chunk.length);
    p.close();
  });
});

describe('COMPRESS grammar and the receiver (pure)', () => {
  const parse = (line: string) => parseRequest({ lines: [Buffer.from(line)], literals: [] });

  it('parses `COMPRESS algorithm` (RFC 4978 5), upper-casing the name; anything else is BAD', () => {
    expect(parse('a1 COMPRESS deflate')).toEqual({ tag: 'a1', ok: true, command: { name: 'COMPRESS', algorithm: 'DEFLATE' } });
    expect(parse('a1 compress DEFLATE')).toEqual({ tag: 'a1', ok: true, command: { name: 'COMPRESS', algorithm: 'DEFLATE' } });
    for (const bad of ['a1 COMPRESS', 'a1 COMPRESS DEFLATE extra', 'a1 COMPRESS "DEFLATE"', 'a1 COMPRESS  DEFLATE']) expect(parse(bad).ok).toBe(false);
  });

  it('stops after COMPRESS and hands the bytes behind it over untouched, at any chunk size', () => {
    const deflated = zlib.deflateRawSync(Buffer.from('b SELECT INBOX\r\n'), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    const input = Buffer.concat([Buffer.from('a NOOP\r\nc COMPRESS DEFLATE\r\n'), deflated]);
    for (const size of [1, 2, 3, 7, 16, input.length]) {
      const r = new Receiver({ maxLineBytes: 1024, maxLiteralBytes: 1024 });
      const names: string[] = [];
      let i = 0;
      // Feed until the receiver has seen COMPRESS; the session stops feeding it then.
      while (i < input.length && !names.includes('COMPRESS')) {
        for (const ev of r.push(input.subarray(i, i + size))) if (ev.type === 'request' && ev.request.ok) names.push(ev.request.command.name);
        i += size;
      }
      expect([size, names]).toEqual([size, ['NOOP', 'COMPRESS']]);
      const rest = Buffer.concat([r.takePending(), input.subarray(Math.min(i, input.length))]);
      expect([size, zlib.inflateRawSync(rest, { finishFlush: zlib.constants.Z_SYNC_FLUSH }).toString()]).toEqual([size, 'b SELECT INBOX\r\n']);
    }
  });
});
