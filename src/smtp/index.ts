// Builds everything outbound from the configuration: the queue worker (a Service without a
// socket, so the composition root starts and stops it with the listeners), and the
// `submission` (587, STARTTLS) and `submissions` (465, implicit TLS) listeners feeding it.
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { ResolvedConfig } from '../config/schema.js';
import type { Directory } from '../directory/types.js';
import type { DeliveryPipeline } from '../delivery/pipeline.js';
import type { Service } from '../net/listener.js';
import type { TlsManager } from '../tls/manager.js';
import type { AuthThrottle } from '../auth/throttle.js';
import { createDkimSigning } from '../relay/dkim-sign.js';
import { QueueStore } from '../relay/queue-store.js';
import { createRelayThread } from '../relay/relay-client.js';
import { createQueueWorker, type QueueWorker } from '../relay/worker.js';
import { createForwarder } from '../relay/forward.js';
import { createSubmissionService, type SubmissionServiceOptions } from './server.js';
import { createSenderPolicy, HourlyLimiter } from './sender-policy.js';

export interface QueueService extends Service {
  readonly name: 'queue';
  readonly worker: QueueWorker;
  readonly store: QueueStore;
}

export interface OutboundDeps {
  config: ResolvedConfig;
  directory: Directory;
  pipeline: DeliveryPipeline;
  tls: TlsManager;
  authThrottle: AuthThrottle;
  logger: Logger;
  /** Metrics hook: queued messages, called on every change. */
  onQueueSize?: (messages: number) => void;
  /** Submission virus scan (src/scan), passed to both listeners. */
  scanSubmission?: SubmissionServiceOptions['scan'];
}

export const queueDir = (config: ResolvedConfig): string => config.relay.spoolDir ?? join(config.dataDir, 'queue');
export const dkimKeyDir = (config: ResolvedConfig): string => config.dkim.keyDir ?? join(config.dataDir, 'dkim');

/** The queue service first (it must be running before a listener accepts mail), then the listeners. */
export async function createOutboundServices(deps: OutboundDeps): Promise<Service[]> {
  const { config, logger } = deps;
  const store = new QueueStore(queueDir(config));
  const dkimKeys = config.dkim.enabled ? { keyDir: dkimKeyDir(config), selectors: config.dkim.selectors } : null;
  // Signing and the smart-host client run in their own thread; intake only notes which
  // domain signs (the queue entry's `dkim` field).
  const relay = createRelayThread({ smartHost: config.relay, hostname: config.hostname, dkim: dkimKeys }, logger);
  const dkim = dkimKeys ? createDkimSigning(dkimKeys) : null;
  const worker = createQueueWorker({
    store,
    directory: deps.directory,
    pipeline: deps.pipeline,
    relay,
    hostname: config.hostname,
    schedule: {
      initialMs: config.relay.retryInitialSeconds * 1000,
      maxMs: config.relay.retryMaxSeconds * 1000,
      expireMs: config.relay.expireSeconds * 1000,
      delayWarningMs: config.relay.delayWarningSeconds * 1000,
    },
    concurrency: config.relay.concurrency,
    scanMs: config.relay.scanSeconds * 1000,
    logger,
    ...(deps.onQueueSize ? { onSize: deps.onQueueSize } : {}),
  });
  const queueService: QueueService = {
    name: 'queue',
    worker,
    store,
    start: async () => {
      await relay.start();
      await worker.start();
    },
    stop: async () => {
      await worker.stop();
      await store.close();
    },
    addresses: () => [],
  };
  // Alias destinations outside our domains (LMTP, HTTP ingest, local legs of the queue)
  // are forwarded through this queue.
  deps.pipeline.setForwarder(createForwarder({ store, hostname: config.hostname, enqueued: (env) => worker.enqueued(env) }));
  const services: Service[] = [queueService];
  const sub = config.submission;
  const policy = createSenderPolicy(deps.directory, sub, config.delivery.recipientDelimiter);
  const limiter = new HourlyLimiter();
  for (const [name, listener, implicitTls] of [
    ['submission', sub.starttls, false],
    ['submissions', sub.tls, true],
  ] as const) {
    if (!listener.enabled) continue;
    services.push(
      createSubmissionService({
        name,
        implicitTls,
        listener,
        hostname: config.hostname,
        maxMessageBytes: sub.maxMessageBytes,
        loopbackIsSecure: config.auth.loopbackIsSecure,
        directory: deps.directory,
        pipeline: deps.pipeline,
        tls: deps.tls,
        throttle: deps.authThrottle,
        policy,
        limiter,
        dkim,
        queue: store,
        maxSpoolBytes: config.relay.maxSpoolBytes,
        enqueued: (env) => worker.enqueued(env),
        ...(deps.scanSubmission ? { scan: deps.scanSubmission } : {}),
        logger,
      }),
    );
  }
  return services;
}
