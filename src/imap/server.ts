// IMAP listeners: 143 with STARTTLS and 993 with implicit TLS (RFC 8314), each its own
// Service with one net.Server per bind address, the CIDR allowlist, maxConnections and the
// idle timeout. Connections per client address are capped across both listeners.
import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from 'pino';
import { createAddressFilter } from '../net/allowlist.js';
import { admit, boundAddresses, closeEach, listenEach } from '../net/bind.js';
import type { ListenerConfig, Service } from '../net/listener.js';
import { newSessionId, sessionLogger } from '../log.js';
import { ImapSession, type SessionDeps } from './session.js';
import { ImapHub } from './hub.js';
import type { ResolvedConfig } from '../config/schema.js';
import type { Directory } from '../directory/types.js';
import type { MailStore } from '../maildir/types.js';
import type { TlsManager } from '../tls/manager.js';
import type { AuthThrottle } from '../auth/throttle.js';
import { metrics } from '../metrics/index.js';

/** Both IMAP listeners from the configuration (the composition root calls this). */
export function createImapServices(p: {
  config: ResolvedConfig;
  directory: Directory;
  store: MailStore;
  tls: TlsManager;
  authThrottle: AuthThrottle;
  logger: Logger;
  /** Rspamd learning from moves to and from Junk (src/scan/learn.ts); null when off. */
  learner?: import('../scan/learn.js').SpamLearner | null;
}): Service[] {
  const c = p.config.imap;
  const hub = new ImapHub(p.store, p.logger.child({ svc: 'imap' }));
  const perIp = new Map<string, number>();
  const out: Service[] = [];
  const make = (listener: ListenerConfig, implicitTls: boolean): Service =>
    createImapService({
      name: implicitTls ? 'imaps' : 'imap',
      listener,
      implicitTls,
      perIp,
      maxConnectionsPerIp: c.maxConnectionsPerIp,
      logger: p.logger,
      deps: {
        hostname: p.config.hostname,
        delimiter: c.hierarchyDelimiter,
        loopbackIsSecure: p.config.auth.loopbackIsSecure,
        store: p.store,
        directory: p.directory,
        throttle: p.authThrottle,
        hub,
        tls: p.tls,
        ...(p.learner ? { learner: p.learner } : {}),
        limits: {
          maxLineBytes: c.maxLineBytes,
          maxLiteralBytes: c.maxLiteralBytes,
          maxArgs: c.maxArgs,
          maxCommandsBeforeLogin: c.maxCommandsBeforeLogin,
          outputBufferBytes: c.outputBufferBytes,
          idleTimeoutSeconds: listener.idleTimeoutSeconds,
        },
      },
    });
  if (c.starttls.enabled) out.push(make(c.starttls, false));
  if (c.tls.enabled) out.push(make(c.tls, true));
  return out;
}

export interface ImapServiceOptions {
  name: string;
  listener: ListenerConfig;
  implicitTls: boolean;
  deps: SessionDeps;
  /** Shared between the two listeners: address → open connections. */
  perIp: Map<string, number>;
  maxConnectionsPerIp: number;
  logger: Logger;
}

export function createImapService(opts: ImapServiceOptions): Service {
  const svc = opts.implicitTls ? 'imaps' : 'imap';
  const log = opts.logger.child({ svc });
  const allowed = createAddressFilter(opts.listener.allow);
  const servers: net.Server[] = [];
  const sessions = new Set<ImapSession>();

  /** Refuses before any session state exists: a one-line BYE (RFC 3501 7.1.5) and close. */
  function refuse(socket: net.Socket, text: string): void {
    socket.on('error', () => {});
    socket.end(`* BYE ${text}\r\n`);
    setTimeout(() => socket.destroy(), 1000).unref();
  }

  function startSession(socket: net.Socket): void {
    const remote = socket.remoteAddress ?? '';
    const count = opts.perIp.get(remote) ?? 0;
    if (sessions.size >= opts.listener.maxConnections) {
      log.warn({ remote, limit: opts.listener.maxConnections }, 'connection refused: listener full');
      refuse(socket, 'Too many connections, try again later');
      return;
    }
    if (count >= opts.maxConnectionsPerIp) {
      log.warn({ remote, limit: opts.maxConnectionsPerIp }, 'connection refused: too many from this address');
      refuse(socket, 'Too many connections from your address');
      return;
    }
    opts.perIp.set(remote, count + 1);
    const sid = newSessionId();
    const slog = sessionLogger(opts.logger, { svc, sid, remote });
    const session = new ImapSession(socket, sid, opts.deps, slog, { tls: opts.implicitTls, starttls: !opts.implicitTls }, () => {
      sessions.delete(session);
      const n = (opts.perIp.get(remote) ?? 1) - 1;
      if (n <= 0) opts.perIp.delete(remote);
      else opts.perIp.set(remote, n);
    });
    sessions.add(session);
    slog.info({ tls: opts.implicitTls }, 'connect');
    metrics.connections.inc({ protocol: 'imap' });
    session.start();
  }

  function accept(socket: net.Socket): void {
    if (!admit(allowed, socket, log)) return;
    // Replies go out whole (responses are batched before writing), so Nagle's algorithm only
    // adds delay: a tagged OK written right after a large untagged line waited for the
    // client's delayed ACK, ~40 ms on every SORT, SEARCH and SELECT of a big mailbox.
    socket.setNoDelay(true);
    if (!opts.implicitTls) {
      startSession(socket);
      return;
    }
    const secure = new tls.TLSSocket(socket, {
      isServer: true,
      secureContext: opts.deps.tls.secureContext(),
      ...pick(opts.deps.tls.serverOptions()),
    });
    // A client that never finishes the handshake is dropped like an idle one.
    socket.setTimeout(opts.listener.idleTimeoutSeconds * 1000, () => socket.destroy());
    secure.once('secure', () => {
      socket.setTimeout(0);
      startSession(secure);
    });
    secure.on('error', (err) => {
      log.info({ remote: socket.remoteAddress, reason: err.message }, 'tls handshake failed');
      secure.destroy();
    });
  }

  return {
    name: svc,
    async start() {
      await listenEach(servers, () => net.createServer(accept), { bind: opts.listener.bind, port: opts.listener.port, log, errorMessage: 'imap listener error' });
    },
    async stop() {
      const closed = closeEach(servers);
      servers.length = 0;
      // RFC 3501 7.1.5: BYE to every session; a command in flight finishes writing first
      // (up to the deadline), then the socket is ended.
      for (const s of sessions) s.shutdown();
      const deadline = Date.now() + 5000;
      while (sessions.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      for (const s of sessions) s.kill();
      await closed;
    },
    addresses() {
      return boundAddresses(servers);
    },
  };
}

function pick(o: tls.TlsOptions): tls.TlsOptions {
  return { SNICallback: o.SNICallback, minVersion: o.minVersion } as tls.TlsOptions;
}
