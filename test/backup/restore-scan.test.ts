// Issue 9's check with issue 7's client: an EICAR file planted in a backup is found by the
// real clamd before restore writes anything; a clean backup restores with scanning on; a
// clamd that cannot be reached stops the restore instead of restoring unscanned. Each file
// in the archive is scanned on its own (an archive can be far larger than StreamMaxLength).
import { mkdir, mkdtemp, readdir, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { requirePeer } from '../helpers/peers.js';
import { CLAMD, startClamd, type Clamd } from '../helpers/clamd.js';
import { openSqliteDirectory } from '../../src/directory/sqlite.js';
import { eicarInZip, plainMessage } from '../scan/support.js';

const run = requirePeer(CLAMD, 'restore scan with ClamAV');
const cli = (config: string, ...args: string[]) => runCli('--config', config, ...args);

let dir: string;
let clamd: Clamd;
let cfgA: string;
let cfgB: string;
const cur = () => path.join(dir, 'a', 'mail', 'example.test', 'alice', 'cur');
const planted = () => path.join(cur(), '1795400000.M1P1.old-host,S=4000:2,S');

async function filesUnder(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(root, { withFileTypes: true, recursive: true }).catch(() => [])) if (e.isFile()) out.push(path.join(e.parentPath, e.name));
  return out;
}

describe.runIf(run)('restore scans the backup with the real clamd first', () => {
  beforeAll(async () => {
    clamd = await startClamd({ streamMaxLength: '1M' });
    dir = await mkdtemp(path.join(tmpdir(), 'restore-scan-'));
    cfgA = path.join(dir, 'a.yaml');
    cfgB = path.join(dir, 'b.yaml');
    await writeFile(cfgA, 'dataDir: ./a\nbackup:\n  dir: ./backups\n');
    await writeFile(cfgB, `dataDir: ./b\nscan:\n  clamav:\n    host: 127.0.0.1\n    port: ${clamd.port}\n    timeoutSeconds: 5\n`);
    const d = await openSqliteDirectory({ path: path.join(dir, 'a', 'directory.sqlite') });
    await d.addDomain('example.test');
    await d.addUserWithHash('alice@example.test', '{PLAIN}secret');
    await d.close();
    for (const sub of ['cur', 'new', 'tmp']) await mkdir(path.join(cur(), '..', sub), { recursive: true });
    await writeFile(path.join(cur(), '1795400001.M2P2.old-host,S=100:2,S'), plainMessage('an ordinary message', 'kept'));
    // Planted: a message whose zip attachment carries EICAR, written straight into the Maildir.
    await writeFile(planted(), eicarInZip());
  });
  afterAll(async () => {
    await clamd?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('an EICAR file planted in the mail archive is found and nothing is restored', async () => {
    const b = await cli(cfgA, 'backup', '--component', 'mail,directory');
    expect(b.code).toBe(0);
    const folder = b.out.split('\n')[0]!;

    const r = await cli(cfgB, 'restore', '--from', folder);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^mailserver: clamav found Eicar-Signature\S* in mail\.tar\.gz; nothing restored/);
    expect(await filesUnder(path.join(dir, 'b', 'mail'))).toEqual([]);
    const d = await openSqliteDirectory({ path: path.join(dir, 'b', 'directory.sqlite') });
    try {
      expect(await d.listUsers()).toEqual([]);
    } finally {
      await d.close();
    }
  });

  it('a clean backup restores with scanning on; with clamd stopped the restore is refused, not done unscanned', async () => {
    await unlink(planted());
    const b = await cli(cfgA, 'backup', '--component', 'mail');
    expect(b.code).toBe(0);
    const folder = b.out.split('\n')[0]!;

    await clamd.stop();
    try {
      const refused = await cli(cfgB, 'restore', '--from', folder);
      expect(refused.code).toBe(1);
      expect(refused.err).toMatch(/^mailserver: clamav could not scan mail\.tar\.gz \(\.\/mail\/example\.test\/alice\/cur\/\S+: clamd at 127\.0\.0\.1:\d+: connect ECONNREFUSED [^)]*\); nothing restored \(backup\.scanBeforeRestore: false restores unscanned\)/);
      expect(await filesUnder(path.join(dir, 'b', 'mail'))).toEqual([]);
    } finally {
      await clamd.restart();
    }

    const ok = await cli(cfgB, 'restore', '--from', folder);
    expect(ok.err).toBe('');
    expect(ok.code).toBe(0);
    const restored = await filesUnder(path.join(dir, 'b', 'mail', 'example.test', 'alice'));
    expect(restored.filter((f) => /[/](cur|new)[/]/.test(f))).toHaveLength(1);
  });
});
