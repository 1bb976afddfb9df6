// The daemon's own backup schedule (croner): a daily and a weekly cron expression. One run
// at a time: a run that falls due while another is still writing is skipped and logged
// (the next one catches up), never queued behind it.
import { Cron } from 'croner';
import type { Logger } from 'pino';
import type { ResolvedConfig } from '../config/schema.js';
import type { Directory } from '../directory/types.js';
import { runBackup } from './backup.js';
import type { BackupKind } from './manifest.js';

export interface BackupScheduler {
  /** Next planned run per kind (for logs and tests). */
  next(): { daily: Date | null; weekly: Date | null };
  /** Runs one scheduled backup now, as the timer would. */
  trigger(kind: BackupKind): Promise<void>;
  stop(): Promise<void>;
}

export function startBackupScheduler(deps: { config: ResolvedConfig; directory: Directory; logger: Logger; configFile?: string }): BackupScheduler {
  const { config } = deps;
  const log = deps.logger.child({ svc: 'backup-scheduler' });
  let running: Promise<void> | null = null;

  const run = (kind: BackupKind): Promise<void> => {
    if (running) {
      log.warn({ kind }, 'backup skipped: the previous run is still going');
      return running;
    }
    running = (async () => {
      try {
        const r = await runBackup({ config, directory: deps.directory, logger: deps.logger, kind, configFile: deps.configFile });
        if (config.backup.schedule.offsite) {
          const { uploadBackup } = await import('./offsite.js');
          await uploadBackup({ config, logger: deps.logger, dir: r.dir });
        }
      } catch {
        // runBackup/uploadBackup logged and counted it; the daemon keeps serving mail.
      } finally {
        running = null;
      }
    })();
    return running;
  };

  // protect: croner itself also refuses to overlap one job with itself.
  const daily = new Cron(config.backup.schedule.daily, { name: 'backup-daily', protect: true }, () => run('daily'));
  const weekly = new Cron(config.backup.schedule.weekly, { name: 'backup-weekly', protect: true }, () => run('weekly'));
  log.info({ daily: daily.nextRun()?.toISOString(), weekly: weekly.nextRun()?.toISOString() }, 'backup schedule started');
  return {
    next: () => ({ daily: daily.nextRun(), weekly: weekly.nextRun() }),
    trigger: run,
    async stop() {
      daily.stop();
      weekly.stop();
      // Let a running backup finish its archive rather than leave a .partial folder behind.
      if (running) await running;
    },
  };
}
