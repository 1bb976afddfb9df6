// `mailserver import dovecot|postfix`: take over an existing install (docs/migration.md).
import { chmod, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import YAML from 'yaml';
import { openDirectory } from '../directory/open.js';
import { applyUsers, ImportError, planDovecotImport, type DovecotSources } from '../import/dovecot.js';
import { applyAliases, planPostfixImport } from '../import/postfix.js';
import { atomicWrite } from '../maildir/fsutil.js';
import { cliSetup } from './backup.js';
import type { GlobalOptions } from './context.js';
import { CliError } from './errors.js';

/** Sets `keys` (nested) in a YAML config file, keeping its comments and other keys. */
export async function mergeConfig(file: string, keys: Record<string, unknown>): Promise<void> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const doc = YAML.parseDocument(text);
  if (doc.contents === null) doc.contents = doc.createNode({}) as never;
  const walk = (prefix: string[], v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) for (const [k, x] of Object.entries(v)) walk([...prefix, k], x);
    else doc.setIn(prefix, v);
  };
  walk([], keys);
  await atomicWrite(file, doc.toString());
}

async function guard<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ImportError) throw new CliError(err.message);
    throw err;
  }
}

export function registerImportCommands(group: Command, globals: () => GlobalOptions): void {
  group
    .command('dovecot [dovecot.conf]')
    .description('serve a Dovecot Maildir in place (same UIDs, flags, UIDLs) with the same users and passwords')
    .option('--dovecot-config <file>', 'dovecot.conf to read (default /etc/dovecot/dovecot.conf)')
    .option('--mail-location <loc>', 'instead of mail_location from dovecot.conf, e.g. maildir:/var/vmail/%d/%n')
    .option('--passwd-file <file>', 'instead of the passdb from dovecot.conf')
    .option('--write-config <file>', 'write mailRoot, the folder delimiter and the directory settings into this config file')
    .option('--dry-run', 'print what would change and change nothing')
    .action(async (confArg: string | undefined, o: { dovecotConfig?: string; mailLocation?: string; passwdFile?: string; writeConfig?: string; dryRun?: boolean }) => {
      const src: DovecotSources = {};
      const conf = confArg ?? o.dovecotConfig ?? (o.mailLocation ? undefined : '/etc/dovecot/dovecot.conf');
      if (conf) src.confFile = conf;
      if (o.mailLocation) src.mailLocation = o.mailLocation;
      if (o.passwdFile) src.passwdFile = o.passwdFile;
      const plan = await guard(() => planDovecotImport(src));
      const out = process.stdout;
      for (const w of plan.warnings) process.stderr.write(`mailserver: warning: ${w}\n`);
      out.write(`mail root: ${plan.mailRoot} (served in place; nothing is copied)\n`);
      out.write(`folder delimiter: ${plan.hierarchyDelimiter}\n`);
      if (o.writeConfig) {
        out.write(`${o.dryRun ? 'would write' : 'writing'} ${Object.keys(plan.config).join(', ')} into ${o.writeConfig}\n`);
        if (!o.dryRun) await mergeConfig(o.writeConfig, plan.config);
      } else {
        out.write(`add to the config:\n${YAML.stringify(plan.config).replace(/^/gm, '  ')}`);
      }
      if (plan.mariadb) return; // users stay in the usermgmt database
      const g = o.writeConfig && !o.dryRun ? { ...globals(), config: path.resolve(o.writeConfig) } : globals();
      const { config, logger } = await cliSetup(g);
      const dir = await openDirectory(config, logger);
      try {
        for (const l of await applyUsers(plan, dir, o.dryRun ?? false)) out.write(`${o.dryRun ? 'would ' : ''}${l}\n`);
      } finally {
        await dir.close();
      }
    });

  group
    .command('postfix')
    .description('import the smart host (relayhost + SASL password) and the virtual aliases of a Postfix install')
    .option('--postfix-dir <dir>', 'Postfix configuration directory', '/etc/postfix')
    .option('--write-config <file>', 'write the relay settings into this config file')
    .option('--password-file <file>', 'where to store the relay password (mode 0600); the config points at it')
    .option('--dry-run', 'print what would change and change nothing')
    .action(async (o: { postfixDir: string; writeConfig?: string; passwordFile?: string; dryRun?: boolean }) => {
      const plan = await guard(() => planPostfixImport(o.postfixDir));
      const out = process.stdout;
      for (const w of plan.warnings) process.stderr.write(`mailserver: warning: ${w}\n`);
      if (plan.relay) {
        const { password, ...rest } = plan.relay;
        const relay: Record<string, unknown> = { ...rest };
        if (password !== undefined) {
          if (!o.passwordFile) throw new CliError('the relay has a SASL password: pass --password-file <file> to store it (it is never written into the config)');
          relay.passwordFile = path.resolve(o.passwordFile);
          if (!o.dryRun) {
            await writeFile(o.passwordFile, password, { mode: 0o600 });
            await chmod(o.passwordFile, 0o600);
          }
        }
        out.write(`relay: ${rest.host}:${rest.port}${rest.implicitTls ? ' (TLS)' : ' (STARTTLS)'}${rest.user ? ` as ${rest.user}` : ''}\n`);
        if (o.writeConfig && !o.dryRun) await mergeConfig(o.writeConfig, { relay });
        else if (!o.writeConfig) out.write(`add to the config:\n${YAML.stringify({ relay }).replace(/^/gm, '  ')}`);
      }
      const g = o.writeConfig && !o.dryRun ? { ...globals(), config: path.resolve(o.writeConfig) } : globals();
      const { config, logger } = await cliSetup(g);
      const dir = await openDirectory(config, logger);
      try {
        for (const l of await applyAliases(plan, dir, o.dryRun ?? false)) out.write(`${o.dryRun ? 'would ' : ''}${l}\n`);
      } finally {
        await dir.close();
      }
    });
}
