// What each backup component contains and where it lives in the running configuration.
// Each component is staged as a directory tree, then packed into one archive.
import { copyFile, cp, mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import Database from 'better-sqlite3';
import { configPathFrom } from '../config/load.js';
import type { ResolvedConfig } from '../config/schema.js';
import type { Directory } from '../directory/types.js';
import { exists } from '../maildir/fsutil.js';
import { snapshotMaildir } from './snapshot.js';

export const COMPONENTS = ['mail', 'directory', 'config', 'dkim', 'tls'] as const;
export type Component = (typeof COMPONENTS)[number];

export function parseComponents(value: string | undefined): Component[] {
  if (!value || value === 'all') return [...COMPONENTS];
  const out: Component[] = [];
  for (const v of value.split(',').map((s) => s.trim()).filter(Boolean)) {
    if (v === 'all') return [...COMPONENTS];
    if (!(COMPONENTS as readonly string[]).includes(v)) throw new Error(`unknown component '${v}' (${COMPONENTS.join(', ')}, all)`);
    if (!out.includes(v as Component)) out.push(v as Component);
  }
  return out;
}

export const dkimDir = (c: ResolvedConfig): string => c.dkim.keyDir ?? path.join(c.dataDir, 'dkim');
export const tlsDir = (c: ResolvedConfig): string => path.join(c.dataDir, 'tls');

/** The directory as JSON: domains, users (with their password hashes), aliases. */
export interface DirectoryDump {
  domains: Array<{ name: string; active: boolean }>;
  users: Array<{ address: string; passwordHash: string; quotaMb: number; active: boolean }>;
  aliases: Array<{ source: string; destinations: string[] }>;
}

export async function dumpDirectory(dir: Directory): Promise<DirectoryDump> {
  return {
    domains: (await dir.listDomains()).map((d) => ({ name: d.name, active: d.active })),
    users: (await dir.listUsers()).map((u) => ({ address: u.address, passwordHash: u.passwordHash, quotaMb: u.quotaMb, active: u.active })),
    aliases: (await dir.listAliases()).map((a) => ({ source: a.source, destinations: a.destinations })),
  };
}

export interface StageContext {
  config: ResolvedConfig;
  /** Open directory (any driver), for the JSON dump. */
  directory: Directory;
  configFile?: string | undefined;
}

/** Writes the component's files under `staging`; returns counts for the manifest. */
export async function stageComponent(component: Component, ctx: StageContext, staging: string): Promise<Record<string, number>> {
  const { config } = ctx;
  await mkdir(staging, { recursive: true, mode: 0o700 });
  switch (component) {
    case 'mail': {
      const c = await snapshotMaildir(config.mailRoot, path.join(staging, 'mail'));
      return { ...c };
    }
    case 'directory': {
      const dump = await dumpDirectory(ctx.directory);
      if (config.directory.driver === 'sqlite') {
        // SQLite's online backup API copies a consistent image page by page while the
        // daemon keeps writing (https://www.sqlite.org/backup.html).
        const db = new Database(config.directory.path, { readonly: true, fileMustExist: true });
        try {
          await db.backup(path.join(staging, 'directory.sqlite'));
        } finally {
          db.close();
        }
      }
      // The JSON form restores into any driver (SQLite or MariaDB).
      await writeFile(path.join(staging, 'directory.json'), JSON.stringify(dump, null, 1), { mode: 0o600 });
      return { domains: dump.domains.length, users: dump.users.length, aliases: dump.aliases.length };
    }
    case 'config': {
      const file = ctx.configFile ?? configPathFrom({});
      if (!file || !(await exists(file))) return { files: 0 };
      await copyFile(file, path.join(staging, 'config.yaml'));
      return { files: 1 };
    }
    case 'dkim': {
      const src = dkimDir(config);
      if (!(await exists(src))) return { files: 0 };
      await cp(src, path.join(staging, 'dkim'), { recursive: true, preserveTimestamps: true });
      return { files: await countFiles(path.join(staging, 'dkim')) };
    }
    case 'tls': {
      // Configured files when set, else the generated self-signed pair in <dataDir>/tls.
      let n = 0;
      await mkdir(path.join(staging, 'tls'), { mode: 0o700 });
      if (config.tls.certFile && config.tls.keyFile) {
        await copyFile(config.tls.certFile, path.join(staging, 'tls', 'cert.pem'));
        await copyFile(config.tls.keyFile, path.join(staging, 'tls', 'key.pem'));
        n = 2;
      } else if (await exists(tlsDir(config))) {
        await cp(tlsDir(config), path.join(staging, 'tls'), { recursive: true, preserveTimestamps: true });
        n = await countFiles(path.join(staging, 'tls'));
      }
      return { files: n };
    }
  }
}

async function countFiles(dir: string): Promise<number> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).length;
}
