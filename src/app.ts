// The composition root: config → directory → store → pipeline → listeners. Tests start it
// on port 0 with a temporary data directory; main.ts starts it from the command line.
import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { ResolvedConfig } from './config/schema.js';
import type { Directory } from './directory/types.js';
import type { MailStore } from './maildir/types.js';
import type { Service } from './net/listener.js';
import { openDirectory } from './directory/open.js';
import { createMaildirStore } from './maildir/store.js';
import { createDeliveryPipeline, type DeliveryPipeline } from './delivery/pipeline.js';
import { createLmtpService } from './lmtp/server.js';
import { createOutboundServices } from './smtp/index.js';
import { createPop3Services } from './pop3/server.js';
import { createImapServices } from './imap/server.js';
import { createTlsManager, type TlsManager } from './tls/manager.js';
import { AuthThrottle } from './auth/throttle.js';
import { createHttpService } from './http/server.js';
import { startBackupScheduler, type BackupScheduler } from './backup/scheduler.js';
import { createScanStage, type ScanStage } from './scan/index.js';
import { createSpamLearner } from './scan/learn.js';
import type { ScanRequest } from './scan/types.js';

export interface App {
  config: ResolvedConfig;
  directory: Directory;
  store: MailStore;
  pipeline: DeliveryPipeline;
  /** ClamAV and Rspamd as configured (none when scan.clamav.host and scan.rspamd.url are unset). */
  scan: ScanStage;
  tls: TlsManager;
  /** One brute-force throttle for every protocol that takes passwords. */
  authThrottle: AuthThrottle;
  services: Service[];
  /** Bound port of a named service (tests start on port 0). */
  port(name: string): number;
  stop(): Promise<void>;
}

export async function startApp(config: ResolvedConfig, logger: Logger): Promise<App> {
  await mkdir(config.dataDir, { recursive: true, mode: 0o750 });
  const spoolDir = join(config.dataDir, 'spool', 'incoming');

  const tls = await createTlsManager({
    certFile: config.tls.certFile,
    keyFile: config.tls.keyFile,
    dataDir: config.dataDir,
    hostname: config.hostname,
    minVersion: config.tls.minVersion,
    pollIntervalMs: config.tls.pollSeconds * 1000,
    logger,
  });
  // SQLite by default; `directory.driver: mariadb` reuses the old usermgmt database.
  const directory = await openDirectory(config, logger);
  const store = createMaildirStore({ root: config.mailRoot, hostname: config.hostname, logger });
  const scan = createScanStage(config.scan, logger);
  const pipeline = createDeliveryPipeline({ directory, store, logger, hostname: config.hostname, scan });
  const authThrottle = new AuthThrottle({
    maxFailuresPerIp: config.auth.maxFailuresPerIp,
    maxFailuresPerUser: config.auth.maxFailuresPerUser,
    windowMs: config.auth.windowSeconds * 1000,
    delayStepMs: config.auth.failureDelayMs,
    maxDelayMs: config.auth.maxFailureDelayMs,
  });

  const services: Service[] = [];
  if (config.lmtp.enabled) {
    services.push(
      createLmtpService({
        listener: config.lmtp,
        hostname: config.hostname,
        maxMessageBytes: config.delivery.maxMessageBytes,
        maxRecipients: config.delivery.maxRecipients,
        spoolDir,
        pipeline,
        logger,
      }),
    );
  }
  // The outbound queue worker, then 'submission' (587, STARTTLS) and 'submissions' (465).
  // Submitted mail is virus-scanned before it is queued; its local leg is then not scanned again.
  const scanSubmission = scan.submissionScanned ? async (req: ScanRequest) => (await scan.submission(req)).refuse ?? null : undefined;
  services.push(...(await createOutboundServices({ config, directory, pipeline, tls, authThrottle, logger, ...(scanSubmission ? { scanSubmission } : {}) })));
  // 'imap' (STARTTLS) and 'imaps' (implicit TLS), sharing one change hub and per-IP count.
  // Moves into and out of Junk are learned by Rspamd's controller (off while controllerUrl is unset).
  const learner = createSpamLearner(config.scan.rspamd, store, logger);
  services.push(...createImapServices({ config, directory, store, tls, authThrottle, logger, learner }));
  // 'pop3' (STLS) and 'pop3s' (implicit TLS), sharing one maildrop lock registry.
  services.push(
    ...createPop3Services({
      starttls: config.pop3.starttls,
      tls: config.pop3.tls,
      limits: config.pop3,
      loopbackIsSecure: config.auth.loopbackIsSecure,
      hostname: config.hostname,
      store,
      directory,
      throttle: authThrottle,
      tlsManager: tls,
      logger,
    }),
  );

  if (config.http.enabled) {
    // Readiness checks of scanners and the outbound queue join here as those land.
    services.push(createHttpService({ config, directory, store, pipeline, tls, authThrottle, logger, spoolDir, services: () => services, readinessChecks: () => scan.readinessChecks() }));
  }

  const started: Service[] = [];
  let backups: BackupScheduler | null = null;
  const stop = async (): Promise<void> => {
    await backups?.stop(); // a running backup finishes before the directory closes
    await Promise.all(started.map((s) => s.stop()));
    tls.close();
    await learner?.close(); // learns still queued are dropped (logged); one in flight finishes
    await store.close();
    await directory.close();
  };
  try {
    for (const s of services) {
      await s.start();
      started.push(s);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  if (config.backup.schedule.enabled) backups = startBackupScheduler({ config, directory, logger });

  return {
    config,
    directory,
    store,
    pipeline,
    scan,
    tls,
    authThrottle,
    services,
    port(name) {
      const svc = services.find((s) => s.name === name);
      const addr = svc?.addresses()[0];
      if (!addr) throw new Error(`service ${name} is not listening`);
      return addr.port;
    },
    stop,
  };
}
