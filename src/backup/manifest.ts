// manifest.json: what a backup folder holds and the SHA-256 of every archive. Restore
// verifies every checksum before it reads a single archive.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { sha256File } from './archive.js';
import { COMPONENTS, type Component } from './components.js';
import { BackupError } from './errors.js';

export const MANIFEST = 'manifest.json';
export const KINDS = ['daily', 'weekly', 'manual'] as const;
export type BackupKind = (typeof KINDS)[number];

const entrySchema = z.object({
  file: z.string().regex(/^[a-z]+\.tar\.gz(\.enc)?$/),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  bytes: z.number().int().min(0),
  counts: z.record(z.string(), z.number()),
});
export const manifestSchema = z.object({
  format: z.literal(1),
  createdAt: z.string(),
  kind: z.enum(KINDS),
  hostname: z.string(),
  serverVersion: z.string(),
  nodeVersion: z.string(),
  encrypted: z.boolean(),
  durationMs: z.number(),
  components: z.partialRecord(z.enum(COMPONENTS), entrySchema),
});
export type Manifest = z.infer<typeof manifestSchema>;
export type ManifestEntry = z.infer<typeof entrySchema>;

export async function writeManifest(dir: string, m: Manifest): Promise<void> {
  await writeFile(path.join(dir, MANIFEST), JSON.stringify(m, null, 2) + '\n', { mode: 0o600 });
}

export async function readManifest(dir: string): Promise<Manifest> {
  let text: string;
  try {
    text = await readFile(path.join(dir, MANIFEST), 'utf8');
  } catch {
    throw new BackupError(`${dir}: no ${MANIFEST} (not a backup folder)`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new BackupError(`${dir}/${MANIFEST}: not valid JSON`);
  }
  const r = manifestSchema.safeParse(raw);
  if (!r.success) throw new BackupError(`${dir}/${MANIFEST}: unexpected content (${r.error.issues[0]?.path.join('.')}: ${r.error.issues[0]?.message})`);
  return r.data;
}

export interface VerifyProblem {
  component: Component;
  problem: string;
}

/** Checks every listed archive against its SHA-256; returns the problems (empty = all good). */
export async function verifyBackup(dir: string, m: Manifest, components: Component[]): Promise<VerifyProblem[]> {
  const problems: VerifyProblem[] = [];
  for (const c of components) {
    const e = m.components[c];
    if (!e) {
      problems.push({ component: c, problem: 'not in this backup' });
      continue;
    }
    let actual: string;
    try {
      actual = await sha256File(path.join(dir, e.file));
    } catch (err) {
      problems.push({ component: c, problem: `cannot read ${e.file} (${(err as NodeJS.ErrnoException).code ?? 'error'})` });
      continue;
    }
    if (actual !== e.sha256) problems.push({ component: c, problem: `${e.file}: SHA-256 mismatch (expected ${e.sha256.slice(0, 12)}…, got ${actual.slice(0, 12)}…)` });
  }
  return problems;
}
