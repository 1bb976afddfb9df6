// The smart-host client (SendGrid's SMTP relay or any submission server): nodemailer's SMTP
// transport, pooled, STARTTLS required (unless implicit TLS), certificate verified unless
// configured otherwise, AUTH with `apikey` and the password from the configuration's
// secret (never logged: the transport's logger is not used and errors carry no auth data).
//
// One transaction per group of recipients that share DSN parameters (nodemailer applies
// NOTIFY/ORCPT to every RCPT of a transaction); each recipient gets its own outcome.
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import type { Readable } from 'node:stream';
import nodemailer from 'nodemailer';
import type { Logger } from 'pino';
import type { QueueEnvelope, QueueRecipient } from './queue-store.js';

export interface SmartHostConfig {
  host?: string | undefined;
  port: number;
  implicitTls: boolean;
  user: string;
  password?: string | undefined;
  rejectUnauthorized: boolean;
  caFile?: string | undefined;
  connectionTimeoutSeconds: number;
  concurrency: number;
}

/** One recipient's outcome: a 2xx code means the relay took responsibility for it. */
export interface RelayOutcome {
  code: number;
  text: string;
}

export interface SmartHost {
  /** `open` gives the whole message (prefix and stored bytes): a Buffer when it is in memory, else a stream. */
  send(env: QueueEnvelope, rcpts: QueueRecipient[], open: () => Readable | Buffer, log: Logger): Promise<Map<string, RelayOutcome>>;
  close(): void;
}

interface SendError extends Error {
  code?: string;
  responseCode?: number;
  response?: string;
  rejectedErrors?: SendError[];
  recipient?: string;
}

export async function createSmartHost(cfg: SmartHostConfig, hostname: string): Promise<SmartHost> {
  const ca = cfg.caFile ? await readFile(cfg.caFile) : undefined;
  const transport = cfg.host
    ? nodemailer.createTransport({
        pool: true,
        maxConnections: cfg.concurrency,
        host: cfg.host,
        port: cfg.port,
        secure: cfg.implicitTls,
        // RFC 3207: without implicit TLS, refuse to continue unless STARTTLS succeeds.
        requireTLS: !cfg.implicitTls,
        name: hostname,
        ...(cfg.password ? { auth: { user: cfg.user, pass: cfg.password } } : {}),
        // SNI carries names only (RFC 6066 3); an IP address is checked against the certificate's IP SANs.
        tls: { rejectUnauthorized: cfg.rejectUnauthorized, ...(isIP(cfg.host) ? {} : { servername: cfg.host }), ...(ca ? { ca } : {}) },
        connectionTimeout: cfg.connectionTimeoutSeconds * 1000,
        greetingTimeout: cfg.connectionTimeoutSeconds * 1000,
        socketTimeout: 10 * 60 * 1000,
        logger: false,
      })
    : null;

  async function sendGroup(env: QueueEnvelope, rcpts: QueueRecipient[], open: () => Readable | Buffer, out: Map<string, RelayOutcome>): Promise<void> {
    const first = rcpts[0]!;
    const dsn: Record<string, string> = {};
    if (env.dsn?.ret) dsn.ret = env.dsn.ret;
    if (env.dsn?.envid) dsn.envid = env.dsn.envid;
    if (first.notify) dsn.notify = first.notify.join(',');
    if (first.orcpt) dsn.orcpt = first.orcpt;
    try {
      const info = await transport!.sendMail({
        // BODY=8BITMIME goes on when the client declared it (RFC 6152 3); nodemailer adds
        // SMTPUTF8 by itself for internationalized addresses.
        envelope: { from: env.mailFrom, to: rcpts.map((r) => r.address), ...(env.eightBit ? { use8BitMime: true } : {}) },
        raw: open(),
        ...(Object.keys(dsn).length ? { dsn } : {}),
      } as nodemailer.SendMailOptions);
      const rejected = new Map<string, SendError>();
      for (const e of ((info as { rejectedErrors?: SendError[] }).rejectedErrors ?? [])) if (e.recipient) rejected.set(e.recipient, e);
      for (const r of rcpts) {
        const e = rejected.get(r.address);
        out.set(r.address, e ? outcomeOf(e) : { code: 250, text: String(info.response ?? '250 accepted') });
      }
    } catch (err) {
      const e = err as SendError;
      const perRcpt = new Map<string, SendError>();
      for (const re of e.rejectedErrors ?? []) if (re.recipient) perRcpt.set(re.recipient, re);
      for (const r of rcpts) out.set(r.address, outcomeOf(perRcpt.get(r.address) ?? e));
    }
  }

  return {
    async send(env, rcpts, open, log) {
      const out = new Map<string, RelayOutcome>();
      if (!transport) {
        for (const r of rcpts) out.set(r.address, { code: 451, text: '4.3.0 No smart host configured (relay.host)' });
        return out;
      }
      const groups = new Map<string, QueueRecipient[]>();
      for (const r of rcpts) {
        const key = `${r.notify?.join(',') ?? ''}|${r.orcpt ?? ''}`;
        groups.set(key, [...(groups.get(key) ?? []), r]);
      }
      for (const g of groups.values()) await sendGroup(env, g, open, out);
      log.debug({ qid: env.id, outcomes: [...out.values()].map((o) => o.code) }, 'relay attempt done');
      return out;
    },
    close() {
      transport?.close();
    },
  };
}

/**
 * The relay's answer to MAIL, RCPT or DATA keeps its code. Anything else is temporary:
 * connection, TLS and timeouts, and also a refused AUTH, since a wrong API key is our
 * configuration's fault and must not bounce every message in the queue.
 */
function outcomeOf(e: SendError): RelayOutcome {
  const code = e.responseCode;
  const transaction = e.code === 'EENVELOPE' || e.code === 'EMESSAGE';
  if (transaction && code && code >= 400 && code < 600) return { code, text: (e.response ?? e.message).slice(0, 500) };
  return { code: 451, text: `4.4.1 ${e.code ?? 'error'}: ${e.message}`.slice(0, 500) };
}
