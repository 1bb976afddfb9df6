// Learning from the user's own moves (issue 7, part 3): a message moved into Junk over
// IMAP is sent to Rspamd's controller as spam (/learnspam), one moved out of Junk into any
// folder but Trash as ham (/learnham). This is what Dovecot set-ups do with imap_sieve and
// rspamc (mailcow, Rspamd's own docs).
//
// Asynchronous: the MOVE reply never waits. Learns wait in a bounded in-memory queue, one
// request at a time, retried with exponential backoff when the controller is unreachable,
// slow or answers 5xx. Pending learns are lost when the process stops (as with imap_sieve,
// whose rspamc call dies with the session); a lost learn only means a weaker Bayes.
//
// The message is read from the store when its turn comes, under its new UID in the folder
// it was moved to; if the user moved it again meanwhile, that learn is dropped.
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { ResolvedConfig } from '../config/schema.js';
import { specialUseOf } from '../maildir/folders.js';
import { StoreError, type MailStore, type MailUser } from '../maildir/types.js';
import { headerValue, RspamdError, rspamdRequest } from './rspamd-http.js';

export type LearnKind = 'spam' | 'ham';

export interface SpamLearner {
  /**
   * A user moved messages (MOVE / UID MOVE); `uids` are their UIDs in `to`. Queues one learn
   * per message when the move is into or out of Junk; returns at once, never throws.
   */
  moved(user: MailUser, from: string, to: string, uids: number[], log: Logger): void;
  /** Learns queued, waiting for a retry or in flight. */
  readonly pending: number;
  /** Settles once nothing is pending (tests); resolves at once when idle. */
  idle(): Promise<void>;
  /** Drops what waits (logged) and lets a request in flight finish; called at shutdown. */
  close(): Promise<void>;
}

/** Into Junk: spam. Out of Junk into anything but Trash: ham (deleting is not an opinion). */
export function learnKindOf(from: string, to: string): LearnKind | null {
  const fromJunk = specialUseOf(from) === '\\Junk';
  const toJunk = specialUseOf(to) === '\\Junk';
  if (toJunk && !fromJunk) return 'spam';
  if (fromJunk && !toJunk && specialUseOf(to) !== '\\Trash') return 'ham';
  return null;
}

interface Job {
  kind: LearnKind;
  user: MailUser;
  mailbox: string;
  uid: number;
  retries: number;
  log: Logger;
}

type Result = 'done' | 'retry' | 'drop';

const MAX_BACKOFF_MS = 10 * 60 * 1000;

/** The learner, or null while `scan.rspamd.controllerUrl` is unset (learning off). */
export function createSpamLearner(cfg: ResolvedConfig['scan']['rspamd'], store: MailStore, logger: Logger): SpamLearner | null {
  const base = cfg.controllerUrl;
  if (!base) return null;
  const log = logger.child({ svc: 'learn' });
  const queue: Job[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let inFlight: Promise<void> | null = null;
  let closed = false;
  let idleWaiters: Array<() => void> = [];

  const pending = (): number => queue.length + timers.size + (inFlight ? 1 : 0);

  function settleIdle(): void {
    if (pending() > 0) return;
    const w = idleWaiters;
    idleWaiters = [];
    for (const f of w) f();
  }

  function pump(): void {
    if (inFlight || closed) return settleIdle();
    const job = queue.shift();
    if (!job) return settleIdle();
    inFlight = runJob(job).finally(() => {
      inFlight = null;
      pump();
    });
  }

  async function runJob(job: Job): Promise<void> {
    let result: Result;
    try {
      result = await learnOnce(job);
    } catch (err) {
      job.log.error({ err, kind: job.kind }, 'learn failed');
      result = 'drop';
    }
    if (result !== 'retry' || closed) return;
    if (job.retries >= cfg.learnRetries) {
      job.log.warn({ kind: job.kind, uid: job.uid, mailbox: job.mailbox, attempts: job.retries + 1 }, 'learn dropped after retries');
      return;
    }
    const wait = Math.min(cfg.learnBackoffSeconds * 1000 * 2 ** job.retries, MAX_BACKOFF_MS);
    job.retries++;
    const t = setTimeout(() => {
      timers.delete(t);
      queue.push(job);
      pump();
    }, wait);
    t.unref(); // a retry waiting must not keep the process alive
    timers.add(t);
  }

  async function learnOnce(job: Job): Promise<Result> {
    let stream: Readable;
    try {
      stream = await store.openMessage(job.user, job.mailbox, job.uid);
    } catch (err) {
      if (err instanceof StoreError) {
        job.log.info({ kind: job.kind, uid: job.uid, mailbox: job.mailbox, code: err.code }, 'learn skipped: message moved or gone');
        return 'drop';
      }
      throw err;
    }
    const headers: Record<string, string> = {
      // Per-user Bayes (classifier `per_user`) keys on Deliver-To; harmless otherwise.
      'Deliver-To': headerValue(`${job.user.localPart}@${job.user.domain}`),
    };
    if (cfg.controllerPassword) headers['Password'] = headerValue(cfg.controllerPassword);
    const started = Date.now();
    try {
      const res = await rspamdRequest({
        base: base!,
        path: job.kind === 'spam' ? '/learnspam' : '/learnham',
        method: 'POST',
        headers,
        body: () => stream, // chunked: the stored size is not at hand, and Rspamd takes it
        timeoutMs: cfg.timeoutSeconds * 1000,
        maxResponseBytes: 64 * 1024,
      });
      const detail = `${res.statusMessage} ${res.body.toString('utf8')}`;
      const fields = { kind: job.kind, uid: job.uid, status: res.status, ms: Date.now() - started };
      // 208 (and in other versions an error text): the same message was learned before.
      if (/already learned/i.test(detail)) {
        job.log.info(fields, 'learn: already learned');
        return 'done';
      }
      if (res.status >= 200 && res.status < 300) {
        // 204: Rspamd took it but had too few tokens to learn from (its reason phrase says so).
        job.log.info(res.status === 204 ? { ...fields, reason: res.statusMessage.slice(0, 200) } : fields, 'learned');
        return 'done';
      }
      if (res.status >= 500) {
        job.log.warn(fields, 'learn: controller failed');
        return 'retry';
      }
      // 401/403 (password), 4xx: retrying the same request would get the same answer.
      job.log.warn({ ...fields, reason: res.statusMessage.slice(0, 200) }, 'learn refused by controller');
      return 'drop';
    } catch (err) {
      if (!(err instanceof RspamdError)) throw err;
      job.log.warn({ kind: job.kind, uid: job.uid, reason: err.reason, retries: job.retries }, 'learn: controller unavailable');
      return 'retry';
    }
  }

  return {
    moved(user, from, to, uids, slog) {
      const kind = learnKindOf(from, to);
      if (!kind || closed || uids.length === 0) return;
      const room = Math.max(0, cfg.learnQueueSize - pending());
      const take = uids.slice(0, room);
      for (const uid of take) queue.push({ kind, user, mailbox: to, uid, retries: 0, log: slog });
      if (take.length < uids.length) slog.warn({ kind, dropped: uids.length - take.length, queue: cfg.learnQueueSize }, 'learn queue full; learns dropped');
      else slog.debug({ kind, count: take.length }, 'learn queued');
      pump();
    },
    get pending() {
      return pending();
    },
    idle() {
      if (pending() === 0) return Promise.resolve();
      return new Promise<void>((resolve) => idleWaiters.push(resolve));
    },
    async close() {
      closed = true;
      for (const t of timers) clearTimeout(t);
      const lost = queue.length + timers.size;
      timers.clear();
      queue.length = 0;
      if (lost > 0) log.warn({ lost }, 'pending learns dropped at shutdown');
      await inFlight;
      settleIdle();
    },
  };
}
