import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { createTlsManager, loadKeyPair, type TlsManager } from '../../src/tls/index.js';
import { captureLogger, newPair, peerFingerprint } from './helpers.js';

let dir: string;
let certFile: string;
let keyFile: string;
let manager: TlsManager | undefined;
let server: tls.Server | undefined;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'tls-reload-'));
  certFile = path.join(dir, 'mail.crt');
  keyFile = path.join(dir, 'mail.key');
});
afterEach(async () => {
  manager?.close();
  if (server) await new Promise((r) => server!.close(r));
  server = undefined;
  manager = undefined;
  await rm(dir, { recursive: true, force: true });
});

/** Writes beside the target and renames into place, as certbot and tailscale do. */
async function replace(file: string, text: string): Promise<void> {
  const tmp = `${file}.new`;
  await writeFile(tmp, text);
  await rename(tmp, file);
}

async function start(pollIntervalMs = 0, fsWatch = true) {
  const pair = await newPair('first.example.test');
  await writeFile(certFile, pair.cert);
  await writeFile(keyFile, pair.key, { mode: 0o600 });
  const log = captureLogger();
  manager = await createTlsManager({ certFile, keyFile, dataDir: dir, hostname: 'localhost', minVersion: 'TLSv1.2', logger: log.logger, pollIntervalMs, debounceMs: 50, fsWatch });
  expect(manager.source).toBe('files');
  server = tls.createServer(manager.serverOptions(), (s) => s.end());
  manager.attach(server);
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return { log, port, m: manager };
}

const reloaded = (m: TlsManager) => new Promise<void>((resolve) => { const off = m.onReload(() => { off(); resolve(); }); });

describe('certificate reload', () => {
  test('a renamed-in pair is served to new connections, with and without SNI', async () => {
    const { log, port, m } = await start();
    const before = await peerFingerprint(port, 'localhost');
    expect(await peerFingerprint(port)).toBe(before);

    const next = await newPair('second.example.test');
    const done = reloaded(m);
    await replace(keyFile, next.key);
    await replace(certFile, next.cert);
    await done;

    const after = await peerFingerprint(port, 'localhost');
    expect(after).not.toBe(before);
    expect(await peerFingerprint(port)).toBe(after); // no SNI: default context via attach()
    const expected = (await loadKeyPair(certFile, keyFile, 'TLSv1.2')).x509.fingerprint256;
    expect(after).toBe(expected);
    await log.waitFor((l) => l.msg === 'tls certificate reloaded');
    expect(log.raw.join('\n')).not.toMatch(/BEGIN|PRIVATE KEY/);
  });

  test('a broken replacement keeps the old certificate and logs an error', async () => {
    const { log, port, m } = await start();
    const before = await peerFingerprint(port);
    let reloads = 0;
    m.onReload(() => reloads++);

    await replace(certFile, '-----BEGIN CERTIFICATE-----\nMIIB half written');
    const err1 = await log.waitFor((l) => l.level === 50);
    expect(String(err1.reason)).toContain('not a PEM certificate');
    expect(await peerFingerprint(port)).toBe(before);

    // A valid certificate that does not belong to the key on disk.
    const other = await newPair('other.example.test');
    await replace(certFile, other.cert);
    const err2 = await log.waitFor((l) => l.level === 50 && String(l.reason).includes('does not match'));
    expect(err2.msg).toBe('tls reload failed; keeping the previous certificate');
    expect(await peerFingerprint(port, 'localhost')).toBe(before);
    expect(reloads).toBe(0);
    expect(log.raw.join('\n')).not.toMatch(/BEGIN|PRIVATE KEY|half written/);

    // Finishing the job (the key arrives) recovers without a restart.
    const done = reloaded(m);
    await replace(keyFile, other.key);
    await done;
    expect(await peerFingerprint(port)).not.toBe(before);
  });

  test('the stat poll notices a change when no watch event arrives', async () => {
    const { port, m } = await start(100, false);
    const before = await peerFingerprint(port);
    const next = await newPair('polled.example.test');
    const done = reloaded(m);
    await replace(keyFile, next.key);
    await replace(certFile, next.cert);
    await done;
    expect(await peerFingerprint(port)).not.toBe(before);
  });

  test('start-up fails with a message naming the file, not its contents', async () => {
    const a = await newPair('a.example.test');
    const b = await newPair('b.example.test');
    await writeFile(certFile, a.cert);
    await writeFile(keyFile, b.key);
    const { logger } = captureLogger();
    const err = await createTlsManager({ certFile, keyFile, dataDir: dir, hostname: 'x', minVersion: 'TLSv1.2', logger }).catch((e: Error) => e);
    expect(String(err)).toContain(`TLS key ${keyFile} does not match certificate ${certFile}`);
    expect(String(err)).not.toContain('BEGIN');
    const missing = await loadKeyPair(path.join(dir, 'nope.crt'), keyFile, 'TLSv1.2').catch((e: Error) => e);
    expect(String(missing)).toContain('(ENOENT)');
  });
});
