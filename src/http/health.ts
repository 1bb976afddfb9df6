// /healthz (the process answers), /readyz (it can do its job) and /metrics (Prometheus text).
// Readiness checks run in parallel with a time limit each, so a hung scanner makes the
// daemon unready instead of hanging the probe.
import { access, constants, mkdir } from 'node:fs/promises';
import type { Directory } from '../directory/types.js';
import type { Service } from '../net/listener.js';
import { registry } from '../metrics/index.js';
import { sendJson, sendText } from './body.js';
import type { Router } from './router.js';

/** Throws (or rejects) when not ready; the message is shown in /readyz. */
export interface ReadinessCheck {
  name: string;
  check(): Promise<void>;
  /** Last known state without waiting on the network (scanners' cached PING), for /healthz. */
  status?(): string;
}

export interface HealthOptions {
  directory: Directory;
  mailRoot: string;
  /** Every service of the daemon; each must have a bound address. */
  services: () => readonly Service[];
  /** Scanners, the outbound queue: added by the composition root as they exist. */
  extraChecks: () => readonly ReadinessCheck[];
  timeoutMs?: number;
}

export function coreChecks(opts: HealthOptions, listening: Set<string>): ReadinessCheck[] {
  return [
    {
      name: 'listeners',
      // Some services are workers without sockets (the outbound queue): a service counts as
      // a listener once it has been seen bound, and is down when it no longer is.
      async check() {
        for (const s of opts.services()) if (s.addresses().length > 0) listening.add(s.name);
        const down = opts.services().filter((s) => listening.has(s.name) && s.addresses().length === 0).map((s) => s.name);
        if (down.length) throw new Error(`not listening: ${down.join(', ')}`);
      },
    },
    {
      name: 'store',
      async check() {
        await mkdir(opts.mailRoot, { recursive: true });
        await access(opts.mailRoot, constants.W_OK);
      },
    },
    {
      name: 'directory',
      async check() {
        await opts.directory.listDomains();
      },
    },
  ];
}

async function runCheck(c: ReadinessCheck, timeoutMs: number): Promise<{ name: string; ok: boolean; error?: string }> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      c.check(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { name: c.name, ok: true };
  } catch (err) {
    return { name: c.name, ok: false, error: (err as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

/** Returns `snapshot`: the HTTP service calls it once bound, recording which services listen. */
export function registerHealthRoutes(router: Router, opts: HealthOptions): () => void {
  const timeoutMs = opts.timeoutMs ?? 2000;
  const listening = new Set<string>();
  // Liveness stays 200 whatever the scanners do (a restart would not bring clamd back);
  // their last known reachability is shown for the operator, without a network wait.
  router.get('/healthz', ({ res }) => {
    const detail = Object.fromEntries(opts.extraChecks().flatMap((c) => (c.status ? [[c.name, c.status()]] : [])));
    sendJson(res, 200, Object.keys(detail).length ? { status: 'ok', checks: detail } : { status: 'ok' });
  });
  router.get('/readyz', async ({ res, log }) => {
    const checks = await Promise.all([...coreChecks(opts, listening), ...opts.extraChecks()].map((c) => runCheck(c, timeoutMs)));
    const ready = checks.every((c) => c.ok);
    if (!ready) log.warn({ failed: checks.filter((c) => !c.ok) }, 'not ready');
    sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'unready', checks });
  });
  router.get('/metrics', async ({ res }) => {
    sendText(res, 200, await registry.metrics(), registry.contentType);
  });
  return () => {
    for (const s of opts.services()) if (s.addresses().length > 0) listening.add(s.name);
  };
}
