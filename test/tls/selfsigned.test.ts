import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { createTlsManager, selfSignedPaths } from '../../src/tls/index.js';
import { captureLogger } from './helpers.js';

let dataDir: string;
beforeEach(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'tls-self-'));
});
afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

async function fingerprintOnDisk(): Promise<string> {
  return new X509Certificate(await readFile(selfSignedPaths(dataDir).certFile)).fingerprint256;
}

describe('self-signed certificate', () => {
  test('is generated on first start with private modes, then reused', async () => {
    const log = captureLogger();
    const m1 = await createTlsManager({ dataDir, hostname: 'mail.example.test', minVersion: 'TLSv1.2', logger: log.logger });
    expect(m1.source).toBe('self-signed');
    m1.close();
    const { dir, certFile, keyFile } = selfSignedPaths(dataDir);
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    const x509 = new X509Certificate(await readFile(certFile));
    expect(x509.subjectAltName).toContain('DNS:mail.example.test');
    expect(x509.subjectAltName).toContain('DNS:localhost');
    expect(x509.subjectAltName).toContain('IP Address:127.0.0.1');
    expect(x509.checkIP('::1')).toBe('::1');
    const first = x509.fingerprint256;
    expect(log.lines.filter((l) => l.msg === 'tls self-signed certificate generated')).toHaveLength(1);

    const log2 = captureLogger();
    const m2 = await createTlsManager({ dataDir, hostname: 'mail.example.test', minVersion: 'TLSv1.2', logger: log2.logger });
    m2.close();
    expect(await fingerprintOnDisk()).toBe(first);
    expect(log2.lines.some((l) => l.msg === 'tls self-signed certificate generated')).toBe(false);
    expect(log.raw.concat(log2.raw).join('\n')).not.toContain('PRIVATE KEY');
  });

  test('is replaced when the host name changes', async () => {
    const { logger } = captureLogger();
    (await createTlsManager({ dataDir, hostname: 'a.example.test', minVersion: 'TLSv1.2', logger })).close();
    const first = await fingerprintOnDisk();
    (await createTlsManager({ dataDir, hostname: 'b.example.test', minVersion: 'TLSv1.2', logger })).close();
    expect(await fingerprintOnDisk()).not.toBe(first);
  });
});
