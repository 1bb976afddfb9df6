// Listener plumbing shared by every service: its own net.Server per bind address (each
// address binds, and fails, on its own), the allowlist gate, and the bound addresses that
// tests starting on port 0 read back.
import type net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { AddressFilter } from './allowlist.js';

/** False, with the socket closed before the greeting, for a peer outside the allowlist. */
export function admit(allowed: AddressFilter, socket: net.Socket, log: Logger): boolean {
  if (allowed(socket.remoteAddress)) return true;
  log.warn({ remote: socket.remoteAddress }, 'connection refused by allowlist');
  socket.destroy();
  return false;
}

export interface ListenOptions {
  bind: readonly string[];
  port: number;
  log: Logger;
  /** The message a listener's later errors are logged with. */
  errorMessage: string;
  /** Extra fields for the 'listening' line. */
  fields?: Record<string, unknown>;
}

/**
 * Creates and binds one server per address, in order; the first bind that fails rejects.
 * Each is pushed onto `servers` once listening, so a stop after a partial start closes those.
 */
export async function listenEach<S extends net.Server>(servers: S[], create: () => S, opts: ListenOptions): Promise<void> {
  for (const host of opts.bind) {
    const srv = create();
    srv.on('error', (err) => opts.log.error({ err, host }, opts.errorMessage));
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen({ host, port: opts.port }, () => {
        srv.off('error', reject);
        resolve();
      });
    });
    servers.push(srv);
    opts.log.info({ addr: srv.address(), ...opts.fields }, 'listening');
  }
}

/** Stops accepting on every server; resolves once all are closed (open connections are the caller's). */
export function closeEach(servers: readonly net.Server[]): Promise<void> {
  return Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r())))).then(() => undefined);
}

export function boundAddresses(servers: readonly net.Server[]): AddressInfo[] {
  return servers.map((s) => s.address()).filter((a): a is AddressInfo => !!a && typeof a === 'object');
}
