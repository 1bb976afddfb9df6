// The outbound queue and DKIM keys as the admin API and UI see them. Built on src/relay's
// own modules (QueueStore, dkim-keys), the same ones `mailserver queue|dkim` use: the queue
// is its directory, and a running worker notices a retry or delete within relay.scanSeconds.
import type { ResolvedConfig } from '../config/schema.js';
import { activeKeys, dnsRecordValue, generateDkimKey, listDomainKeys, type DkimKeyType } from '../relay/dkim-keys.js';
import { isQueueId, QueueStore, type QueueItem } from '../relay/queue-store.js';
import { dkimKeyDir, queueDir } from '../smtp/index.js';
import type { DkimPublicKey } from './dns-records.js';
import { HttpError } from './errors.js';
import type { ReadinessCheck } from './health.js';

export interface QueueMessageJson {
  id: string;
  mailFrom: string;
  user: string;
  size: number;
  createdAt: string;
  recipients: Array<{ address: string; status: string; attempts: number; lastReply?: string; nextAttempt?: string }>;
}

/** A due recipient this late means the worker is not working the queue. */
const STUCK_AFTER_MS = 15 * 60 * 1000;

export function createOutbound(config: ResolvedConfig) {
  const store = new QueueStore(queueDir(config));
  const keyDir = dkimKeyDir(config);

  const toJson = (it: QueueItem): QueueMessageJson => ({
    id: it.env.id,
    mailFrom: it.env.mailFrom,
    user: it.env.user,
    size: it.env.size,
    createdAt: new Date(it.env.createdAt).toISOString(),
    recipients: it.rcpts.map((r) => ({
      address: r.address,
      status: r.status,
      attempts: r.attempts,
      ...(r.lastReply ? { lastReply: r.lastReply } : {}),
      ...(r.status === 'deferred' || r.status === 'queued' ? { nextAttempt: new Date(r.next).toISOString() } : {}),
    })),
  });

  async function one(id: string): Promise<QueueItem> {
    if (!isQueueId(id)) throw new HttpError(404, 'not-found', 'no such message in the queue');
    try {
      return await store.load(id);
    } catch {
      throw new HttpError(404, 'not-found', 'no such message in the queue');
    }
  }

  return {
    async list(): Promise<QueueMessageJson[]> {
      return (await store.loadAll()).map(toJson);
    },
    async show(id: string): Promise<QueueMessageJson> {
      return toJson(await one(id));
    },
    /** Deferred recipients are tried at the worker's next scan. */
    async retry(id?: string): Promise<number> {
      const targets = id === undefined ? await store.loadAll() : [await one(id)];
      for (const it of targets) await store.append(it.env.id, { t: 'retry', at: Date.now() });
      return targets.length;
    },
    /** Removed without delivery or bounce, as `mailserver queue delete`. */
    async remove(id: string): Promise<void> {
      await one(id);
      await store.remove(id);
    },

    async dkimKeys(domain: string): Promise<Array<DkimPublicKey & { type: DkimKeyType; active: boolean }>> {
      const keys = await listDomainKeys(keyDir, domain);
      const active = activeKeys(keys, config.dkim.selectors[domain]);
      return keys.map((k) => ({ selector: k.selector, type: k.type, active: active.includes(k), txt: dnsRecordValue(k) }));
    },
    async generateDkim(domain: string, type: DkimKeyType, selector?: string): Promise<DkimPublicKey & { type: DkimKeyType }> {
      const now = new Date();
      const sel = (selector ?? `${type === 'rsa' ? 'rsa' : 'ed'}${now.getUTCFullYear()}${String(now.getUTCMonth() + 1).padStart(2, '0')}`).toLowerCase();
      const existing = await listDomainKeys(keyDir, domain);
      if (existing.some((k) => k.selector === sel)) throw new HttpError(409, 'exists', `selector ${sel} already has a key for ${domain}`);
      let key;
      try {
        key = await generateDkimKey(keyDir, domain, sel, type);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new HttpError(409, 'exists', `selector ${sel} already has a key for ${domain}`);
        if (/^not a (selector|domain)/.test((err as Error).message)) throw new HttpError(400, 'invalid', (err as Error).message);
        throw err;
      }
      return { selector: key.selector, type: key.type, txt: dnsRecordValue(key) };
    },

    /** Count and age of the oldest message from the file names alone (ids start with the time). */
    async stats(): Promise<{ size: number; oldestAgeSeconds: number }> {
      const ids = await store.list().catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return [] as string[];
        throw err;
      });
      const oldest = ids[0] ? parseInt(ids[0].slice(0, 9), 36) : Date.now();
      return { size: ids.length, oldestAgeSeconds: Math.max(0, (Date.now() - oldest) / 1000) };
    },

    /** Ready unless a due recipient has waited far past its time (the worker is stuck). */
    readiness(): ReadinessCheck {
      return {
        name: 'queue',
        async check() {
          const now = Date.now();
          const late = (await store.loadAll()).filter((it) => it.rcpts.some((r) => (r.status === 'deferred' || r.status === 'queued') && r.next < now - STUCK_AFTER_MS));
          if (late.length > 0) throw new Error(`${late.length} message(s) overdue by more than ${STUCK_AFTER_MS / 60_000} minutes`);
        },
      };
    },
  };
}

export type Outbound = ReturnType<typeof createOutbound>;
