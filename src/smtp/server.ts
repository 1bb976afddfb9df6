// Mail submission (RFC 6409) on smtp-server: `submission` on 587 with STARTTLS required
// before AUTH and MAIL, and `submissions` on 465 with implicit TLS (RFC 8314). Only
// authenticated users send, and only as addresses they own; every accepted message is
// DKIM-signed and written to the durable queue before the 250.
//
// Loopback connections may authenticate without TLS when auth.loopbackIsSecure is set:
// smtp-server's allowInsecureAuth is per server, so 587 has two SMTPServer instances with
// the same handlers, and each accepted socket goes to the one that fits its address.
import net from 'node:net';
import { SMTPServer, type SMTPServerAddress, type SMTPServerAuthentication, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import type { Logger } from 'pino';
import { createAddressFilter } from '../net/allowlist.js';
import { admit, boundAddresses, closeEach, listenEach } from '../net/bind.js';
import { sessionLogger } from '../log.js';
import type { ListenerConfig, Service } from '../net/listener.js';
import type { DeliveryPipeline } from '../delivery/pipeline.js';
import type { Directory, UserRecord } from '../directory/types.js';
import type { TlsManager } from '../tls/manager.js';
import type { AuthThrottle } from '../auth/throttle.js';
import { passwordLogin } from '../auth/login.js';
import { reply, type DeliveryReply } from '../delivery/types.js';
import { installEnhancedCodePassthrough, replyError } from '../lmtp/reply-codes.js';
import { smtpServerLogger } from '../lmtp/wire-log.js';
import { drainConnections } from '../lmtp/drain.js';
import type { DkimSigning } from '../relay/dkim-sign.js';
import type { QueueEnvelope, QueueRecipient, QueueStore } from '../relay/queue-store.js';
import { receiveMessage } from './intake.js';
import { isAddress } from './headers.js';
import { HourlyLimiter, type SenderPolicy } from './sender-policy.js';
import { installStarttlsReply } from './reply-fixups.js';
import { metrics } from '../metrics/index.js';
import type { ScanRequest } from '../scan/types.js';

export interface SubmissionServiceOptions {
  name: 'submission' | 'submissions';
  implicitTls: boolean;
  listener: ListenerConfig;
  hostname: string;
  maxMessageBytes: number;
  loopbackIsSecure: boolean;
  directory: Directory;
  pipeline: DeliveryPipeline;
  tls: TlsManager;
  throttle: AuthThrottle;
  policy: SenderPolicy;
  limiter: HourlyLimiter;
  dkim: DkimSigning | null;
  queue: QueueStore;
  /** Refuse new mail with 452 while the queue holds this many bytes (0 = no limit). */
  maxSpoolBytes: number;
  /** Hands a committed message to the queue worker. */
  enqueued(env: QueueEnvelope): void;
  /** Virus scan before the message is committed (src/scan: ClamAV when scanSubmission is on). */
  scan?: (req: ScanRequest) => Promise<DeliveryReply | null>;
  logger: Logger;
  closeTimeoutMs?: number;
}

interface SessionState {
  log: Logger;
  user: UserRecord | null;
}

const isLoopback = (ip: string | undefined): boolean =>
  !!ip && (ip.startsWith('127.') || ip === '::1' || ip.startsWith('::ffff:127.'));

export function createSubmissionService(opts: SubmissionServiceOptions): Service {
  installEnhancedCodePassthrough();
  installStarttlsReply();
  const log = opts.logger.child({ svc: opts.name });
  const allowed = createAddressFilter(opts.listener.allow);
  const sessions = new WeakMap<SMTPServerSession, SessionState>();
  const state = (s: SMTPServerSession): SessionState => {
    let st = sessions.get(s);
    if (!st) {
      st = { log: sessionLogger(opts.logger, { svc: opts.name, sid: s.id, remote: s.remoteAddress }), user: null };
      sessions.set(s, st);
    }
    return st;
  };
  const fail = (code: number, enhanced: string, text: string) => replyError(reply(code, enhanced, text));

  async function isLocalDomain(domain: string): Promise<boolean> {
    return !!(await opts.directory.getDomain(domain.toLowerCase()));
  }

  const handlers = {
    onConnect(session: SMTPServerSession, cb: (err?: Error | null) => void) {
      state(session).log.info({ tls: session.secure }, 'connect');
      metrics.connections.inc({ protocol: 'submission' });
      cb();
    },

    onClose(session: SMTPServerSession) {
      sessions.get(session)?.log.info('disconnect');
    },

    onAuth(auth: SMTPServerAuthentication, session: SMTPServerSession, cb: (err: Error | null | undefined, res?: { user?: unknown }) => void) {
      const st = state(session);
      if (auth.method !== 'PLAIN' && auth.method !== 'LOGIN') {
        cb(fail(504, '5.5.4', 'Unrecognized authentication type'));
        return;
      }
      passwordLogin(
        opts.directory,
        opts.throttle,
        { ip: session.remoteAddress, username: auth.username ?? '', password: auth.password ?? '', service: 'submission' },
        st.log,
      )
        .then((outcome) => {
          if (outcome.ok) {
            st.user = outcome.user;
            st.log = st.log.child({ user: outcome.user.address });
            st.log.info('authenticated');
            cb(null, { user: outcome.user.address });
          } else if (outcome.reason === 'throttled') {
            cb(fail(454, '4.7.0', 'Too many failed attempts, try again later'));
          } else {
            cb(fail(535, '5.7.8', 'Authentication credentials invalid'));
          }
        })
        .catch((err: unknown) => {
          st.log.error({ err }, 'authentication failed with an error');
          cb(fail(454, '4.7.0', `Temporary authentication failure (${session.id})`));
        });
    },

    onMailFrom(address: SMTPServerAddress, session: SMTPServerSession, cb: (err?: Error | null) => void) {
      const st = state(session);
      const user = st.user;
      if (!user) {
        cb(fail(530, '5.7.0', 'Authentication required'));
        return;
      }
      const from = address.address;
      (async (): Promise<Error | undefined> => {
        if (!from || !isAddress(from)) {
          st.log.info({ from }, 'sender refused: not an address');
          return fail(553, '5.1.7', 'Sender address must be a mailbox you own');
        }
        const limits = opts.policy.limits(user);
        if (!opts.limiter.allowed(user.address, limits.maxMessagesPerHour)) {
          st.log.warn({ limit: limits.maxMessagesPerHour }, 'hourly message limit reached');
          return fail(451, '4.7.1', 'Hourly message limit reached, try again later');
        }
        if (!(await opts.policy.mayUse(user, from))) {
          st.log.info({ from }, 'sender refused by policy');
          return fail(553, '5.7.1', `<${from}>: Sender address not owned by user ${user.address}`);
        }
        if (opts.maxSpoolBytes > 0 && (await opts.queue.usage()) >= opts.maxSpoolBytes) {
          st.log.warn('queue spool over its limit');
          return fail(452, '4.3.1', 'Insufficient system storage, try again later');
        }
        st.log.debug({ from }, 'mail from');
        return undefined;
      })()
        .then((err) => cb(err ?? null))
        .catch((err: unknown) => {
          st.log.error({ err }, 'sender check failed');
          cb(fail(451, '4.3.0', `Temporary failure (${session.id})`));
        });
    },

    onRcptTo(address: SMTPServerAddress, session: SMTPServerSession, cb: (err?: Error | null) => void) {
      const st = state(session);
      const user = st.user!;
      const rcpt = address.address;
      const limit = opts.policy.limits(user).maxRecipients;
      if (session.envelope.rcptTo.length >= limit) {
        st.log.info({ limit }, 'too many recipients');
        cb(fail(452, '4.5.3', `Too many recipients (at most ${limit} per message)`));
        return;
      }
      if (!isAddress(rcpt)) {
        cb(fail(553, '5.1.3', `<${rcpt}>: Recipient address syntax error`));
        return;
      }
      const domain = rcpt.slice(rcpt.lastIndexOf('@') + 1);
      (async (): Promise<DeliveryReply | null> => {
        // Local recipients are checked now, so the user learns of a typo at once instead of
        // by bounce; remote ones are the smart host's to judge.
        if (!(await isLocalDomain(domain))) return null;
        return (await opts.pipeline.checkRecipient(rcpt, st.log)).refusal;
      })()
        .then((refusal) => cb(refusal ? replyError(refusal) : null))
        .catch((err: unknown) => {
          st.log.error({ err, rcpt }, 'recipient check failed');
          cb(fail(451, '4.3.0', 'Temporary lookup failure'));
        });
    },

    onData(stream: SMTPServerDataStream, session: SMTPServerSession, cb: (err?: Error | null, message?: string) => void) {
      const st = state(session);
      const user = st.user!;
      handleData(stream, session, st, user)
        .then((r) => (r.code < 300 ? cb(null, `${r.enhanced} ${r.text}`) : cb(replyError(r))))
        .catch((err: unknown) => {
          stream.resume();
          if (stream.destroyed && !stream.readableEnded) {
            st.log.info('client left during DATA; nothing queued');
            cb(fail(451, '4.3.0', 'Aborted'));
            return;
          }
          st.log.error({ err }, 'transaction failed');
          cb(fail(451, '4.3.0', `Temporary failure, try again later (${session.id})`));
        });
    },
  };

  async function handleData(stream: SMTPServerDataStream, session: SMTPServerSession, st: SessionState, user: UserRecord): Promise<DeliveryReply> {
    const env = session.envelope as typeof session.envelope & {
      dsn?: { ret?: string | null; envid?: string | null };
      bodyType?: string;
      smtpUtf8?: boolean;
    };
    const recipients: QueueRecipient[] = env.rcptTo.map((r) => {
      const dsn = (r as { dsn?: { notify?: string[]; orcpt?: string } }).dsn;
      return { address: r.address, ...(dsn?.notify ? { notify: dsn.notify } : {}), ...(dsn?.orcpt ? { orcpt: dsn.orcpt } : {}) };
    });
    const dsn: QueueEnvelope['dsn'] = {};
    if (env.dsn?.ret === 'FULL' || env.dsn?.ret === 'HDRS') dsn.ret = env.dsn.ret;
    if (env.dsn?.envid) dsn.envid = env.dsn.envid;
    const mailFrom = env.mailFrom ? env.mailFrom.address : '';
    const result = await receiveMessage({
      stream,
      queue: opts.queue,
      maxBytes: opts.maxMessageBytes,
      spoolRoom: opts.maxSpoolBytes > 0 ? opts.maxSpoolBytes - (await opts.queue.usage()) : Infinity,
      hostname: opts.hostname,
      mailFrom,
      user: user.address,
      recipients,
      ...(dsn.ret || dsn.envid ? { dsn } : {}),
      eightBit: env.bodyType === '8bitmime',
      smtpUtf8: !!env.smtpUtf8,
      received: receivedHeader(session, opts.hostname),
      checkFrom: async (addresses) => {
        for (const a of addresses) {
          if (!(await opts.policy.mayUse(user, a))) {
            st.log.info({ from: a }, 'From: refused by policy');
            return reply(553, '5.7.1', `From: <${a}> not owned by user ${user.address}`);
          }
        }
        return null;
      },
      signs: async (domain) => (opts.dkim ? opts.dkim.hasKeys(domain) : false),
      ...(opts.scan ? { scan: submissionScan(opts.scan, session, mailFrom, recipients, user, st.log) } : {}),
      log: st.log,
    });
    if (!result.ok) return result.reply;
    opts.limiter.record(user.address);
    st.log.info({ qid: result.env.id, from: mailFrom, rcpts: recipients.length, size: result.env.size, dkim: result.env.dkim !== undefined }, 'queued');
    opts.enqueued(result.env);
    return reply(250, '2.0.0', `Ok: queued as ${result.env.id}`);
  }

  function submissionScan(scan: NonNullable<SubmissionServiceOptions['scan']>, session: SMTPServerSession, mailFrom: string, rcpts: QueueRecipient[], user: UserRecord, log: Logger) {
    const env = { mailFrom, recipients: rcpts.map((r) => r.address), remoteAddress: session.remoteAddress, heloName: session.hostNameAppearsAs ?? '', protocol: 'ESMTPSA' as const, sessionId: session.id };
    return (open: () => import('node:stream').Readable, size: number) => scan({ env, message: { size, exceeded: false, open, dispose: async () => {} }, log, user: user.address });
  }

  const build = (insecureAuth: boolean): SMTPServer => {
    const smtp = new SMTPServer({
      ...opts.tls.serverOptions(),
      secure: opts.implicitTls,
      name: opts.hostname,
      banner: 'ESMTP ready',
      size: opts.maxMessageBytes,
      authMethods: ['PLAIN', 'LOGIN'],
      authOptional: false,
      allowInsecureAuth: insecureAuth,
      hideSTARTTLS: opts.implicitTls,
      hideENHANCEDSTATUSCODES: false,
      hideSMTPUTF8: false,
      hide8BITMIME: false,
      hidePIPELINING: false,
      hideDSN: false,
      disabledCommands: opts.implicitTls ? ['STARTTLS'] : [],
      disableReverseLookup: true,
      maxClients: opts.listener.maxConnections,
      socketTimeout: opts.listener.idleTimeoutSeconds * 1000,
      closeTimeout: opts.closeTimeoutMs ?? 30_000,
      logger: smtpServerLogger(log) as never,
      ...handlers,
    } as ConstructorParameters<typeof SMTPServer>[0]);
    smtp.on('error', (err) => log.warn({ err }, 'submission connection error'));
    // A renewed certificate reaches STARTTLS and implicit TLS without a restart.
    const off1 = opts.tls.onReload(() => smtp.updateSecureContext(opts.tls.serverOptions()));
    const off2 = opts.implicitTls ? opts.tls.attach(smtp.server as unknown as import('../tls/manager.js').SecureContextTarget) : () => {};
    detach.push(off1, off2);
    return smtp;
  };
  const detach: Array<() => void> = [];
  const strict = build(false);
  // Only 587 can carry a password in the clear; 465 is TLS from the first byte.
  const lenient = !opts.implicitTls && opts.loopbackIsSecure ? build(true) : strict;

  const listeners: net.Server[] = [];
  function accept(socket: net.Socket): void {
    if (!admit(allowed, socket, log)) return;
    const target = isLoopback(socket.remoteAddress) ? lenient : strict;
    target.server.emit('connection', socket);
  }

  return {
    name: opts.name,
    async start() {
      await listenEach(listeners, () => net.createServer(accept), { bind: opts.listener.bind, port: opts.listener.port, log, errorMessage: 'listener error' });
    },
    async stop() {
      const closed = closeEach(listeners);
      listeners.length = 0;
      for (const d of detach.splice(0)) d();
      await Promise.all([...new Set([strict, lenient])].map((s) => drainConnections(s, opts.closeTimeoutMs ?? 30_000)));
      await closed;
    },
    addresses() {
      return boundAddresses(listeners);
    },
  };
}

/** RFC 5321 4.4 trace line; "ESMTPSA" = ESMTP + TLS + AUTH (RFC 3848). */
function receivedHeader(session: SMTPServerSession, hostname: string): string {
  const helo = (session.hostNameAppearsAs ?? 'unknown').replace(/[^\x21-\x7e]/g, '');
  const proto = `ESMTP${session.secure ? 'S' : ''}A`;
  const date = new Date().toUTCString().replace('GMT', '+0000');
  return `Received: from ${helo} ([${session.remoteAddress}])\r\n\tby ${hostname} with ${proto} id ${session.id};\r\n\t${date}\r\n`;
}
