// The first-run experience, as a user meets it: the built daemon started with no
// configuration file in an empty directory, and stopped with SIGTERM. Also the start-up
// refusals for a bad configuration file.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LineClient } from './helpers/line-client.js';

const MAIN = resolve(import.meta.dirname, '..', 'dist/src/main.js');
const dirs: string[] = [];

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'mailserver-daemon-'));
  dirs.push(d);
  return d;
}

afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

function start(cwd: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, [MAIN, ...args], {
    cwd,
    env: { ...process.env, MAILSERVER_CONFIG: '', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** Collects JSON log lines from stdout until one matches, or the process exits. */
function waitForLog(child: ChildProcessWithoutNullStreams, msg: string, timeoutMs = 20_000): Promise<Record<string, unknown>> {
  return new Promise((resolvePromise, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`no "${msg}" log line in ${timeoutMs} ms`)), timeoutMs);
    const onData = (d: Buffer): void => {
      buf += d.toString('utf8');
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        const rec = JSON.parse(line) as Record<string, unknown>;
        if (rec.msg === msg) {
          clearTimeout(timer);
          child.stdout.off('data', onData);
          resolvePromise(rec);
        }
      }
    };
    child.stdout.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before "${msg}"`));
    });
  });
}

function exitOf(child: ChildProcessWithoutNullStreams): Promise<{ code: number | null; stderr: string }> {
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  return new Promise((r) => child.once('exit', (code) => r({ code, stderr })));
}

const EPHEMERAL_PORTS = Object.fromEntries(
  [
    'LMTP',
    'IMAP__STARTTLS',
    'IMAP__TLS',
    'POP3__STARTTLS',
    'POP3__TLS',
    'SUBMISSION__STARTTLS',
    'SUBMISSION__TLS',
    'HTTP',
  ].map((k) => [`MAILSERVER__${k}__PORT`, '0']),
);

describe('first run on built-in defaults', () => {
  it('starts with no config file, serves LMTP on loopback, and stops cleanly on SIGTERM', async () => {
    const cwd = await tempDir();
    // Port 0 only so that the test never collides with a real server on the built-in ports.
    const child = start(cwd, [], EPHEMERAL_PORTS);
    const exited = exitOf(child);
    const started = await waitForLog(child, 'mailserver started');
    const services = started.services as Array<{ name: string; addresses: Array<{ address: string; port: number }> }>;
    const lmtp = services.find((s) => s.name === 'lmtp')!;
    expect(lmtp.addresses[0]!.address).toBe('127.0.0.1');
    // Every listener is up, and only on loopback, on a fresh machine.
    expect(services.map((s) => s.name).sort()).toEqual(
      ['http', 'imap', 'imaps', 'lmtp', 'pop3', 'pop3s', 'queue', 'submission', 'submissions'],
    );
    for (const s of services) for (const a of s.addresses) expect(a.address).toBe('127.0.0.1');
    const imap = await LineClient.connect(services.find((s) => s.name === 'imap')!.addresses[0]!.port);
    expect((await imap.line())).toMatch(/^\* OK \[CAPABILITY IMAP4rev1 /);
    imap.close();

    // Data under ./data: the SQLite directory and a self-signed certificate with a private key.
    const data = join(cwd, 'data');
    expect((await stat(join(data, 'directory.sqlite'))).isFile()).toBe(true);
    const tls = await readdir(join(data, 'tls'));
    expect(tls.sort()).toEqual(['selfsigned.crt', 'selfsigned.key']);
    expect((await stat(join(data, 'tls', 'selfsigned.key'))).mode & 0o077).toBe(0);

    const c = await LineClient.connect(lmtp.addresses[0]!.port);
    expect((await c.reply())[0]).toMatch(/^220 .* LMTP ready$/);
    c.send('LHLO first.run');
    const caps = await c.reply();
    expect(caps.join('\n')).toMatch(/PIPELINING[\s\S]*ENHANCEDSTATUSCODES|ENHANCEDSTATUSCODES[\s\S]*PIPELINING/);
    c.close();

    child.kill('SIGTERM');
    const { code } = await exited;
    expect(code).toBe(0);
  });
});

describe('a bad configuration stops start-up with a message naming the field', () => {
  it('wrong type', async () => {
    const cwd = await tempDir();
    await writeFile(join(cwd, 'bad.yaml'), 'lmtp:\n  port: twenty-four\n');
    const r = await exitOf(start(cwd, ['--config', join(cwd, 'bad.yaml')]));
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/lmtp\.port/);
    expect(r.stderr).toMatch(/twenty-four/);
  });

  it('unknown key', async () => {
    const cwd = await tempDir();
    await writeFile(join(cwd, 'bad.yaml'), 'lmtp:\n  prot: 24\n');
    const r = await exitOf(start(cwd, ['--config', join(cwd, 'bad.yaml')]));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/unknown key lmtp\.prot/);
    expect(r.stderr).toMatch(/port/);
  });
});
