// "Nothing accepted is ever lost": the built daemon runs as a child process, accepts
// messages while the smart host is down, and is killed with SIGKILL right after its last
// 250. Restarted, it relays every one of them, once. Needs a current dist/ build (the
// global setup builds it; do not run this file with SKIP_BUILD against a stale dist/).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteDirectory } from '../../src/directory/sqlite.js';
import { freePort, waitForPort } from '../helpers/ports.js';
import { RELAY_PASSWORD, startFakeSmartHost, type FakeSmartHost } from './smarthost.js';

const ROOT = resolve(import.meta.dirname, '../..');
let dir: string;
let relay: FakeSmartHost;
let child: ChildProcess | null = null;
let port: number;
let cfg: string;

async function startDaemon(): Promise<ChildProcess> {
  const proc = spawn(process.execPath, [join(ROOT, 'dist/src/main.js'), '--config', cfg], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, MAILSERVER__RELAY__PASSWORD: RELAY_PASSWORD },
  });
  await waitForPort(port, proc, { intervalMs: 50 });
  return proc;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'crash-'));
  relay = await startFakeSmartHost();
  port = await freePort();
  const d = await openSqliteDirectory({ path: join(dir, 'data', 'directory.sqlite') });
  await d.addDomain('example.test');
  await d.addUser('alice@example.test', 'pw-alice-1');
  await d.close();
  cfg = join(dir, 'config.yaml');
  const off = (name: string) => `${name}:\n  starttls:\n    enabled: false\n  tls:\n    enabled: false\n`;
  await writeFile(
    cfg,
    [
      `dataDir: ${join(dir, 'data')}`,
      'hostname: crash.test.example',
      'log:\n  level: warn',
      `lmtp:\n  port: ${await freePort()}`,
      off('imap'),
      off('pop3'),
      'http:\n  enabled: false',
      `submission:\n  starttls:\n    port: ${port}\n  tls:\n    enabled: false`,
      // The password comes from the environment (MAILSERVER__RELAY__PASSWORD), as in production.
      `relay:\n  host: 127.0.0.1\n  port: ${relay.port}\n  rejectUnauthorized: false\n  retryInitialSeconds: 1\n  retryMaxSeconds: 1`,
      '',
    ].join('\n'),
  );
});

afterAll(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await relay?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('durability', () => {
  it('messages acknowledged just before SIGKILL are relayed after the restart, each once', async () => {
    await relay.down();
    child = await startDaemon();
    const t = nodemailer.createTransport({
      host: '127.0.0.1',
      port,
      secure: false,
      requireTLS: true,
      tls: { rejectUnauthorized: false },
      auth: { user: 'alice@example.test', pass: 'pw-alice-1' },
    });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const info = await t.sendMail({
        envelope: { from: 'alice@example.test', to: [`r${i}@remote.test`] },
        raw: `From: alice@example.test\r\nTo: r${i}@remote.test\r\nSubject: survivor ${i}\r\n\r\nbody ${i}\r\n`,
      });
      ids.push(/queued as (\S+)/.exec(info.response)![1]!);
    }
    child.kill('SIGKILL'); // right after the last 250
    await new Promise((r) => child!.once('exit', r));
    t.close();
    const files = await readdir(join(dir, 'data', 'queue'));
    for (const id of ids) expect(files).toContain(`${id}.msg`);

    await relay.up();
    child = await startDaemon();
    const got = await relay.waitFor(5, 30_000);
    for (let i = 0; i < 5; i++) {
      expect(got.filter((m) => m.to.includes(`r${i}@remote.test`) && m.data.toString().includes(`Subject: survivor ${i}`))).toHaveLength(1);
    }
    // Queue drained: the journal or the removal recorded each delivery.
    const deadline = Date.now() + 10_000;
    while ((await readdir(join(dir, 'data', 'queue'))).some((f) => f.endsWith('.msg')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect((await readdir(join(dir, 'data', 'queue'))).filter((f) => f.endsWith('.msg'))).toEqual([]);
    child.kill('SIGTERM');
    await new Promise((r) => child!.once('exit', r));
    expect(relay.received).toHaveLength(5);
  });
});
