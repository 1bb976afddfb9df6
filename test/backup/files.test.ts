// The file components (config, dkim, tls): missing files are written back to the paths
// the current configuration names; a live file that differs is kept and the backed-up one
// lands beside it as .restored.
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBackup } from '../../src/backup/backup.js';
import { runRestore } from '../../src/backup/restore.js';
import { configSchema, type ResolvedConfig } from '../../src/config/schema.js';
import { openSqliteDirectory } from '../../src/directory/sqlite.js';

const quiet = pino({ level: 'silent' });
let dir: string;

function configFor(root: string): ResolvedConfig {
  const c = configSchema.parse({ dataDir: path.join(root, 'data'), tls: { certFile: path.join(root, 'certs', 'fullchain.pem'), keyFile: path.join(root, 'certs', 'privkey.pem') } });
  return { ...c, hostname: 'mx.test', mailRoot: path.join(root, 'data', 'mail'), directory: { ...c.directory, path: path.join(root, 'data', 'directory.sqlite') } };
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'backup-files-'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe('file components', () => {
  it('restores configured certificate files and the config to their paths; keeps differing live files', async () => {
    const a = configFor(path.join(dir, 'a'));
    await mkdir(path.join(dir, 'a', 'certs'), { recursive: true });
    await writeFile(a.tls.certFile!, 'CERT-A');
    await writeFile(a.tls.keyFile!, 'KEY-A', { mode: 0o600 });
    const cfgA = path.join(dir, 'a', 'config.yaml');
    await writeFile(cfgA, 'hostname: mx.test\n');
    const dirA = await openSqliteDirectory({ path: a.directory.path });
    const r = await runBackup({ config: a, directory: dirA, logger: quiet, components: ['tls', 'config'], configFile: cfgA });
    await dirA.close();

    const b = configFor(path.join(dir, 'b'));
    const cfgB = path.join(dir, 'b', 'config.yaml');
    await mkdir(path.join(dir, 'b', 'certs'), { recursive: true });
    await writeFile(b.tls.keyFile!, 'KEY-B-NEWER', { mode: 0o600 });
    const dirB = await openSqliteDirectory({ path: b.directory.path });
    try {
      const report = await runRestore({ config: b, directory: dirB, logger: quiet, from: r.dir, configFile: cfgB });
      expect(report.lines.sort()).toEqual(
        [`tls: write ${b.tls.certFile}`, `tls: ${b.tls.keyFile} differs; live file kept, backup written to ${b.tls.keyFile}.restored`, `config: write ${cfgB}`].sort(),
      );
    } finally {
      await dirB.close();
    }
    expect(await readFile(b.tls.certFile!, 'utf8')).toBe('CERT-A');
    expect(await readFile(b.tls.keyFile!, 'utf8')).toBe('KEY-B-NEWER');
    expect(await readFile(`${b.tls.keyFile}.restored`, 'utf8')).toBe('KEY-A');
    expect((await stat(`${b.tls.keyFile}.restored`)).mode & 0o077).toBe(0);
    expect(await readFile(cfgB, 'utf8')).toBe('hostname: mx.test\n');
  });
});
