// LMTP ingest (RFC 2033) on smtp-server in LMTP mode. LMTP has no authentication, so
// the listener's CIDR allowlist is its gate: a connection from elsewhere is closed before
// the greeting. Each accepted RCPT gets its own reply after DATA (RFC 2033 4.2).
import net from 'node:net';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import type { Logger } from 'pino';
import { createAddressFilter } from '../net/allowlist.js';
import { admit, boundAddresses, closeEach, listenEach } from '../net/bind.js';
import { sessionLogger } from '../log.js';
import type { ListenerConfig, Service } from '../net/listener.js';
import type { DeliveryPipeline } from '../delivery/pipeline.js';
import type { Resolution } from '../directory/types.js';
import { spoolMessage } from '../delivery/spool.js';
import { reply } from '../delivery/types.js';
import { installEnhancedCodePassthrough, lmtpAnswer, replyError } from './reply-codes.js';
import { smtpServerLogger } from './wire-log.js';
import { drainConnections } from './drain.js';
import { countDeliveries, metrics } from '../metrics/index.js';

export interface LmtpServiceOptions {
  listener: ListenerConfig;
  hostname: string;
  maxMessageBytes: number;
  maxRecipients: number;
  spoolDir: string;
  pipeline: DeliveryPipeline;
  logger: Logger;
  /** Grace period for running transactions at stop before connections are cut. */
  closeTimeoutMs?: number;
}

interface SessionState {
  log: Logger;
  /** RCPT-time resolutions, reused at DATA; reset with each transaction. */
  resolved: Map<string, Resolution>;
}

export function createLmtpService(opts: LmtpServiceOptions): Service {
  installEnhancedCodePassthrough();
  const log = opts.logger.child({ svc: 'lmtp' });
  const allowed = createAddressFilter(opts.listener.allow);
  const sessions = new WeakMap<SMTPServerSession, SessionState>();
  const sessionLog = (s: SMTPServerSession): Logger => sessions.get(s)?.log ?? log;

  const smtp = new SMTPServer({
    lmtp: true,
    name: opts.hostname,
    banner: 'ready',
    hideENHANCEDSTATUSCODES: false,
    size: opts.maxMessageBytes,
    maxRecipients: opts.maxRecipients,
    maxClients: opts.listener.maxConnections,
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    hideSTARTTLS: true,
    hideSMTPUTF8: false,
    disableReverseLookup: true,
    socketTimeout: opts.listener.idleTimeoutSeconds * 1000,
    closeTimeout: opts.closeTimeoutMs ?? 30_000,
    logger: smtpServerLogger(log) as never,

    onConnect(session, cb) {
      const slog = sessionLogger(opts.logger, { svc: 'lmtp', sid: session.id, remote: session.remoteAddress });
      sessions.set(session, { log: slog, resolved: new Map() });
      metrics.connections.inc({ protocol: 'lmtp' });
      slog.info('connect');
      cb();
    },

    onClose(session) {
      sessionLog(session).info('disconnect');
    },

    onMailFrom(address, session, cb) {
      sessionLog(session).debug({ from: address.address }, 'mail from');
      sessions.get(session)?.resolved.clear();
      cb();
    },

    onRcptTo(address, session, cb) {
      const slog = sessionLog(session);
      // smtp-server folds a repeated recipient into the earlier entry, which would leave
      // the client waiting for a per-recipient reply that never comes (RFC 2033 4.2).
      // A temporary refusal keeps the reply count right and loses nothing.
      const key = address.address.toLowerCase();
      if (session.envelope.rcptTo.some((r) => r.address.toLowerCase() === key)) {
        slog.info({ rcpt: address.address }, 'duplicate recipient refused');
        cb(replyError(reply(452, '4.5.3', `<${address.address}>: Duplicate recipient, send it in another transaction`)));
        return;
      }
      opts.pipeline
        .checkRecipient(address.address, slog)
        .then(({ refusal, resolution }) => {
          if (!refusal) sessions.get(session)?.resolved.set(address.address, resolution);
          cb(refusal ? replyError(refusal) : undefined);
        })
        .catch((err: unknown) => {
          slog.error({ err, rcpt: address.address }, 'recipient check failed');
          cb(replyError(reply(451, '4.3.0', 'Temporary lookup failure')));
        });
    },

    onData(stream: SMTPServerDataStream, session, cb) {
      const slog = sessionLog(session);
      const recipients = session.envelope.rcptTo.map((r) => r.address);
      handleData(stream, session, recipients, slog)
        .then((answers) => cb(null, answers as unknown as string))
        .catch((err: unknown) => {
          slog.error({ err }, 'transaction failed');
          // One temporary failure per recipient; the sender keeps the message and retries.
          cb(replyError(reply(451, '4.3.0', `Temporary failure, try again later (${session.id})`)));
        });
    },
  });

  async function handleData(
    stream: SMTPServerDataStream,
    session: SMTPServerSession,
    recipients: string[],
    slog: Logger,
  ) {
    const message = await spoolMessage(stream, { spoolDir: opts.spoolDir, maxBytes: opts.maxMessageBytes });
    try {
      if (message.exceeded) {
        slog.info({ size: message.size, limit: opts.maxMessageBytes }, 'message over size limit');
        const tooBig = reply(552, '5.3.4', `Message size exceeds fixed limit of ${opts.maxMessageBytes} bytes`);
        return recipients.map(() => lmtpAnswer(countDeliveries(tooBig)));
      }
      const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
      const replies = await opts.pipeline.deliver(
        {
          mailFrom: from,
          recipients,
          remoteAddress: session.remoteAddress,
          heloName: session.hostNameAppearsAs ?? '',
          protocol: 'LMTP',
          sessionId: session.id,
        },
        message,
        slog,
        sessions.get(session)?.resolved,
      );
      return replies.map(lmtpAnswer);
    } finally {
      await message.dispose();
    }
  }

  smtp.on('error', (err) => log.warn({ err }, 'lmtp connection error'));

  const listeners: net.Server[] = [];

  function accept(socket: net.Socket): void {
    if (!admit(allowed, socket, log)) return;
    // Hand the socket to smtp-server's own accept path (connection limits, session setup).
    smtp.server.emit('connection', socket);
  }

  return {
    name: 'lmtp',
    async start() {
      await listenEach(listeners, () => net.createServer(accept), { bind: opts.listener.bind, port: opts.listener.port, log, errorMessage: 'lmtp listener error' });
    },
    async stop() {
      const closed = closeEach(listeners);
      listeners.length = 0;
      await drainConnections(smtp, opts.closeTimeoutMs ?? 30_000);
      await closed;
    },
    addresses() {
      return boundAddresses(listeners);
    },
  };
}
