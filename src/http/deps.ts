// What the HTTP side needs from the composition root.
import type { Logger } from 'pino';
import type { App } from '../app.js';
import type { Service } from '../net/listener.js';
import type { ReadinessCheck } from './health.js';

export interface HttpDeps extends Pick<App, 'config' | 'directory' | 'store' | 'pipeline' | 'tls' | 'authThrottle'> {
  logger: Logger;
  /** Where ingest bodies over the in-memory limit are spooled. */
  spoolDir: string;
  services: () => readonly Service[];
  readinessChecks: () => readonly ReadinessCheck[];
  closeTimeoutMs?: number;
}
