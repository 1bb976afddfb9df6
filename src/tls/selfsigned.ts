// First-run certificate: without configured files the server still offers STARTTLS and
// implicit TLS, with a self-signed certificate that clients can pin. Generated once and
// kept, so a client's "trust this certificate" survives restarts.
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import path from 'node:path';
import type pino from 'pino';
import { generate } from 'selfsigned';
import { loadKeyPair, type KeyPair, type MinTlsVersion } from './keypair.js';

// Apple platforms reject server certificates valid for more than 825 days.
const VALID_DAYS = 825;
const RENEW_BEFORE_DAYS = 30;

export function selfSignedPaths(dataDir: string): { dir: string; certFile: string; keyFile: string } {
  const dir = path.join(dataDir, 'tls');
  return { dir, certFile: path.join(dir, 'selfsigned.crt'), keyFile: path.join(dir, 'selfsigned.key') };
}

function covers(pair: KeyPair, hostname: string): boolean {
  return isIP(hostname) ? pair.x509.checkIP(hostname) !== undefined : pair.x509.checkHost(hostname) !== undefined;
}

async function writeAtomic(file: string, data: string, mode: number): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, data, { mode, flag: 'w' });
  await rename(tmp, file);
}

async function generatePair(hostname: string): Promise<{ cert: string; key: string }> {
  const names = [...new Set([hostname, 'localhost'])];
  const altNames = [
    ...names.map((n) => (isIP(n) ? { type: 7 as const, ip: n } : { type: 2 as const, value: n })),
    { type: 7 as const, ip: '127.0.0.1' },
    { type: 7 as const, ip: '::1' },
  ];
  const notBeforeDate = new Date(Date.now() - 60_000); // tolerate a client clock a little behind
  const notAfterDate = new Date(notBeforeDate.getTime() + VALID_DAYS * 86_400_000);
  const pems = await generate([{ name: 'commonName', value: hostname }], {
    keyType: 'rsa', // RSA rather than EC: old mail clients still in use handle it
    keySize: 2048,
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

/** Returns the pair under `<dataDir>/tls`, creating it (or replacing an unusable one) first. */
export async function ensureSelfSigned(dataDir: string, hostname: string, minVersion: MinTlsVersion, logger: pino.Logger): Promise<KeyPair> {
  const { dir, certFile, keyFile } = selfSignedPaths(dataDir);
  let reason = 'none yet';
  try {
    const pair = await loadKeyPair(certFile, keyFile, minVersion);
    const daysLeft = (Date.parse(pair.x509.validTo) - Date.now()) / 86_400_000;
    if (!covers(pair, hostname)) reason = `host name ${hostname} not in certificate`;
    else if (daysLeft < RENEW_BEFORE_DAYS) reason = 'expiring';
    else return pair;
  } catch (err) {
    if ((err as Error).message.includes('(ENOENT)')) reason = 'none yet';
    else reason = (err as Error).message;
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const { cert, key } = await generatePair(hostname);
  await writeAtomic(keyFile, key, 0o600);
  await writeAtomic(certFile, cert, 0o644);
  const pair = await loadKeyPair(certFile, keyFile, minVersion);
  const level = reason === 'none yet' ? 'info' : 'warn';
  logger[level]({ certFile, reason, fingerprint256: pair.x509.fingerprint256 }, 'tls self-signed certificate generated');
  return pair;
}
