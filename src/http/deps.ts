// What the HTTP side needs from the composition root.
import type { Logger } from 'pino';
import type { ResolvedConfig } from '../config/schema.js';
import type { Directory } from '../directory/types.js';
import type { MailStore } from '../maildir/types.js';
import type { DeliveryPipeline } from '../delivery/pipeline.js';
import type { TlsManager } from '../tls/manager.js';
import type { AuthThrottle } from '../auth/throttle.js';
import type { Service } from '../net/listener.js';
import type { ReadinessCheck } from './health.js';

export interface HttpDeps {
  config: ResolvedConfig;
  directory: Directory;
  store: MailStore;
  pipeline: DeliveryPipeline;
  tls: TlsManager;
  authThrottle: AuthThrottle;
  logger: Logger;
  /** Where ingest bodies over the in-memory limit are spooled. */
  spoolDir: string;
  services: () => readonly Service[];
  readinessChecks: () => readonly ReadinessCheck[];
  closeTimeoutMs?: number;
}
