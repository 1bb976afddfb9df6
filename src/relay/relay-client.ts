// The main thread's side of the relay thread (relay-thread.ts): one request per delivery
// attempt, answered with each recipient's outcome and the DKIM signature that was made.
// The queue worker records those outcomes itself; this module only carries them.
//
// If the thread dies, every open request fails (the queue worker then treats the attempt as
// its own failure and retries later, as for a 4xx) and the next request starts a new thread.
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { QueueEnvelope, QueueRecipient } from './queue-store.js';
import type { RelayReply, RelayRequest, RelayThreadData, StoredBody } from './relay-thread.js';
import type { RelayOutcome } from './smarthost.js';

export type { StoredBody } from './relay-thread.js';

export interface RelayResult {
  outcomes: Map<string, RelayOutcome>;
  /** DKIM-Signature lines made for this attempt (env.dkim was set), to keep in env.prefix. */
  dkim?: string;
}

export interface Relay {
  /** Starts the thread (the smart-host configuration is checked there); requests start it too. */
  start(): Promise<void>;
  /** Signs (when env.dkim is set) and relays the message to the smart host for these recipients. */
  send(env: QueueEnvelope, rcpts: QueueRecipient[], body: StoredBody, log: Logger): Promise<RelayResult>;
  /** Only the DKIM-Signature lines for env.dkim ('' without keys). */
  sign(env: QueueEnvelope, body: StoredBody, log: Logger): Promise<string>;
  /** Closes the smart-host pool; resolves once the thread is gone. */
  close(): Promise<void>;
}

type Done = Extract<RelayReply, { t: 'done' }>;
type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

/** How long close() lets the thread close its connections before it is terminated. */
const CLOSE_GRACE_MS = 2_000;
const LEVELS: Record<number, 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal'> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

/**
 * The thread's script. Run from the sources (vitest imports the .ts files), the built copy
 * in dist/ is used: a worker cannot load TypeScript, and the test set-up builds dist/ first.
 */
function threadUrl(): URL {
  return import.meta.url.endsWith('.ts') ? new URL('../../dist/src/relay/relay-thread.js', import.meta.url) : new URL('./relay-thread.js', import.meta.url);
}

export function createRelayThread(data: Omit<RelayThreadData, 'logLevel'>, logger: Logger): Relay {
  const log = logger.child({ svc: 'relay' });
  // Each thread has its own open requests: a dead thread's 'error' and 'exit' fail only its own.
  let current: { w: Worker; pending: Map<number, { resolve: (r: Done) => void; reject: (e: Error) => void }> } | null = null;
  let ready: Promise<void> | null = null;
  let nextId = 1;

  function relog(line: string): void {
    try {
      const { level, msg, ...fields } = JSON.parse(line) as { level: number; msg?: string } & Record<string, unknown>;
      log[LEVELS[level] ?? 'info'](fields, msg ?? '');
    } catch {
      log.warn({ line }, 'unreadable relay thread log line');
    }
  }

  function start(): Promise<void> {
    const w = new Worker(threadUrl(), { workerData: { ...data, logLevel: logger.level } satisfies RelayThreadData });
    const me = { w, pending: new Map<number, { resolve: (r: Done) => void; reject: (e: Error) => void }>() };
    const { pending } = me;
    current = me;
    // The daemon's listeners keep the process alive; this thread alone must not.
    w.unref();
    const started = new Promise<void>((resolve, reject) => {
      w.on('message', (m: RelayReply) => {
        if (m.t === 'ready') resolve();
        else if (m.t === 'log') relog(m.line);
        else {
          const p = pending.get(m.id);
          pending.delete(m.id);
          p?.resolve(m);
        }
      });
      const gone = (err: Error): void => {
        if (current === me) {
          current = null;
          ready = null;
        }
        reject(err);
        for (const p of pending.values()) p.reject(err);
        pending.clear();
      };
      w.on('error', (err) => {
        log.error({ err }, 'relay thread failed');
        gone(err);
      });
      w.on('exit', (code) => gone(new Error(`relay thread exited (${code})`)));
    });
    started.catch(() => {});
    return started;
  }

  async function request(req: WithoutId<Exclude<RelayRequest, { t: 'close' }>>): Promise<Done> {
    ready ??= start();
    await ready;
    const c = current;
    if (!c) throw new Error('relay thread: gone before the request');
    const id = nextId++;
    const done = new Promise<Done>((resolve, reject) => c.pending.set(id, { resolve, reject }));
    c.w.postMessage({ ...req, id } as RelayRequest);
    const r = await done;
    if (r.error !== undefined) throw new Error(`relay thread: ${r.error}`);
    return r;
  }

  return {
    start() {
      ready ??= start();
      return ready;
    },
    async send(env, rcpts, body) {
      const r = await request({ t: 'send', env, rcpts, body });
      return { outcomes: new Map(r.outcomes ?? []), ...(r.dkim !== undefined ? { dkim: r.dkim } : {}) };
    },
    async sign(env, body) {
      return (await request({ t: 'sign', env, body })).dkim ?? '';
    },
    async close() {
      const w = current?.w;
      if (!w) return;
      const exited = new Promise<void>((r) => w.once('exit', () => r()));
      w.postMessage({ t: 'close' } satisfies RelayRequest);
      const timer = setTimeout(() => void w.terminate(), CLOSE_GRACE_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}
