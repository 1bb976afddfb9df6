// Backup folders are named <UTC stamp>-<kind>; rotation keeps the newest N of each kind.
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { BackupKind } from './manifest.js';

const NAME = /^(\d{4}-\d\d-\d\dT\d{6}Z)-(daily|weekly|manual)(?:-\d+)?$/;

export function folderName(now: Date, kind: BackupKind): string {
  const iso = now.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/:/g, '');
  return `${iso}-${kind}`;
}

export interface BackupFolder {
  name: string;
  kind: BackupKind;
}

/** Complete backup folders under `dir`, oldest first (the names sort by time). */
export async function listBackups(dir: string): Promise<BackupFolder[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  return names
    .map((n) => ({ n, m: NAME.exec(n) }))
    .filter((x) => x.m)
    .map((x) => ({ name: x.n, kind: x.m![2] as BackupKind }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Which folders rotation would delete: beyond the newest `keep[kind]` of daily and weekly. */
export function toPrune(folders: BackupFolder[], keep: { daily: number; weekly: number }): BackupFolder[] {
  const out: BackupFolder[] = [];
  for (const kind of ['daily', 'weekly'] as const) {
    const mine = folders.filter((f) => f.kind === kind);
    out.push(...mine.slice(0, Math.max(0, mine.length - keep[kind])));
  }
  return out;
}

export async function rotate(dir: string, keep: { daily: number; weekly: number }): Promise<string[]> {
  const gone = toPrune(await listBackups(dir), keep);
  for (const f of gone) await rm(path.join(dir, f.name), { recursive: true, force: true });
  return gone.map((f) => f.name);
}
