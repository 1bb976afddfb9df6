// The smart-host sink for the benchmark: STARTTLS and AUTH offered (AUTH optional, so a
// peer without SASL can relay too), counts what arrives and when.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { SMTPServer } from 'smtp-server';
import { ensureSelfSigned } from '../src/tls/selfsigned.js';

export interface Sink {
  port: number;
  count: number;
  reset(): void;
  /** Resolves when `n` messages arrived since the last reset; returns the time of the last one. */
  waitFor(n: number, timeoutMs?: number): Promise<number>;
  close(): Promise<void>;
}

export async function startSink(): Promise<Sink> {
  const pair = await ensureSelfSigned(await mkdtemp(join(tmpdir(), 'bench-sink-')), 'sink.local', 'TLSv1.2', pino({ level: 'silent' }));
  let count = 0;
  let last = 0;
  const srv = new SMTPServer({
    key: pair.key,
    cert: pair.cert,
    authOptional: true,
    authMethods: ['PLAIN', 'LOGIN'],
    logger: false,
    disableReverseLookup: true,
    size: 100 * 1024 * 1024,
    maxClients: 1000,
    onAuth: (_a, _s, cb) => cb(null, { user: 'apikey' }),
    onData(stream, _s, cb) {
      stream.on('data', () => {});
      stream.on('end', () => {
        count++;
        last = performance.now();
        cb(null, 'Ok');
      });
    },
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  return {
    port: (srv.server.address() as AddressInfo).port,
    get count() {
      return count;
    },
    reset() {
      count = 0;
    },
    async waitFor(n, timeoutMs = 600_000) {
      const deadline = Date.now() + timeoutMs;
      while (count < n) {
        if (Date.now() > deadline) throw new Error(`sink got ${count} of ${n}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      return last;
    },
    close: () => new Promise<void>((r) => srv.close(() => r())),
  };
}
