// `mailserver restore --from DIR|s3://bucket/prefix/<backup>`: verify, scan, then restore.
import type { Command } from 'commander';
import { rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { openDirectory } from '../directory/open.js';
import { parseComponents } from '../backup/components.js';
import { runRestore } from '../backup/restore.js';
import { createClamavScanner } from '../scan/clamd.js';
import { asCliError, cliSetup } from './backup.js';
import type { GlobalOptions } from './context.js';
import { UsageError } from './errors.js';

export function registerRestoreCommand(program: Command, globals: () => GlobalOptions): void {
  program
    .command('restore')
    .description('restore from a backup folder or s3:// URL: checksums first, then a malware scan, then per component')
    .requiredOption('--from <dir|url>', 'backup folder, or s3://bucket/key-prefix/<backup name>')
    .option('--component <list>', 'mail, directory, config, dkim, tls or all (comma-separated)', 'all')
    .option('--dry-run', 'print what would change and change nothing')
    .action(async (o: { from: string; component: string; dryRun?: boolean }) => {
      let components;
      try {
        components = o.component === 'all' ? undefined : parseComponents(o.component);
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
      const { config, logger, configFile } = await cliSetup(globals());
      let from = o.from;
      let cleanup: string | null = null;
      if (from.startsWith('s3://')) {
        const { fetchBackup } = await import('../backup/offsite.js');
        from = await asCliError(() => fetchBackup({ config, logger, url: o.from }));
        cleanup = dirname(from); // the fetch folder holds just this backup
      }
      const directory = await openDirectory(config, logger);
      try {
        // With ClamAV configured, every archive is scanned before anything is written (issue 9).
        const scanner = config.scan.clamav.host ? createClamavScanner(config.scan.clamav, logger).archive : null;
        const report = await asCliError(() =>
          runRestore({ config, directory, logger, from, dryRun: o.dryRun ?? false, scanner, configFile, ...(components ? { components } : {}) }),
        );
        const prefix = o.dryRun ? 'would ' : '';
        if (report.lines.length === 0) process.stdout.write('nothing to restore: everything in the backup is already there\n');
        for (const l of report.lines) process.stdout.write(`${prefix}${l}\n`);
      } finally {
        await directory.close();
        if (cleanup) await rm(cleanup, { recursive: true, force: true });
      }
    });
}
