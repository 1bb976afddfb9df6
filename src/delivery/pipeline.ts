// The one inbound delivery pipeline. LMTP, the HTTPS ingest endpoint and the outbound
// queue's local leg all call it; none of them writes to a Maildir on its own.
//
//   spooled message → scan stage (ClamAV, Rspamd) → recipient resolution → quota
//   → Maildir deliver (INBOX or Junk, header edits applied) → one reply per accepted recipient
//
// A reply of 250 is produced only after the store has fsynced the file and its
// directory entry (the store's deliver() contract).
//
// The message is scanned once, before any recipient gets it; a refusal answers every
// recipient. The queue's local leg (protocol ESMTPSA: our own users' submitted mail) is not
// scanned again: submission scanned it (scan.clamav.scanSubmission).
import { PassThrough, type Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { Directory, Resolution, UserRecord } from '../directory/types.js';
import type { MailStore, MailUser } from '../maildir/types.js';
import type { SpooledMessage } from './spool.js';
import { traceHeaders } from './trace-headers.js';
import { reply, type DeliveryReply, type InboundEnvelope } from './types.js';
import { countDeliveries } from '../metrics/index.js';
import type { ScanStage } from '../scan/index.js';
import { applyHeaderEdits, hasEdits } from '../scan/header-edits.js';
import { folderFor } from '../scan/spam-policy.js';
import { noEdits, type HeaderEdits, type ScanOutcome } from '../scan/types.js';

export interface DeliveryPipelineOptions {
  directory: Directory;
  store: MailStore;
  logger: Logger;
  hostname: string;
  /** Deliveries to distinct users of one transaction that run at once. */
  parallelism?: number;
  now?: () => Date;
  /** The scanners (src/scan/index.ts); without one, nothing is scanned. */
  scan?: ScanStage;
}

export interface DeliveryPipeline {
  /**
   * Called at RCPT time. A refusal answers that recipient alone; otherwise the resolution
   * can be handed back to deliver() so the directory is not asked twice.
   */
  checkRecipient(address: string, log: Logger): Promise<{ refusal: DeliveryReply | null; resolution: Resolution }>;
  /**
   * Hands alias destinations outside our domains to the outbound queue (set by the queue's
   * owner at start-up). Without one, such destinations are logged and skipped.
   */
  setForwarder(forward: Forwarder): void;
  /** Delivers to every recipient of the envelope; one reply per recipient, in order. */
  deliver(
    env: InboundEnvelope,
    message: SpooledMessage,
    log: Logger,
    resolved?: ReadonlyMap<string, Resolution>,
  ): Promise<DeliveryReply[]>;
}

/** Queues one copy of the message for the given outside addresses; 250 once it is durable. */
export type Forwarder = (env: InboundEnvelope, message: SpooledMessage, destinations: string[], log: Logger) => Promise<DeliveryReply>;

const MB = 1024 * 1024;

export function createDeliveryPipeline(opts: DeliveryPipelineOptions): DeliveryPipeline {
  const { directory, store, hostname } = opts;
  const parallelism = opts.parallelism ?? 4;
  const now = opts.now ?? (() => new Date());
  const scan = opts.scan && opts.scan.scanners.length > 0 ? opts.scan : null;
  let forwarder: Forwarder | null = null;

  const mailUser = (u: UserRecord): MailUser => ({ domain: u.domain, localPart: u.localPart });

  async function overQuota(user: UserRecord, incoming: number): Promise<boolean> {
    if (!user.quotaMb) return false;
    const usage = await store.quotaUsage(mailUser(user));
    return usage.bytes + incoming > user.quotaMb * MB;
  }

  async function checkRecipient(address: string, log: Logger) {
    const res = await directory.resolveRecipient(address);
    return { refusal: countDeliveries(await refusalFor(address, res, log)), resolution: res };
  }

  async function refusalFor(address: string, res: Resolution, log: Logger): Promise<DeliveryReply | null> {
    if (res.kind === 'unknown') {
      log.info({ rcpt: address }, 'recipient unknown');
      return reply(550, '5.1.1', `<${address}>: User unknown`);
    }
    if (res.kind === 'disabled') {
      log.info({ rcpt: address }, 'recipient disabled');
      return reply(550, '5.2.1', `<${address}>: Mailbox disabled`);
    }
    if (res.users.length === 0 && res.external.length > 0 && forwarder) return null; // forwarded only
    if (res.users.length === 0) {
      // Forwarding to outside addresses needs the outbound queue, which is not running.
      log.warn({ rcpt: address, external: res.external.length }, 'alias has no local destination');
      return reply(550, '5.1.1', `<${address}>: No local mailbox`);
    }
    // Refuse early only when every mailbox is already full; size-dependent checks wait for DATA.
    const full = await Promise.all(res.users.map((u) => overQuota(u, 1)));
    if (full.every(Boolean)) {
      log.info({ rcpt: address }, 'recipient over quota');
      return reply(552, '5.2.2', `<${address}>: Mailbox is full`);
    }
    return null;
  }

  /**
   * Delivers one copy to one user. The reply text names no recipient: one copy may answer
   * several RCPTs (duplicate elimination), and summarise() prefixes each with its own.
   */
  async function deliverToUser(
    env: InboundEnvelope,
    message: SpooledMessage,
    user: UserRecord,
    rcpt: string,
    log: Logger,
    outcome: ScanOutcome,
  ): Promise<DeliveryReply> {
    const who = mailUser(user);
    try {
      if (await overQuota(user, message.size)) {
        log.info({ user: user.address, size: message.size }, 'delivery refused: over quota');
        return reply(552, '5.2.2', 'Mailbox is full');
      }
      // store.deliver creates a missing Maildir (imported users) with its default folders.
      const prefix = traceHeaders(env, user.address, rcpt, hostname, now());
      const source = { open: () => prepend(prefix, edited(message.open(), outcome.edits)) };
      const folder = scan ? folderFor(user.address, outcome, scan.spam) : 'INBOX';
      const result = await store.deliver(who, folder, source).catch((err: unknown) => {
        // A Junk folder the user deleted: INBOX rather than a bounce (Dovecot's LDA does the same).
        if (folder === 'INBOX' || (err as { code?: unknown }).code !== 'no-mailbox') throw err;
        log.info({ user: user.address, folder }, 'spam folder missing; delivered to INBOX');
        return store.deliver(who, 'INBOX', source);
      });
      log.info({ user: user.address, uid: result.uid, size: result.size, ...(folder !== 'INBOX' ? { folder } : {}) }, 'delivered');
      return reply(250, '2.0.0', `${env.sessionId} Saved`);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code === 'over-quota') return reply(552, '5.2.2', 'Mailbox is full');
      // Storage detail goes to the log only; the client learns to retry.
      log.error({ err, user: user.address }, 'delivery failed');
      return reply(451, '4.3.0', `Temporary failure, try again later (${env.sessionId})`);
    }
  }

  async function deliver(
    env: InboundEnvelope,
    message: SpooledMessage,
    log: Logger,
    resolved?: ReadonlyMap<string, Resolution>,
  ): Promise<DeliveryReply[]> {
    let outcome: ScanOutcome = { edits: noEdits() };
    if (scan && env.protocol !== 'ESMTPSA') {
      outcome = await scan.inbound({ env, message, log });
      if (outcome.refuse) {
        const r = outcome.refuse;
        log.info({ code: r.code, enhanced: r.enhanced, reason: r.text, rcpts: env.recipients.length }, 'message refused by scan');
        return countDeliveries(env.recipients.map((rcpt) => ({ ...r, text: `<${rcpt}>: ${r.text}` })));
      }
    }
    // One delivery per distinct user in the whole transaction (duplicate elimination, as
    // Postfix does): RCPT alice and an alias that reaches alice give alice one copy.
    const perUser = new Map<string, Promise<DeliveryReply>>();
    const forwarded = new Map<string, Promise<DeliveryReply>>();
    const queue: Array<() => void> = [];
    let running = 0;
    const limited = (fn: () => Promise<DeliveryReply>): Promise<DeliveryReply> =>
      new Promise((resolve) => {
        const run = (): void => {
          running++;
          fn()
            .then(resolve)
            .finally(() => {
              running--;
              queue.shift()?.();
            });
        };
        if (running < parallelism) run();
        else queue.push(run);
      });

    const perRecipient = env.recipients.map(async (rcpt): Promise<DeliveryReply> => {
      let res;
      try {
        res = resolved?.get(rcpt) ?? (await directory.resolveRecipient(rcpt));
      } catch (err) {
        log.error({ err, rcpt }, 'recipient lookup failed');
        return reply(451, '4.3.0', `<${rcpt}>: Temporary lookup failure`);
      }
      if (res.kind !== 'deliver' || (res.users.length === 0 && !(forwarder && res.external.length > 0))) {
        // Changed between RCPT and DATA (user removed meanwhile).
        return reply(550, '5.1.1', `<${rcpt}>: User unknown`);
      }
      // Outside destinations go to the outbound queue as one copy per destination in the
      // whole transaction; the recipient's reply waits until that copy is durable.
      const fresh = res.external.filter((d) => !forwarded.has(d));
      if (fresh.length > 0 && forwarder) {
        const f = forwarder;
        const p = f(env, message, fresh, log).catch((err: unknown) => {
          log.error({ err, rcpt }, 'forwarding failed');
          return reply(451, '4.3.0', `Temporary failure, try again later (${env.sessionId})`);
        });
        for (const d of fresh) forwarded.set(d, p);
      } else if (fresh.length > 0) {
        log.warn({ rcpt, external: res.external }, 'alias destinations outside our domains not forwarded');
      }
      const forwards = [...new Set(res.external.map((d) => forwarded.get(d)).filter((p): p is Promise<DeliveryReply> => !!p))];
      const outcomes = await Promise.all([
        ...forwards,
        ...res.users.map((user) => {
          let p = perUser.get(user.address);
          if (!p) {
            p = limited(() => deliverToUser(env, message, user, rcpt, log, outcome));
            perUser.set(user.address, p);
          }
          return p;
        }),
      ]);
      return summarise(rcpt, outcomes);
    });
    return Promise.all(perRecipient).then(countDeliveries);
  }

  return {
    checkRecipient,
    deliver,
    setForwarder(f) {
      forwarder = f;
    },
  };
}

/**
 * One reply for a recipient that fanned out to several mailboxes: success if any copy was
 * saved and none failed temporarily (a retry would duplicate the saved copies, but losing
 * mail is worse, so a temporary failure wins); otherwise the first permanent failure.
 */
function summarise(rcpt: string, outcomes: DeliveryReply[]): DeliveryReply {
  const temp = outcomes.find((r) => r.code >= 400 && r.code < 500);
  const pick = temp ?? outcomes.find((r) => r.code < 300) ?? outcomes[0]!;
  const sep = pick.code < 300 ? ' ' : ': ';
  return { ...pick, text: `<${rcpt}>${sep}${pick.text}` };
}

/** The scan's header edits as a streaming transform on the header block (src/scan/header-edits.ts). */
function edited(body: Readable, edits: HeaderEdits): Readable {
  if (!hasEdits(edits)) return body;
  const out = applyHeaderEdits(edits);
  body.on('error', (err) => out.destroy(err));
  return body.pipe(out);
}

function prepend(prefix: Buffer, body: Readable): Readable {
  const out = new PassThrough();
  out.write(prefix);
  body.on('error', (err) => out.destroy(err));
  body.pipe(out);
  return out;
}
