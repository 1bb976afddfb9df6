// POP3 listeners: 'pop3' (110, STLS per RFC 2595) and 'pop3s' (995, implicit TLS per
// RFC 8314). Each bind address gets its own net.Server; the CIDR allowlist, the listener's
// connection cap and the per-address cap (shared by both listeners) are checked before
// the greeting. Both listeners share one maildrop lock registry.
import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from 'pino';
import { createAddressFilter } from '../net/allowlist.js';
import { admit, boundAddresses, closeEach, listenEach } from '../net/bind.js';
import { newSessionId, sessionLogger } from '../log.js';
import type { ListenerConfig, Service } from '../net/listener.js';
import type { AuthThrottle } from '../auth/throttle.js';
import type { Directory } from '../directory/types.js';
import type { MailStore } from '../maildir/types.js';
import type { TlsManager } from '../tls/manager.js';
import { MaildropLocks } from './lock.js';
import { Pop3Session } from './session.js';
import type { Pop3Context, Pop3Limits } from './context.js';
import { metrics } from '../metrics/index.js';

export interface Pop3Options {
  starttls: ListenerConfig;
  tls: ListenerConfig;
  limits: Pop3Limits & { maxConnectionsPerIp: number };
  loopbackIsSecure: boolean;
  hostname: string;
  store: MailStore;
  directory: Directory;
  throttle: AuthThrottle;
  tlsManager: TlsManager;
  logger: Logger;
  /** Grace period at stop for a command in progress (a RETR, an UPDATE) to finish. */
  closeTimeoutMs?: number;
}

/** The enabled POP3 services, named 'pop3' and 'pop3s'. */
export function createPop3Services(opts: Pop3Options): Service[] {
  const ctx: Pop3Context = {
    store: opts.store,
    directory: opts.directory,
    throttle: opts.throttle,
    tls: opts.tlsManager,
    hostname: opts.hostname,
    loopbackIsSecure: opts.loopbackIsSecure,
    limits: opts.limits,
    locks: new MaildropLocks(),
    logger: opts.logger,
  };
  const perIp = new Map<string, number>();
  const out: Service[] = [];
  if (opts.starttls.enabled) out.push(createListener('pop3', opts.starttls, false, ctx, perIp, opts));
  if (opts.tls.enabled) out.push(createListener('pop3s', opts.tls, true, ctx, perIp, opts));
  return out;
}

function createListener(
  name: 'pop3' | 'pop3s',
  cfg: ListenerConfig,
  implicitTls: boolean,
  ctx: Pop3Context,
  perIp: Map<string, number>,
  opts: Pop3Options,
): Service {
  const log = opts.logger.child({ svc: name });
  const allowed = createAddressFilter(cfg.allow);
  const servers: net.Server[] = [];
  const sessions = new Set<Pop3Session>();
  const idleMs = cfg.idleTimeoutSeconds * 1000;

  function accept(socket: net.Socket): void {
    const remote = socket.remoteAddress ?? '';
    socket.on('error', () => {}); // until the session attaches its own handler
    if (!admit(allowed, socket, log)) return;
    // Over a cap: say why (RFC 2449 8.1.2 SYS/TEMP) rather than drop silently.
    if (sessions.size >= cfg.maxConnections) {
      log.warn({ remote, limit: cfg.maxConnections }, 'connection refused: listener full');
      refuse(socket, '-ERR [SYS/TEMP] Too many connections, try again later', implicitTls, ctx);
      return;
    }
    const count = perIp.get(remote) ?? 0;
    if (count >= opts.limits.maxConnectionsPerIp) {
      log.warn({ remote, limit: opts.limits.maxConnectionsPerIp }, 'connection refused: too many from this address');
      refuse(socket, '-ERR [SYS/TEMP] Too many connections from your address', implicitTls, ctx);
      return;
    }
    perIp.set(remote, count + 1);
    const sid = newSessionId();
    const session = new Pop3Session(socket, ctx, { svc: name, sid, implicitTls });
    session.log = sessionLogger(opts.logger, { svc: name, sid, remote });
    session.idleMs = idleMs;
    sessions.add(session);
    session.log.info({ tls: implicitTls }, 'connect');
    metrics.connections.inc({ protocol: 'pop3' });
    void session.finished.then(() => {
      sessions.delete(session);
      const n = (perIp.get(remote) ?? 1) - 1;
      if (n <= 0) perIp.delete(remote);
      else perIp.set(remote, n);
    });

    const greeting = `${ctx.hostname} POP3 ready`;
    if (!implicitTls) {
      session.attach(socket, idleMs);
      void session.run(greeting).catch((err: unknown) => session.log.error({ err }, 'session crashed'));
      return;
    }
    const secure = new tls.TLSSocket(socket, { isServer: true, secureContext: ctx.tls.secureContext() });
    // The handshake counts against the idle timer too: a client that never sends a
    // ClientHello is dropped like any other silent one.
    session.attach(secure, idleMs);
    let handshakeDone = false;
    secure.once('secure', () => {
      handshakeDone = true;
      session.log.debug({ protocol: secure.getProtocol(), cipher: secure.getCipher()?.name }, 'tls established');
      void session.run(greeting).catch((err: unknown) => session.log.error({ err }, 'session crashed'));
    });
    secure.once('error', (err: Error) => {
      if (!handshakeDone) session.log.info({ reason: err.message }, 'tls handshake failed');
    });
  }

  return {
    name,
    async start() {
      await listenEach(servers, () => net.createServer(accept), { bind: cfg.bind, port: cfg.port, log, errorMessage: `${name} listener error` });
    },
    async stop() {
      const closed = closeEach(servers);
      servers.length = 0;
      for (const s of sessions) s.shutdown();
      const deadline = Date.now() + (opts.closeTimeoutMs ?? 30_000);
      while (sessions.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      for (const s of sessions) s.destroy();
      await closed;
    },
    addresses() {
      return boundAddresses(servers);
    },
  };
}

/** One -ERR line and close; on the TLS port the line goes inside TLS, or the client can't read it. */
function refuse(socket: net.Socket, line: string, implicitTls: boolean, ctx: Pop3Context): void {
  const target = implicitTls ? new tls.TLSSocket(socket, { isServer: true, secureContext: ctx.tls.secureContext() }) : socket;
  target.on('error', () => {});
  target.setTimeout(10_000, () => target.destroy());
  target.end(line + '\r\n');
}
