// `mailserver backup` and `mailserver restore` through the command's own entry point.
import { mkdtemp, open, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { openSqliteDirectory } from '../../src/directory/sqlite.js';

let dir: string;
let cfgA: string;
let cfgB: string;

const cli = (config: string, ...args: string[]) => runCli('--config', config, ...args);

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'backup-cli-'));
  cfgA = path.join(dir, 'a.yaml');
  cfgB = path.join(dir, 'b.yaml');
  await writeFile(cfgA, `dataDir: ./a\nbackup:\n  dir: ./backups\n`);
  await writeFile(cfgB, `dataDir: ./b\n`);
  const d = await openSqliteDirectory({ path: path.join(dir, 'a', 'directory.sqlite') });
  await d.addDomain('example.test');
  await d.addUserWithHash('dan@example.test', '{PLAIN}secret');
  await d.close();
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe('backup/restore commands', () => {
  it('backs up, dry-runs, restores, and refuses a corrupted backup with one line and exit 1', async () => {
    const b = await cli(cfgA, 'backup', '--component', 'directory,config');
    expect(b.err).toBe('');
    expect(b.code).toBe(0);
    const folder = b.out.split('\n')[0]!;
    expect(path.dirname(folder)).toBe(path.join(dir, 'backups'));
    expect(b.out).toMatch(/directory +directory\.tar\.gz +\d+ bytes +sha256 [0-9a-f]{64} +\{"domains":1,"users":1,"aliases":0\}/);

    const dry = await cli(cfgB, 'restore', '--from', folder, '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.out).toContain('would directory: add user dan@example.test');
    expect(dry.out).toContain(`would config: ${cfgB} differs; live file kept, backup written to ${cfgB}.restored`);

    const real = await cli(cfgB, 'restore', '--from', folder, '--component', 'directory');
    expect(real.code).toBe(0);
    const d = await openSqliteDirectory({ path: path.join(dir, 'b', 'directory.sqlite') });
    expect((await d.authenticate('dan@example.test', 'secret'))?.address).toBe('dan@example.test');
    await d.close();

    const fh = await open(path.join(folder, 'directory.tar.gz'), 'r+');
    await fh.write(Buffer.from('x'), 0, 1, 50);
    await fh.close();
    const bad = await cli(cfgB, 'restore', '--from', folder);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/^mailserver: verification failed, nothing restored: directory: directory\.tar\.gz: SHA-256 mismatch/);
    expect(bad.err.trim().split('\n')).toHaveLength(1);

    expect((await cli(cfgA, 'backup', '--component', 'nope')).code).toBe(2);
    expect(await readdir(path.join(dir, 'backups'))).toHaveLength(1);
  });
});
