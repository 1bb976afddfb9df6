// One prom-client registry for the process and the named metrics every protocol updates.
// Protocol modules import `metrics` and call e.g. `metrics.connections.inc({ protocol: 'imap' })`;
// `/metrics` on the HTTP listener serves `registry.metrics()`.
//
// The registry is module-global (one per process), so tests that start several daemons in
// one process see counters accumulate: they compare before/after values, never absolutes.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { DeliveryReply } from '../delivery/types.js';

export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'mailserver_' });

/** Protocols as they appear in the `protocol` label. */
export type Protocol = 'lmtp' | 'imap' | 'pop3' | 'submission' | 'http';
/** Delivery outcomes: 2xx delivered, 4xx deferred (sender retries), 5xx rejected (bounce). */
export type DeliveryResult = 'delivered' | 'deferred' | 'rejected';

// Latency buckets in seconds from 1 ms to 30 s: an IMAP FETCH of a large mailbox or a
// ClamAV scan of a 25 MB attachment sits at the top, a NOOP at the bottom.
const SECONDS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export interface QueueStats {
  size: number;
  oldestAgeSeconds: number;
}
type QueueProbe = () => QueueStats | Promise<QueueStats>;
const queueProbes: QueueProbe[] = [];
const queueStats = async (): Promise<QueueStats[]> => Promise.all(queueProbes.map((p) => p()));

export const metrics = {
  connections: new Counter({
    name: 'mailserver_connections_total',
    help: 'Connections accepted, per protocol.',
    labelNames: ['protocol'] as const,
    registers: [registry],
  }),
  commands: new Counter({
    name: 'mailserver_commands_total',
    help: 'Protocol commands handled, per protocol and command verb (upper case).',
    labelNames: ['protocol', 'command'] as const,
    registers: [registry],
  }),
  authFailures: new Counter({
    name: 'mailserver_auth_failures_total',
    help: 'Failed password logins (wrong password, unknown user, throttled), per protocol.',
    labelNames: ['protocol'] as const,
    registers: [registry],
  }),
  deliveries: new Counter({
    name: 'mailserver_deliveries_total',
    help: 'Inbound recipients handled by the delivery pipeline, per result (delivered, deferred, rejected).',
    labelNames: ['result'] as const,
    registers: [registry],
  }),
  imapCommandSeconds: new Histogram({
    name: 'mailserver_imap_command_seconds',
    help: 'IMAP command latency, from the complete command to its tagged reply.',
    labelNames: ['command'] as const,
    buckets: SECONDS,
    registers: [registry],
  }),
  scanResults: new Counter({
    name: 'mailserver_scan_results_total',
    help: 'Scanner verdicts per scanner (rspamd, clamav) and result (clean, spam, virus, error).',
    labelNames: ['scanner', 'result'] as const,
    registers: [registry],
  }),
  scanSeconds: new Histogram({
    name: 'mailserver_scan_seconds',
    help: 'Scanner call latency per scanner.',
    labelNames: ['scanner'] as const,
    buckets: SECONDS,
    registers: [registry],
  }),
  httpRequests: new Counter({
    name: 'mailserver_http_requests_total',
    help: 'HTTP requests per route pattern and status code.',
    labelNames: ['route', 'status'] as const,
    registers: [registry],
  }),
  httpRequestSeconds: new Histogram({
    name: 'mailserver_http_request_seconds',
    help: 'HTTP request latency per route pattern (the ingest route includes delivery).',
    labelNames: ['route'] as const,
    buckets: SECONDS,
    registers: [registry],
  }),
  queueSize: new Gauge({
    name: 'mailserver_queue_size',
    help: 'Messages in the outbound queue.',
    registers: [registry],
    async collect() {
      this.set((await queueStats()).reduce((n, q) => n + q.size, 0));
    },
  }),
  queueOldestAgeSeconds: new Gauge({
    name: 'mailserver_queue_oldest_age_seconds',
    help: 'Age of the oldest message in the outbound queue (0 when empty).',
    registers: [registry],
    async collect() {
      this.set((await queueStats()).reduce((n, q) => Math.max(n, q.oldestAgeSeconds), 0));
    },
  }),
};

/**
 * A cheap probe of the outbound queue (a directory listing, or counts kept in memory); the
 * gauges read it at scrape time. Returns an unregister function for the owner's stop().
 */
export function registerQueueProbe(probe: QueueProbe): () => void {
  queueProbes.push(probe);
  return () => {
    const i = queueProbes.indexOf(probe);
    if (i >= 0) queueProbes.splice(i, 1);
  };
}

export function deliveryResult(r: DeliveryReply): DeliveryResult {
  return r.code < 300 ? 'delivered' : r.code < 500 ? 'deferred' : 'rejected';
}

/** Counts pipeline replies and hands them back unchanged (used inline in the pipeline). */
export function countDeliveries<T extends DeliveryReply | null | DeliveryReply[]>(replies: T): T {
  if (replies === null) return replies;
  for (const r of Array.isArray(replies) ? replies : [replies]) metrics.deliveries.inc({ result: deliveryResult(r) });
  return replies;
}
