// The server's version for manifests: package.json next to src/ or dist/src/.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;
export async function serverVersion(): Promise<string> {
  if (cached) return cached;
  for (const rel of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(await readFile(fileURLToPath(new URL(rel, import.meta.url)), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'mailserver' && pkg.version) return (cached = pkg.version);
    } catch {
      // try the next candidate
    }
  }
  return (cached = 'unknown');
}
