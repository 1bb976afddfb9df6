// `mailserver backup` and the scheduler's runs: stage each component, pack it into one
// archive, write the manifest last, then rename the folder into place, so a folder with a
// manifest is always complete. Runs while the daemon serves (see snapshot.ts).
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Logger } from 'pino';
import type { ResolvedConfig } from '../config/schema.js';
import type { Directory } from '../directory/types.js';
import { packDir } from './archive.js';
import { stageComponent, type Component } from './components.js';
import { keyFromEnv } from './crypto.js';
import { BackupError } from './errors.js';
import { writeManifest, type BackupKind, type Manifest } from './manifest.js';
import { backupMetrics } from './metrics.js';
import { folderName, listBackups, rotate } from './rotation.js';
import { serverVersion } from './version.js';

export const backupDir = (c: ResolvedConfig): string => c.backup.dir ?? path.join(c.dataDir, 'backups');

export interface BackupOptions {
  config: ResolvedConfig;
  directory: Directory;
  logger: Logger;
  kind?: BackupKind;
  components?: Component[];
  /** Config file to include in the `config` component. */
  configFile?: string | undefined;
  env?: NodeJS.ProcessEnv;
  now?: Date;
}

export interface BackupResult {
  dir: string;
  manifest: Manifest;
  pruned: string[];
}

export async function runBackup(opts: BackupOptions): Promise<BackupResult> {
  const { logger } = opts;
  const kind = opts.kind ?? 'manual';
  const started = Date.now();
  const log = logger.child({ svc: 'backup', kind });
  try {
    const r = await doBackup(opts, kind, log);
    backupMetrics.runs.inc({ kind, result: 'ok' });
    backupMetrics.lastSuccess.set(Math.floor(Date.now() / 1000));
    backupMetrics.bytes.set(Object.values(r.manifest.components).reduce((n, e) => n + (e?.bytes ?? 0), 0));
    backupMetrics.seconds.observe((Date.now() - started) / 1000);
    log.info({ dir: r.dir, ms: Date.now() - started, components: Object.keys(r.manifest.components), pruned: r.pruned }, 'backup written');
    return r;
  } catch (err) {
    backupMetrics.runs.inc({ kind, result: 'failed' });
    log.error({ err }, 'backup failed');
    throw err;
  }
}

async function doBackup(opts: BackupOptions, kind: BackupKind, log: Logger): Promise<BackupResult> {
  const { config } = opts;
  const env = opts.env ?? process.env;
  const components = opts.components ?? config.backup.components;
  const key = config.backup.encrypt ? keyFromEnv(env) : null;
  if (config.backup.encrypt && !key) throw new BackupError('backup.encrypt is on but neither MAILSERVER_BACKUP_KEY nor MAILSERVER_BACKUP_PASSPHRASE is set');
  const root = backupDir(config);
  await mkdir(root, { recursive: true, mode: 0o700 });
  await removeLeftovers(root, config.dataDir, log);
  const now = opts.now ?? new Date();
  let name = folderName(now, kind);
  const taken = new Set((await listBackups(root)).map((f) => f.name));
  for (let i = 2; taken.has(name); i++) name = `${folderName(now, kind)}-${i}`;
  const token = randomBytes(4).toString('hex');
  const work = path.join(root, `.partial-${name}-${token}`);
  // Staging sits in the data directory: the same file system as the Maildir, so message
  // snapshots are hard links, not copies.
  const staging = path.join(config.dataDir, `.backup-staging-${token}`);
  await mkdir(work, { mode: 0o700 });
  try {
    const manifest: Manifest = {
      format: 1,
      createdAt: now.toISOString(),
      kind,
      hostname: config.hostname,
      serverVersion: await serverVersion(),
      nodeVersion: process.version,
      encrypted: key !== null,
      durationMs: 0,
      components: {},
    };
    for (const c of components) {
      const t0 = Date.now();
      const dir = path.join(staging, c);
      const counts = await stageComponent(c, { config, directory: opts.directory, configFile: opts.configFile }, dir);
      const file = `${c}.tar.gz${key ? '.enc' : ''}`;
      const written = await packDir(dir, path.join(work, file), key);
      await rm(dir, { recursive: true, force: true });
      manifest.components[c] = { file, sha256: written.sha256, bytes: written.bytes, counts };
      log.info({ component: c, bytes: written.bytes, counts, ms: Date.now() - t0 }, 'backup component written');
    }
    manifest.durationMs = Date.now() - now.getTime();
    await writeManifest(work, manifest);
    const final = path.join(root, name);
    await rename(work, final);
    const pruned = kind === 'manual' ? [] : await rotate(root, config.backup.retention);
    return { dir: final, manifest, pruned };
  } catch (err) {
    await rm(work, { recursive: true, force: true });
    throw err;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}


// A run killed half-way (power loss, OOM) leaves its staging tree (hard links that keep
// deleted mail on disk) and a .partial folder. Another process may be running a backup
// right now, so only leftovers older than a day are removed.
const STALE_MS = 24 * 3600 * 1000;
async function removeLeftovers(root: string, dataDir: string, log: Logger): Promise<void> {
  for (const [dir, prefix] of [[root, '.partial-'], [dataDir, '.backup-staging-'], [dataDir, '.restore-staging-']] as const) {
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      if (!name.startsWith(prefix)) continue;
      const p = path.join(dir, name);
      const st = await stat(p).catch(() => null);
      if (st && Date.now() - st.mtimeMs > STALE_MS) {
        await rm(p, { recursive: true, force: true });
        log.warn({ path: p }, 'removed leftover of an interrupted backup or restore');
      }
    }
  }
}
