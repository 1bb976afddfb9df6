// POP3 security and limits against the running daemon: no passwords before TLS when
// loopback is not trusted (RFC 2595), STLS discarding pipelined plaintext, implicit TLS,
// the shared brute-force throttle, idle timeout, per-address connection cap, and a 10 MB
// message streamed intact.
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/app.js';
import { Pop3Wire } from './wire-client.js';

const ALICE = 'alice@example.test';
const PW = 'tls-only password';
const user = { domain: 'example.test', localPart: 'alice' };

async function setUp(overrides: Parameters<typeof startTestServer>[0]): Promise<TestServer> {
  const srv = await startTestServer(overrides);
  await srv.app.directory.addDomain('example.test');
  await srv.addUser(ALICE, PW);
  return srv;
}

async function greeted(port: number, tls = false): Promise<Pop3Wire> {
  const c = await Pop3Wire.connect(port, { tls });
  expect(await c.line()).toMatch(/^\+OK /);
  return c;
}

async function capa(c: Pop3Wire): Promise<string[]> {
  expect(await c.cmd('CAPA')).toMatch(/^\+OK/);
  return c.multiline();
}

describe('POP3 when loopback is not trusted', () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await setUp({ auth: { loopbackIsSecure: false, maxFailuresPerIp: 3, failureDelayMs: 1, maxFailureDelayMs: 5 } });
  });
  afterAll(async () => srv?.stop());

  it('refuses USER, PASS and AUTH before STLS and offers them after it', async () => {
    const c = await greeted(srv.port('pop3'));
    const before = await capa(c);
    expect(before).toContain('STLS');
    expect(before).not.toContain('USER');
    expect(before.some((l) => l.startsWith('SASL'))).toBe(false);
    const refusal = '-ERR [SYS/PERM] Plaintext authentication is disabled on this connection: use STLS first';
    expect(await c.cmd(`USER ${ALICE}`)).toBe(refusal);
    expect(await c.cmd('PASS x')).toBe(refusal);
    expect(await c.cmd('AUTH PLAIN')).toBe(refusal);

    // A command pipelined behind STLS arrives in plaintext: it must be dropped, not run.
    c.write(`STLS\r\nUSER ${ALICE}\r\n`);
    expect(await c.line()).toBe('+OK Begin TLS negotiation');
    await c.upgrade();
    expect(await c.cmd(`PASS ${PW}`)).toBe('-ERR Send USER first');
    const after = await capa(c);
    expect(after).not.toContain('STLS');
    expect(after).toContain('USER');
    expect(after).toContain('SASL PLAIN LOGIN');
    expect(await c.cmd('STLS')).toBe('-ERR TLS is already active');
    expect(await c.login(ALICE, PW)).toMatch(/^\+OK Logged in/);
    expect(await c.cmd('QUIT')).toMatch(/^\+OK Logging out/);
  });

  it('accepts logins on the implicit TLS port and never offers STLS there', async () => {
    const c = await greeted(srv.port('pop3s'), true);
    const caps = await capa(c);
    expect(caps).not.toContain('STLS');
    expect(caps).toContain('USER');
    expect(await c.cmd('STLS')).toBe('-ERR TLS is already active');
    expect(await c.login(ALICE, PW)).toMatch(/^\+OK Logged in/);
    expect(await c.cmd('QUIT')).toMatch(/^\+OK/);
  });

  it('throttles a password-guessing loop through the shared throttle (even the right password)', async () => {
    const c = await greeted(srv.port('pop3s'), true);
    const mark = srv.logs.length;
    for (let i = 0; i < 3; i++) expect(await c.login(ALICE, `guess-${i}`)).toBe('-ERR [AUTH] Authentication failed');
    expect(await c.login(ALICE, PW)).toBe('-ERR [AUTH] Authentication failed');
    const lines = srv.logs.slice(mark);
    expect(lines.filter((l) => l.msg === 'auth failed' && l.service === 'pop3')).toHaveLength(3);
    expect(lines.some((l) => l.msg === 'auth throttled' && l.svc === 'pop3s')).toBe(true);
    expect(lines.filter((l) => l.msg === 'command refused' && l.cmd === 'PASS')).toHaveLength(4);
    // The throttle is the process's one instance: IMAP and submission see the same counters.
    expect(srv.app.authThrottle.check('127.0.0.1', ALICE).allowed).toBe(false);
    c.close();
  });
});

describe('POP3 limits', () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await setUp({ pop3: { maxConnectionsPerIp: 3, starttls: { idleTimeoutSeconds: 1 } } });
  });
  afterAll(async () => srv?.stop());

  it('drops a silent client after the idle timeout without applying deletions', async () => {
    await srv.app.store.deliver(user, 'INBOX', { open: () => Readable.from([Buffer.from('Subject: x\n\nbody\n')]) });
    const c = await greeted(srv.port('pop3'));
    expect(await c.login(ALICE, PW)).toMatch(/^\+OK/);
    expect(await c.cmd('DELE 1')).toMatch(/^\+OK/);
    expect(await c.line(5_000)).toBe('-ERR Disconnected for inactivity');
    expect(await c.line()).toBeNull();
    expect((await srv.app.store.listMessages(user, 'INBOX')).messages).toHaveLength(1);
    expect(srv.logs.some((l) => l.msg === 'idle timeout' && l.svc === 'pop3')).toBe(true);
  });

  it('caps connections per address across both listeners', async () => {
    const open = [await greeted(srv.port('pop3')), await greeted(srv.port('pop3s'), true), await greeted(srv.port('pop3'))];
    const fourth = await Pop3Wire.connect(srv.port('pop3s'), { tls: true });
    expect(await fourth.line()).toBe('-ERR [SYS/TEMP] Too many connections from your address');
    expect(await fourth.line()).toBeNull();
    for (const c of open) expect(await c.cmd('QUIT')).toBe('+OK Logging out');
    await new Promise((r) => setTimeout(r, 100));
    const again = await greeted(srv.port('pop3'));
    again.close();
  });

  it('streams a 10 MB message intact over TLS', async () => {
    await srv.app.store.expunge(user, 'INBOX', (await srv.app.store.listMessages(user, 'INBOX')).messages.map((m) => m.uid));
    // base64 lines, plus lines that start with a dot, LF line ends as stored.
    const lines: string[] = ['From: big@example.org', 'Subject: big', '', ''];
    let size = 0;
    for (let i = 0; size < 10 * 1024 * 1024; i++) {
      const l = i % 100 === 0 ? `.dot line ${i}` : randomBytes(57).toString('base64');
      lines.push(l);
      size += l.length + 1;
    }
    const text = lines.join('\n') + '\n';
    await srv.app.store.deliver(user, 'INBOX', { open: () => Readable.from([Buffer.from(text)]) });
    const c = await greeted(srv.port('pop3s'), true);
    expect(await c.login(ALICE, PW)).toMatch(/^\+OK/);
    const crlf = text.replace(/\n/g, '\r\n');
    expect(await c.cmd('RETR 1')).toBe(`+OK ${crlf.length} octets`);
    const raw = await c.rawMultiline(60_000);
    const unstuffed = raw.toString('latin1').slice(0, -3).replace(/^\./gm, '');
    const sha = (s: string) => createHash('sha256').update(s, 'latin1').digest('hex');
    expect(unstuffed.length).toBe(crlf.length);
    expect(sha(unstuffed)).toBe(sha(crlf));
    expect(await c.cmd('QUIT')).toMatch(/^\+OK/);
  });
});

describe('POP3 backpressure', () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await setUp({});
  });
  afterAll(async () => srv?.stop());

  it('reads the message file only as fast as the client takes it', async () => {
    // 24 MB, generated as a stream: more than the kernel's socket buffers can absorb.
    const line = Buffer.from(`${'x'.repeat(1023)}\n`);
    const total = 24 * 1024;
    async function* body() {
      yield Buffer.from('Subject: huge\n\n');
      for (let i = 0; i < total; i += 64) yield Buffer.concat(Array.from({ length: 64 }, () => line));
    }
    await srv.app.store.deliver(user, 'INBOX', { open: () => Readable.from(body()) });
    // Count what the session pulls from the store.
    let pulled = 0;
    const store = srv.app.store;
    const open = store.openMessage.bind(store);
    store.openMessage = async (...args) => {
      const s = await open(...args);
      s.on('data', (d: Buffer) => (pulled += d.length));
      return s;
    };
    try {
      const c = await greeted(srv.port('pop3s'), true);
      expect(await c.login(ALICE, PW)).toMatch(/^\+OK/);
      c.pause();
      c.send('RETR 1');
      await new Promise((r) => setTimeout(r, 1500));
      const whilePaused = pulled;
      expect(whilePaused).toBeGreaterThan(0);
      expect(whilePaused, `${whilePaused} bytes read while the client was not reading`).toBeLessThan(12 * 1024 * 1024);
      c.resume();
      expect(await c.line()).toMatch(/^\+OK \d+ octets$/);
      const raw = await c.rawMultiline(60_000);
      expect(raw.length).toBe(15 + 2 + total * 1025 + 3); // "Subject: huge", blank line + CRLF lines + ".\r\n"
      expect(pulled).toBeGreaterThan(24 * 1024 * 1024);
      expect(await c.cmd('QUIT')).toMatch(/^\+OK/);
    } finally {
      store.openMessage = open;
    }
  });
});

describe('POP3 stop and broken TLS', () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await setUp({});
  });
  afterAll(async () => srv?.stop());

  it('survives a TLS handshake of garbage after STLS and on the TLS port', async () => {
    const c = await greeted(srv.port('pop3'));
    expect(await c.cmd('STLS')).toBe('+OK Begin TLS negotiation');
    c.write('USER this is not a ClientHello\r\n');
    expect(await c.line()).toBeNull();
    const d = await Pop3Wire.connect(srv.port('pop3s')).catch(() => null); // plain TCP to the TLS port
    expect(d).not.toBeNull();
    d!.write('CAPA\r\n');
    expect(await d!.line()).toBeNull();
    await new Promise((r) => setTimeout(r, 100));
    expect(srv.logs.filter((l) => l.msg === 'tls handshake failed').map((l) => l.svc).sort()).toEqual(['pop3', 'pop3s']);
    // Still serving.
    const e = await greeted(srv.port('pop3s'), true);
    expect(await e.cmd('QUIT')).toBe('+OK Logging out');
  });

  it('tells idle sessions at stop and applies none of their deletions', async () => {
    await srv.app.store.deliver(user, 'INBOX', { open: () => Readable.from([Buffer.from('Subject: keep me\n\nbody\n')]) });
    const c = await greeted(srv.port('pop3s'), true);
    expect(await c.login(ALICE, PW)).toMatch(/^\+OK/);
    expect(await c.cmd('DELE 1')).toMatch(/^\+OK/);
    const stopping = srv.app.stop();
    expect(await c.line()).toBe('-ERR [SYS/TEMP] Server shutting down, try again later');
    expect(await c.line()).toBeNull();
    await stopping;
    // The store is closed with the app; the files tell what happened.
    const { readdir } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const home = join(srv.mailRoot, 'example.test', 'alice');
    const files = [...(await readdir(join(home, 'new'))), ...(await readdir(join(home, 'cur')))];
    expect(files).toHaveLength(1);
    // afterAll's stop() must cope with an app already stopped: remove only the data dir.
    srv = { ...srv, stop: async () => (await import('node:fs/promises')).rm(srv.dataDir, { recursive: true, force: true }) };
  });
});
