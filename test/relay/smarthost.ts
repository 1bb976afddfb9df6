// A local smart host that behaves as SendGrid's relay does: STARTTLS required before AUTH,
// AUTH required (user `apikey`), and scriptable per recipient: accept, answer 4xx or 5xx,
// or drop the connection. Port 0, self-signed certificate.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { SMTPServer } from 'smtp-server';
import { ensureSelfSigned } from '../../src/tls/selfsigned.js';

export type Script = 'ok' | 'drop' | { code: number; text: string };

export interface RelayedMessage {
  from: string;
  to: string[];
  data: Buffer;
  params: { mail: Record<string, unknown>; rcpt: Array<Record<string, unknown>> };
}

export interface FakeSmartHost {
  port: number;
  certPem: Buffer;
  received: RelayedMessage[];
  authFailures: number;
  /** Per-recipient behaviour; unlisted recipients are accepted. */
  script: Map<string, Script>;
  /** Waits until `n` messages in total have arrived. */
  waitFor(n: number, timeoutMs?: number): Promise<RelayedMessage[]>;
  /** Stops listening (connections dropped) — "relay down". */
  down(): Promise<void>;
  /** Listens again on the same port. */
  up(): Promise<void>;
  close(): Promise<void>;
}

export const RELAY_PASSWORD = 'SG.test-api-key-never-logged';

export async function startFakeSmartHost(): Promise<FakeSmartHost> {
  const dir = await mkdtemp(join(tmpdir(), 'smarthost-'));
  const pair = await ensureSelfSigned(dir, 'smarthost.test', 'TLSv1.2', pino({ level: 'silent' }));
  const received: RelayedMessage[] = [];
  const script = new Map<string, Script>();
  let waiters: Array<() => void> = [];
  let port = 0;
  const state = { authFailures: 0 };

  const make = (): SMTPServer => {
    const srv: SMTPServer = new SMTPServer({
      key: pair.key,
      cert: pair.cert,
      authMethods: ['PLAIN', 'LOGIN'],
      authOptional: false,
      allowInsecureAuth: false,
      hideDSN: false,
      disabledCommands: [],
      logger: false,
      disableReverseLookup: true,
      size: 50 * 1024 * 1024,
      onAuth(auth, _session, cb) {
        if (auth.username === 'apikey' && auth.password === RELAY_PASSWORD) return cb(null, { user: 'apikey' });
        state.authFailures++;
        cb(Object.assign(new Error('Authentication failed'), { responseCode: 535 }));
      },
      onRcptTo(address, session, cb) {
        const s = script.get(address.address);
        if (!s || s === 'ok') return cb();
        if (s === 'drop') {
          const conns = (srv as unknown as { connections: Set<{ id: string; _socket: { destroy(): void } }> }).connections;
          for (const c of conns) if (c.id === session.id) c._socket.destroy();
          return;
        }
        cb(Object.assign(new Error(s.text), { responseCode: s.code }));
      },
      onData(stream, session, cb) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          received.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            data: Buffer.concat(chunks),
            params: {
              mail: { ...(session.envelope.mailFrom ? session.envelope.mailFrom.args || {} : {}) },
              rcpt: session.envelope.rcptTo.map((r) => ({ ...(r.args || {}) })),
            },
          });
          for (const w of waiters.splice(0)) w();
          cb(null, 'Ok: queued');
        });
      },
    });
    srv.on('error', () => {});
    return srv;
  };

  let server = make();
  const listen = (): Promise<void> =>
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        port = (server.server.address() as AddressInfo).port;
        resolve();
      });
    });
  await listen();

  return {
    get port() {
      return port;
    },
    certPem: pair.cert,
    received,
    get authFailures() {
      return state.authFailures;
    },
    script,
    async waitFor(n, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (received.length < n) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`smart host got ${received.length} of ${n} messages`);
        await new Promise<void>((r) => {
          const t = setTimeout(r, left);
          waiters.push(() => {
            clearTimeout(t);
            r();
          });
        });
      }
      return received;
    },
    async down() {
      const conns = (server as unknown as { connections: Set<{ _socket: { destroy(): void } }> }).connections;
      for (const c of conns) c._socket.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
    async up() {
      server = make();
      await listen();
    },
    async close() {
      waiters = [];
      await new Promise<void>((r) => server.close(() => r()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
