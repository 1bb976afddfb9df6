// Backup metrics on the process registry (served at /metrics with everything else).
import { Counter, Gauge, Histogram } from 'prom-client';
import { registry } from '../metrics/index.js';

export const backupMetrics = {
  runs: new Counter({
    name: 'mailserver_backup_runs_total',
    help: 'Backup runs per kind (daily, weekly, manual) and result (ok, failed).',
    labelNames: ['kind', 'result'] as const,
    registers: [registry],
  }),
  seconds: new Histogram({
    name: 'mailserver_backup_seconds',
    help: 'Duration of a backup run (all components).',
    buckets: [1, 5, 15, 60, 300, 900, 3600, 4 * 3600],
    registers: [registry],
  }),
  bytes: new Gauge({
    name: 'mailserver_backup_last_bytes',
    help: 'Size of the last successful backup, all archives.',
    registers: [registry],
  }),
  lastSuccess: new Gauge({
    name: 'mailserver_backup_last_success_timestamp_seconds',
    help: 'Unix time of the last successful backup (alert when it gets old).',
    registers: [registry],
  }),
  offsite: new Counter({
    name: 'mailserver_backup_offsite_uploads_total',
    help: 'Offsite uploads per result (ok, failed).',
    labelNames: ['result'] as const,
    registers: [registry],
  }),
};
