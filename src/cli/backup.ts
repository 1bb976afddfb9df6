// `mailserver backup`: one archive per component plus a manifest, into a dated folder.
import type { Command } from 'commander';
import pino from 'pino';
import { loadConfig, configPathFrom } from '../config/load.js';
import { createLogger } from '../log.js';
import { openDirectory } from '../directory/open.js';
import { runBackup } from '../backup/backup.js';
import { parseComponents } from '../backup/components.js';
import { BackupError } from '../backup/errors.js';
import { KINDS, type BackupKind } from '../backup/manifest.js';
import type { GlobalOptions } from './context.js';
import { CliError, UsageError } from './errors.js';

export async function cliSetup(globals: GlobalOptions) {
  const config = await loadConfig(globals.config !== undefined ? { path: globals.config } : {});
  // stdout is the command's output; the run's log lines go to stderr.
  const logger = createLogger({ level: process.env.MAILSERVER_LOG_LEVEL ?? 'warn' }, pino.destination({ dest: 2, sync: true }));
  const configFile = configPathFrom(globals.config !== undefined ? { path: globals.config } : {});
  return { config, logger, configFile };
}

/** BackupError is the operator's problem: one line, exit 1. */
export async function asCliError<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof BackupError) throw new CliError(err.message);
    throw err;
  }
}

export function registerBackupCommand(program: Command, globals: () => GlobalOptions): void {
  program
    .command('backup')
    .description('write a verified backup (one archive per component + SHA-256 manifest); --offsite uploads it')
    .option('--component <list>', 'mail, directory, config, dkim, tls or all (comma-separated)', 'all')
    .option('--kind <kind>', 'daily, weekly or manual (rotation keeps backup.retention of daily and weekly)', 'manual')
    .option('--offsite', 'upload the backup to backup.offsite afterwards')
    .action(async (o: { component: string; kind: string; offsite?: boolean }) => {
      if (!(KINDS as readonly string[]).includes(o.kind)) throw new UsageError(`--kind must be one of ${KINDS.join(', ')}`);
      let components;
      try {
        components = parseComponents(o.component);
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
      const { config, logger, configFile } = await cliSetup(globals());
      const directory = await openDirectory(config, logger);
      try {
        const r = await asCliError(() => runBackup({ config, directory, logger, kind: o.kind as BackupKind, components, configFile }));
        process.stdout.write(`${r.dir}\n`);
        for (const [c, e] of Object.entries(r.manifest.components)) {
          process.stdout.write(`  ${c.padEnd(9)} ${e!.file}  ${e!.bytes} bytes  sha256 ${e!.sha256}  ${JSON.stringify(e!.counts)}\n`);
        }
        for (const p of r.pruned) process.stdout.write(`  rotated out: ${p}\n`);
        if (o.offsite) {
          const { uploadBackup } = await import('../backup/offsite.js');
          const up = await asCliError(() => uploadBackup({ config, logger, dir: r.dir }));
          process.stdout.write(`  offsite: ${up.url}\n`);
        }
      } finally {
        await directory.close();
      }
    });
}
