// Reading and checking a certificate/key pair. Errors name the file and the reason,
// never the PEM contents (a private key must not reach a log or a terminal).
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import tls from 'node:tls';

export type MinTlsVersion = 'TLSv1.2' | 'TLSv1.3';

export class TlsFileError extends Error {
  override name = 'TlsFileError';
}

export interface KeyPair {
  key: Buffer;
  cert: Buffer;
  x509: X509Certificate;
  context: tls.SecureContext;
}

export interface CertSummary {
  subject: string;
  altNames: string | undefined;
  notAfter: string;
  fingerprint256: string;
}

export function summarize(x509: X509Certificate): CertSummary {
  return {
    subject: x509.subject.replace(/\n/g, ', '),
    altNames: x509.subjectAltName,
    notAfter: new Date(x509.validTo).toISOString(),
    fingerprint256: x509.fingerprint256,
  };
}

async function readPem(file: string, what: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    throw new TlsFileError(`cannot read TLS ${what} ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/** Builds a context from PEM buffers; throws TlsFileError when they are unusable or do not match. */
export function buildKeyPair(key: Buffer, cert: Buffer, minVersion: MinTlsVersion, names = { certFile: 'certificate', keyFile: 'key' }): KeyPair {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch {
    throw new TlsFileError(`TLS certificate ${names.certFile} is not a PEM certificate`);
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    throw new TlsFileError(`TLS key ${names.keyFile} is not a PEM private key (or is encrypted)`);
  }
  if (!x509.checkPrivateKey(privateKey)) {
    throw new TlsFileError(`TLS key ${names.keyFile} does not match certificate ${names.certFile}`);
  }
  let context: tls.SecureContext;
  try {
    context = tls.createSecureContext({ key, cert, minVersion });
  } catch (err) {
    // OpenSSL reasons ("PEM lib", "ee key too small") carry no key material.
    throw new TlsFileError(`TLS certificate ${names.certFile} rejected by OpenSSL: ${(err as Error).message}`);
  }
  return { key, cert, x509, context };
}

export async function loadKeyPair(certFile: string, keyFile: string, minVersion: MinTlsVersion): Promise<KeyPair> {
  // allSettled, so that with both files missing the error always names the certificate.
  const [cert, key] = await Promise.allSettled([readPem(certFile, 'certificate'), readPem(keyFile, 'key')]);
  if (cert.status === 'rejected') throw cert.reason;
  if (key.status === 'rejected') throw key.reason;
  return buildKeyPair(key.value, cert.value, minVersion, { certFile, keyFile });
}
