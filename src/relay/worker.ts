// The queue worker: takes committed messages from the queue store and delivers each
// recipient on its own: local ones through the one delivery pipeline, remote ones through
// the smart host. Outcomes are journalled (fsynced) as they arrive; temporary failures
// wait on a doubling backoff; permanent failures and expiry end in one DSN to the sender,
// and a recipient still waiting after the warning time earns the sender one delay notice.
//
// Concurrency: one attempt per message at a time (`inFlight`), at most `concurrency`
// messages at once. The directory listing is re-read every scanSeconds, which also picks
// up `mailserver queue retry|delete` done by another process.
import { PassThrough, type Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { Directory } from '../directory/types.js';
import type { DeliveryPipeline } from '../delivery/pipeline.js';
import type { InboundEnvelope } from '../delivery/types.js';
import type { SpooledMessage } from '../delivery/spool.js';
import { buildDsn, type DsnRecipient } from './dsn.js';
import { newQueueId, type JournalRecord, type QueueEnvelope, type QueueItem, type QueueStore, replay } from './queue-store.js';
import type { Relay } from './relay-client.js';
import { nextAttemptDelay, type RetrySchedule } from './schedule.js';

export interface QueueWorkerOptions {
  store: QueueStore;
  directory: Directory;
  pipeline: DeliveryPipeline;
  /** DKIM signing and the smart host, in the relay thread. */
  relay: Relay;
  hostname: string;
  schedule: RetrySchedule;
  concurrency: number;
  scanMs: number;
  logger: Logger;
  /** Called with the number of queued messages whenever it changes (metrics hook). */
  onSize?: (messages: number) => void;
  now?: () => number;
}

export interface QueueWorker {
  start(): Promise<void>;
  /** A message was just committed: deliver it now. */
  enqueued(env: QueueEnvelope): void;
  /** Messages held (for metrics and tests). */
  size(): number;
  /** Resolves when nothing is due or running (tests). */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

/** How long stop() waits for running delivery attempts before closing the smart-host pool. */
const STOP_GRACE_MS = 10_000;
/** Header section of the original for a headers-only DSN is cut at this size. */
const DSN_HEADER_LIMIT = 64 * 1024;
/** RET=FULL returns the whole message only up to this size; larger ones get headers. */
const DSN_FULL_LIMIT = 10 * 1024 * 1024;

export function createQueueWorker(opts: QueueWorkerOptions): QueueWorker {
  const log = opts.logger.child({ svc: 'queue' });
  const now = opts.now ?? Date.now;
  const items = new Map<string, QueueItem>();
  const inFlight = new Map<string, Promise<void>>();
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  let lastScan = 0;
  let lastSize = -1;

  const reportSize = (): void => {
    if (items.size !== lastSize) {
      lastSize = items.size;
      opts.onSize?.(items.size);
    }
  };

  const pending = (it: QueueItem) => it.rcpts.filter((r) => r.status === 'queued' || r.status === 'deferred');
  // Each item's next due time is cached: pump() and schedule() look at every item, and
  // with a backlog of thousands that must be a number compare, not a pass over recipients.
  const dueCache = new WeakMap<QueueItem, number>();
  const dueAt = (it: QueueItem): number => {
    let d = dueCache.get(it);
    if (d === undefined) {
      d = Infinity;
      for (const r of it.rcpts) if ((r.status === 'queued' || r.status === 'deferred') && r.next < d) d = r.next;
      dueCache.set(it, d);
    }
    return d;
  };

  async function scan(): Promise<void> {
    lastScan = now();
    const ids = new Set(await opts.store.list());
    for (const id of items.keys()) if (!ids.has(id) && !inFlight.has(id)) items.delete(id);
    for (const id of ids) {
      if (inFlight.has(id)) continue;
      const known = items.get(id);
      if (known && (await opts.store.journalSize(id)) === known.journalBytes) continue;
      try {
        items.set(id, await opts.store.load(id));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') log.error({ err, qid: id }, 'queue entry unreadable');
      }
    }
    reportSize();
  }

  // pump() and schedule() walk every item: run them once per event-loop turn, however many
  // messages were enqueued or finished in it (with a backlog of hundreds, one walk per
  // message made the queue's bookkeeping cost more than relaying).
  let pumpQueued = false;
  function kick(): void {
    if (pumpQueued || stopped) return;
    pumpQueued = true;
    setImmediate(() => {
      pumpQueued = false;
      void pump();
    });
  }

  function schedule(): void {
    if (stopped) return;
    if (timer) clearTimeout(timer);
    const t = now();
    let next = lastScan + opts.scanMs;
    // With every slot busy, the next finishing attempt pumps again: only the scan needs a timer.
    if (inFlight.size < opts.concurrency) {
      for (const [id, it] of items) {
        if (inFlight.has(id)) continue;
        next = Math.min(next, dueAt(it));
      }
    }
    timer = setTimeout(() => void pump(), Math.max(0, Math.min(next - t, 2 ** 31 - 1)));
  }

  async function pump(): Promise<void> {
    timer = null;
    if (stopped) return;
    try {
      if (now() - lastScan >= opts.scanMs) await scan();
    } catch (err) {
      log.error({ err }, 'queue scan failed');
    }
    const t = now();
    for (const [id, it] of items) {
      if (inFlight.size >= opts.concurrency) break;
      if (inFlight.has(id) || dueAt(it) > t) continue;
      const run = attempt(it)
        .catch((err: unknown) => {
          // Our failure (disk, directory), not the recipient's: wait as for a 4xx, instead
          // of retrying in a tight loop; the journal is untouched, so nothing is lost.
          log.error({ err, qid: id }, 'queue attempt failed');
          dueCache.set(it, now() + opts.schedule.initialMs);
        })
        .finally(() => {
          // A retry comes minutes later at the earliest: it reads the file, not memory.
          opts.store.dropBody(id);
          inFlight.delete(id);
          reportSize();
          kick();
        });
      inFlight.set(id, run);
    }
    schedule();
  }

  async function isLocal(address: string): Promise<boolean> {
    const domain = address.slice(address.lastIndexOf('@') + 1).toLowerCase();
    return !!(await opts.directory.getDomain(domain));
  }

  function openMessage(env: QueueEnvelope): Readable {
    const out = new PassThrough();
    out.write(env.prefix);
    const body = opts.store.openBody(env);
    body.on('error', (err) => out.destroy(err));
    body.pipe(out);
    return out;
  }

  async function attempt(it: QueueItem): Promise<void> {
    const { env } = it;
    const t = now();
    const due = pending(it).filter((r) => r.next <= t);
    if (due.length === 0) return;
    const qlog = log.child({ qid: env.id });
    const local: string[] = [];
    const remote: string[] = [];
    for (const r of due) (await isLocal(r.address) ? local : remote).push(r.address);
    // The DKIM signature (envelope field `dkim`) is made from the stored bytes by the relay
    // thread before anything is sent: along with the relay when every recipient is remote,
    // first when a local one gets it too. Kept in memory only; after a restart the message
    // is signed again (a fresh t=, same body hash).
    const signed = (headers: string): void => {
      env.prefix = headers + env.prefix;
      delete env.dkim;
    };
    if (env.dkim !== undefined && local.length > 0) signed(await opts.relay.sign(env, opts.store.storedBody(env), qlog));
    const records: JournalRecord[] = [];
    let journalled = false;
    const outcome = (rcpt: string, code: number, text: string, isRemote: boolean): JournalRecord => {
      const state = it.rcpts.find((r) => r.address === rcpt)!;
      if (code < 300) return { t: 'rcpt', rcpt, status: 'delivered', at: now(), reply: text, remote: isRemote };
      const expired = now() - env.createdAt >= opts.schedule.expireMs;
      if (code >= 500 || expired) {
        const why = code >= 500 ? text : `4.4.7 Delivery time expired; last reply: ${text}`;
        return { t: 'rcpt', rcpt, status: 'failed', at: now(), reply: why, remote: isRemote };
      }
      return { t: 'rcpt', rcpt, status: 'deferred', at: now(), reply: text, remote: isRemote, next: now() + nextAttemptDelay(opts.schedule, state.attempts + 1) };
    };

    if (local.length > 0) {
      const message: SpooledMessage = { size: env.prefix.length + env.size, exceeded: false, open: () => openMessage(env), dispose: async () => {} };
      const inbound: InboundEnvelope = {
        mailFrom: env.mailFrom,
        recipients: local,
        remoteAddress: '127.0.0.1',
        heloName: opts.hostname,
        // The pipeline writes this into its Received line ("with ESMTPSA"): the message came
        // by authenticated submission, not LMTP.
        protocol: 'ESMTPSA',
        sessionId: env.id,
      };
      const replies = await opts.pipeline.deliver(inbound, message, qlog);
      const recs = local.map((rcpt, i) => outcome(rcpt, replies[i]!.code, `${replies[i]!.code} ${replies[i]!.enhanced} ${replies[i]!.text}`, false));
      records.push(...recs);
      if (remote.length > 0 || !(await finishedClean(it, records, qlog, false))) {
        await opts.store.append(env.id, ...recs);
        journalled = true;
      } else return;
    }
    if (remote.length > 0) {
      const rcpts = env.recipients.filter((r) => remote.includes(r.address));
      const { outcomes: results, dkim } = await opts.relay.send(env, rcpts, opts.store.storedBody(env), qlog);
      if (dkim !== undefined) signed(dkim);
      const recs = remote.map((rcpt) => {
        const o = results.get(rcpt) ?? { code: 451, text: '4.3.0 no outcome' };
        return outcome(rcpt, o.code, o.text, true);
      });
      records.push(...recs);
      // Recorded before anything else happens: a crash after this line repeats nothing.
      if (!(await finishedClean(it, records, qlog, journalled))) await opts.store.append(env.id, ...recs);
      else return;
    }
    for (const r of records) if (r.t === 'rcpt') qlog.info({ rcpt: r.rcpt, status: r.status, reply: r.reply, remote: r.remote }, `recipient ${r.status}`);
    const next = replay(env, [...(await opts.store.readJournal(env.id)).records]);
    Object.assign(it, next, { journalBytes: await opts.store.journalSize(env.id) });
    dueCache.delete(it);
    await afterAttempt(it, qlog);
  }

  /**
   * When this attempt delivered every recipient still open, the durable record of it is the
   * message's removal (unlink + directory fsync): cheaper than a journal that would be
   * deleted a moment later, and just as final after a crash.
   */
  async function finishedClean(it: QueueItem, records: JournalRecord[], qlog: Logger, journalled: boolean): Promise<boolean> {
    const delivered = new Set(records.flatMap((r) => (r.t === 'rcpt' && r.status === 'delivered' ? [r.rcpt] : [])));
    if (!it.rcpts.every((r) => r.status === 'delivered' || delivered.has(r.address))) return false;
    // A message relayed at its first attempt has no journal: skip the failing unlink (a
    // journal another process wrote meanwhile is removed at the next start as an orphan).
    await opts.store.remove(it.env.id, { sync: true, journal: journalled || it.journalBytes > 0 });
    items.delete(it.env.id);
    for (const r of records) if (r.t === 'rcpt') qlog.info({ rcpt: r.rcpt, status: r.status, reply: r.reply, remote: r.remote }, `recipient ${r.status}`);
    qlog.info({ delivered: it.rcpts.length, failed: 0 }, 'queue entry done');
    return true;
  }

  const wants = (notify: string[] | undefined, what: 'FAILURE' | 'DELAY'): boolean =>
    !notify || (notify.includes(what) && !notify.includes('NEVER'));

  async function afterAttempt(it: QueueItem, qlog: Logger): Promise<void> {
    const { env } = it;
    const open = pending(it);
    if (open.length === 0) {
      const failed = it.rcpts.filter((r) => r.status === 'failed' && wants(env.recipients.find((x) => x.address === r.address)?.notify, 'FAILURE'));
      if (failed.length > 0 && env.mailFrom !== '' && !it.bounced) {
        await notify(env, failed.map((r) => dsnRecipient(env, r.address, 'failed', r.lastReply)), qlog);
        await opts.store.append(env.id, { t: 'bounced', at: now() });
      } else if (failed.length > 0 && env.mailFrom === '') {
        qlog.warn({ failed: failed.map((r) => r.address) }, 'bounce undeliverable; dropped');
      }
      await opts.store.remove(env.id);
      items.delete(env.id);
      qlog.info({ delivered: it.rcpts.filter((r) => r.status === 'delivered').length, failed: failed.length }, 'queue entry done');
      return;
    }
    const age = now() - env.createdAt;
    if (!it.warned && opts.schedule.delayWarningMs > 0 && age >= opts.schedule.delayWarningMs && env.mailFrom !== '') {
      const delayed = open.filter((r) => wants(env.recipients.find((x) => x.address === r.address)?.notify, 'DELAY'));
      if (delayed.length > 0) await notify(env, delayed.map((r) => dsnRecipient(env, r.address, 'delayed', r.lastReply)), qlog);
      await opts.store.append(env.id, { t: 'warned', at: now() });
      it.warned = true;
      it.journalBytes = await opts.store.journalSize(env.id);
    }
  }

  function dsnRecipient(env: QueueEnvelope, address: string, action: 'failed' | 'delayed', lastReply?: string): DsnRecipient {
    const m = /\b([245]\.\d{1,3}\.\d{1,3})\b/.exec(lastReply ?? '');
    const status = action === 'delayed' ? (m?.[1]?.startsWith('4') ? m[1] : '4.0.0') : m?.[1]?.startsWith('5') || m?.[1] === '4.4.7' ? m[1]! : '5.0.0';
    return { address, orcpt: env.recipients.find((r) => r.address === address)?.orcpt, action, status, diagnostic: lastReply };
  }

  /** Queues a DSN to the original sender (null sender, so it can never bounce back). */
  async function notify(env: QueueEnvelope, rcpts: DsnRecipient[], qlog: Logger): Promise<void> {
    const full = env.dsn?.ret === 'FULL' && env.size <= DSN_FULL_LIMIT;
    const { head, tail } = buildDsn({
      hostname: opts.hostname,
      to: env.mailFrom,
      queueId: env.id,
      envid: env.dsn?.envid,
      arrival: new Date(env.createdAt),
      recipients: rcpts,
      now: new Date(now()),
      full,
    });
    const id = newQueueId(now());
    const w = await opts.store.create(id);
    try {
      await w.write(head);
      await w.write(Buffer.from(env.prefix));
      await w.write(full ? await readAll(opts.store.openBody(env), Infinity) : headerSection(await readAll(opts.store.openBody(env), DSN_HEADER_LIMIT)));
      await w.write(tail);
      const dsnEnv = await w.commit({ mailFrom: '', user: '', recipients: [{ address: env.mailFrom }], prefix: '', createdAt: now() });
      qlog.info({ dsn: id, action: rcpts[0]!.action, to: env.mailFrom }, 'delivery status notification queued');
      enqueued(dsnEnv);
    } catch (err) {
      await w.abort();
      throw err;
    }
  }

  function enqueued(env: QueueEnvelope): void {
    items.set(env.id, { env, rcpts: replay(env, []).rcpts, warned: false, bounced: false, journalBytes: 0 });
    reportSize();
    kick();
  }

  return {
    async start() {
      await opts.store.init();
      await opts.store.list({ cleanTmp: true });
      await scan();
      log.info({ messages: items.size }, 'queue loaded');
      void pump();
    },
    enqueued,
    size: () => items.size,
    async idle() {
      for (;;) {
        const t = now();
        const busy = inFlight.size > 0 || [...items.values()].some((it) => dueAt(it) <= t);
        if (!busy) return;
        await Promise.all([...inFlight.values()]);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      // Running attempts get a moment to finish and record their outcome; a smart host that
      // hangs is then cut off (its recipients stay queued and are tried after the restart).
      const settle = (ms: number) => Promise.race([Promise.all([...inFlight.values()]), new Promise((r) => setTimeout(r, ms))]);
      await settle(STOP_GRACE_MS);
      await Promise.all([opts.relay.close(), settle(2_000)]);
    },
  };
}

async function readAll(stream: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of stream as AsyncIterable<Buffer>) {
    chunks.push(c);
    n += c.length;
    if (n >= limit) {
      stream.destroy();
      break;
    }
  }
  return Buffer.concat(chunks);
}

function headerSection(buf: Buffer): Buffer {
  const end = buf.indexOf('\r\n\r\n');
  return end >= 0 ? buf.subarray(0, end + 2) : buf;
}
