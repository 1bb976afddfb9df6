// `mailserver restore --from DIR`: verify every checksum, scan, extract into a staging
// directory, and only then change anything live, one component at a time.
// Order matters: a bad checksum or a decryption failure (GCM authenticates at the end)
// must stop the restore before the first live write.
import { copyFile, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Logger } from 'pino';
import { configPathFrom } from '../config/load.js';
import type { ResolvedConfig } from '../config/schema.js';
import { DirectoryError, type Directory } from '../directory/types.js';
import { exists, isErrno } from '../maildir/fsutil.js';
import { extractArchive, plaintextStream } from './archive.js';
import { dkimDir, tlsDir, type Component, type DirectoryDump } from './components.js';
import { keyFromEnv } from './crypto.js';
import { BackupError } from './errors.js';
import { restoreMail, type MailboxPlan } from './mail-merge.js';
import { readManifest, verifyBackup } from './manifest.js';
import type { ArchiveScanner } from './scanner.js';

export interface RestoreOptions {
  config: ResolvedConfig;
  directory: Directory;
  logger: Logger;
  /** A local backup folder (s3:// sources are fetched first by offsite.ts). */
  from: string;
  components?: Component[];
  dryRun?: boolean;
  scanner?: ArchiveScanner | null;
  configFile?: string | undefined;
  env?: NodeJS.ProcessEnv;
}

export interface RestoreReport {
  /** One human-readable line per change (or planned change with dryRun). */
  lines: string[];
  mail: MailboxPlan[];
}

export async function runRestore(opts: RestoreOptions): Promise<RestoreReport> {
  const { config, from } = opts;
  const log = opts.logger.child({ svc: 'restore', from });
  const manifest = await readManifest(from);
  const components = opts.components ?? (Object.keys(manifest.components) as Component[]);
  const problems = await verifyBackup(from, manifest, components);
  if (problems.length > 0) {
    for (const p of problems) log.error({ component: p.component, problem: p.problem }, 'restore refused: verification failed');
    throw new BackupError(`verification failed, nothing restored: ${problems.map((p) => `${p.component}: ${p.problem}`).join('; ')}`);
  }
  const key = manifest.encrypted ? keyFromEnv(opts.env ?? process.env) : null;
  if (manifest.encrypted && !key) throw new BackupError('the backup is encrypted; set MAILSERVER_BACKUP_KEY or MAILSERVER_BACKUP_PASSPHRASE');

  if (opts.scanner && config.backup.scanBeforeRestore) {
    for (const c of components) {
      const e = manifest.components[c]!;
      const scanner = opts.scanner;
      // A scanner that cannot give a verdict stops the restore too: scanning is on, so an
      // unscanned restore needs the operator's explicit `backup.scanBeforeRestore: false`.
      const verdict = await scanner.scan(await plaintextStream(path.join(from, e.file), key), e.file).catch((err: unknown) => {
        if (err instanceof BackupError) throw err;
        log.error({ component: c, scanner: scanner.name, err: (err as Error).message }, 'restore refused: scan failed');
        throw new BackupError(`${scanner.name} could not scan ${e.file} (${(err as Error).message}); nothing restored (backup.scanBeforeRestore: false restores unscanned)`);
      });
      if (verdict.infected) {
        log.error({ component: c, signature: verdict.signature, scanner: opts.scanner.name }, 'restore refused: malware found');
        throw new BackupError(`${opts.scanner.name} found ${verdict.signature} in ${e.file}; nothing restored`);
      }
    }
    log.info({ components, scanner: opts.scanner.name }, 'archives scanned clean');
  } else if (!opts.scanner) {
    log.warn('no malware scanner configured: archives restored unscanned');
  }

  const staging = path.join(config.dataDir, `.restore-staging-${randomBytes(4).toString('hex')}`);
  try {
    // Extract everything first: a tampered encrypted archive fails here, before any write.
    for (const c of components) await extractArchive(path.join(from, manifest.components[c]!.file), key, path.join(staging, c));
    const report: RestoreReport = { lines: [], mail: [] };
    const dry = opts.dryRun ?? false;
    for (const c of components) {
      const dir = path.join(staging, c);
      if (c === 'mail') {
        report.mail = await restoreMail(path.join(dir, 'mail'), config.mailRoot, dry);
        for (const p of report.mail) {
          if (p.action === 'unchanged') continue;
          report.lines.push(`mail ${p.mailbox}: ${p.action}, ${p.add} message(s) to add (${p.sameUid} with their old UID), ${p.keep} already present`);
        }
      } else if (c === 'directory') {
        report.lines.push(...(await restoreDirectory(path.join(dir, 'directory.json'), opts.directory, dry)));
      } else {
        // Configured certificate files were archived as tls/cert.pem and tls/key.pem: back to their paths.
        const tlsFiles = c === 'tls' && config.tls.certFile && config.tls.keyFile ? { 'cert.pem': config.tls.certFile, 'key.pem': config.tls.keyFile } : undefined;
        report.lines.push(...(await restoreFiles(c, dir, targetOf(c, config, opts.configFile), dry, tlsFiles)));
      }
    }
    log.info({ components, dryRun: dry, changes: report.lines.length }, dry ? 'restore planned (dry run)' : 'restore done');
    return report;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

async function restoreDirectory(file: string, dir: Directory, dry: boolean): Promise<string[]> {
  const dump = JSON.parse(await readFile(file, 'utf8')) as DirectoryDump;
  const lines: string[] = [];
  const domains = new Set((await dir.listDomains()).map((d) => d.name));
  for (const d of dump.domains) {
    if (domains.has(d.name)) continue;
    lines.push(`directory: add domain ${d.name}`);
    if (!dry) await dir.addDomain(d.name);
  }
  const users = new Set((await dir.listUsers()).map((u) => u.address));
  for (const u of dump.users) {
    if (users.has(u.address)) continue; // the live user (and password) wins
    lines.push(`directory: add user ${u.address}${u.active ? '' : ' (disabled)'}`);
    if (dry) continue;
    await dir.addUserWithHash(u.address, u.passwordHash, { quotaMb: u.quotaMb });
    if (!u.active) await dir.setActive(u.address, false);
  }
  const live = new Map((await dir.listAliases()).map((a) => [a.source, new Set(a.destinations)]));
  for (const a of dump.aliases) {
    const have = live.get(a.source) ?? new Set<string>();
    const add = a.destinations.filter((d) => !have.has(d));
    if (add.length === 0) continue;
    lines.push(`directory: alias ${a.source} → ${add.join(', ')}`);
    if (dry) continue;
    try {
      await dir.addAlias(a.source, add);
    } catch (err) {
      if (!(err instanceof DirectoryError && err.code === 'exists')) throw err;
    }
  }
  return lines;
}

function targetOf(c: Component, config: ResolvedConfig, configFile: string | undefined): string {
  if (c === 'dkim') return dkimDir(config);
  if (c === 'tls') return tlsDir(config);
  return configFile ?? configPathFrom({}) ?? path.join(config.dataDir, 'config.yaml');
}

async function sameFile(a: string, b: string): Promise<boolean | null> {
  try {
    const [x, y] = await Promise.all([readFile(a), readFile(b)]);
    return x.equals(y);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return null;
    throw err;
  }
}

/**
 * config, dkim, tls: files that are missing live are written; identical ones are skipped;
 * a live file that differs is kept and the backed-up one written beside it as `.restored`
 * for the operator to compare (a restore never silently replaces a key or a config).
 */
async function restoreFiles(c: Component, staged: string, target: string, dry: boolean, files?: Record<string, string>): Promise<string[]> {
  const lines: string[] = [];
  if (c === 'config') {
    const src = path.join(staged, 'config.yaml');
    if (!(await exists(src))) return lines;
    return place(src, target, dry, 'config');
  }
  const root = path.join(staged, c);
  if (!(await exists(root))) return lines;
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  for (const e of entries) {
    if (!e.isFile()) continue;
    const abs = path.join(e.parentPath, e.name);
    const rel = path.relative(root, abs);
    lines.push(...(await place(abs, files?.[rel] ?? path.join(target, rel), dry, c)));
  }
  return lines;
}

async function place(src: string, dest: string, dry: boolean, label: string): Promise<string[]> {
  const same = await sameFile(src, dest);
  if (same === true) return [];
  if (same === null) {
    if (!dry) {
      await mkdir(path.dirname(dest), { recursive: true, mode: 0o700 });
      await copyFile(src, dest);
    }
    return [`${label}: write ${dest}`];
  }
  if (!dry) await copyFile(src, `${dest}.restored`);
  return [`${label}: ${dest} differs; live file kept, backup written to ${dest}.restored`];
}
