// Password hashes in Dovecot's `{SCHEME}body` form, so a Dovecot passwd-file or SQL
// table can be imported as is and our hashes stay readable by Dovecot.
//
// Event loop: argon2 runs on the libuv pool, bcryptjs's async API works in slices,
// SHA-crypt yields between round slices (sha-crypt.ts), and the plain digest schemes
// are a single hash call. Never log a password or a hash: only the scheme name.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import argon2 from 'argon2';
import bcrypt from 'bcryptjs';
import type { Logger } from 'pino';
import { shaCryptVerify } from './sha-crypt.js';

export type NewPasswordScheme = 'ARGON2ID' | 'BLF-CRYPT';

// Dovecot's ARGON2ID defaults, so `doveadm pw -t` accepts our hashes unchanged.
const ARGON2_OPTIONS = { type: argon2.argon2id, memoryCost: 65536, timeCost: 3, parallelism: 1 } as const;
// bcryptjs is pure JS: cost 10 is ~100 ms per login here; 12 would be ~350 ms.
const BCRYPT_COST = 10;

export const VERIFIABLE_SCHEMES = [
  'SHA512-CRYPT', 'SHA256-CRYPT', 'BLF-CRYPT', 'ARGON2ID', 'ARGON2I',
  'SSHA512', 'SSHA256', 'SHA512', 'SHA256', 'PLAIN', 'CRYPT',
] as const;

export async function hashPassword(password: string, scheme: NewPasswordScheme = 'ARGON2ID'): Promise<string> {
  if (scheme === 'ARGON2ID') {
    // Encoded by hand: argon2 (npm) writes `m=,p=,t=`, but Dovecot's libsodium only
    // parses the reference order `m=,t=,p=`, and then rejects the password.
    const salt = randomBytes(16);
    const raw = await argon2.hash(password, { ...ARGON2_OPTIONS, salt, hashLength: 32, raw: true });
    const b64 = (b: Buffer) => b.toString('base64').replace(/=+$/, '');
    const { memoryCost: m, timeCost: t, parallelism: p } = ARGON2_OPTIONS;
    return `{ARGON2ID}$argon2id$v=19$m=${m},t=${t},p=${p}$${b64(salt)}$${b64(raw)}`;
  }
  // Same algorithm; $2y$ is the tag Dovecot writes and every libc crypt() accepts.
  const hash = await bcrypt.hash(password, BCRYPT_COST);
  return `{BLF-CRYPT}${hash.replace(/^\$2b\$/, '$2y$')}`;
}

/** Splits `{SCHEME}body` (scheme upper-cased, without Dovecot's `.B64`/`.HEX` suffix). */
export function splitScheme(stored: string): { scheme: string; encoding: 'b64' | 'hex' | null; body: string } | null {
  const m = /^\{([A-Za-z0-9-]+)(?:\.(b64|base64|hex))?\}/i.exec(stored);
  if (!m) return null;
  const enc = m[2]?.toLowerCase();
  return {
    scheme: m[1]!.toUpperCase(),
    encoding: enc === undefined ? null : enc === 'hex' ? 'hex' : 'b64',
    body: stored.slice(m[0].length),
  };
}

/** True when `stored` names a scheme verifyPassword understands (used to vet imports). */
export function isVerifiableHash(stored: string): boolean {
  const parts = splitScheme(stored);
  return parts !== null && (VERIFIABLE_SCHEMES as readonly string[]).includes(parts.scheme) && parts.body.length > 0;
}

function constantTimeEqual(a: Buffer, b: Buffer): boolean {
  // Hashing first makes the lengths equal, so the compare itself leaks nothing.
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb) && a.length === b.length;
}

function decode(body: string, encoding: 'b64' | 'hex' | null, fallback: 'b64' | 'hex'): Buffer {
  return Buffer.from(body.trim(), (encoding ?? fallback) === 'hex' ? 'hex' : 'base64');
}

function verifyDigest(password: string, algorithm: 'sha256' | 'sha512', salted: boolean, body: string, encoding: 'b64' | 'hex' | null): boolean {
  const raw = decode(body, encoding, 'b64');
  const size = algorithm === 'sha512' ? 64 : 32;
  if (raw.length < size || (!salted && raw.length !== size)) return false;
  const salt = raw.subarray(size);
  const digest = createHash(algorithm).update(password, 'utf8').update(salt).digest();
  return constantTimeEqual(digest, raw.subarray(0, size));
}

async function verifyBcrypt(password: string, body: string): Promise<boolean> {
  if (!/^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/.test(body)) return false;
  return bcrypt.compare(password, body);
}

async function verifyCryptBody(password: string, body: string): Promise<boolean | null> {
  if (/^\$[56]\$/.test(body)) return shaCryptVerify(password, body);
  if (/^\$2[aby]\$/.test(body)) return verifyBcrypt(password, body);
  if (body.startsWith('$argon2')) return argon2.verify(body, password);
  return null;
}

/**
 * Checks a password against a stored `{SCHEME}` hash. An unknown or malformed scheme
 * is a `false` with a warning naming the scheme only.
 */
export async function verifyPassword(password: string, stored: string, logger?: Logger): Promise<boolean> {
  const parts = splitScheme(stored);
  if (!parts) {
    logger?.warn({ scheme: null }, 'password hash without a {SCHEME} prefix');
    return false;
  }
  const { scheme, encoding, body } = parts;
  try {
    switch (scheme) {
      case 'SHA512-CRYPT':
      case 'SHA256-CRYPT':
        return await shaCryptVerify(password, body);
      case 'BLF-CRYPT':
        return await verifyBcrypt(password, body);
      case 'ARGON2ID':
      case 'ARGON2I':
        return await argon2.verify(body, password);
      case 'SSHA512':
        return verifyDigest(password, 'sha512', true, body, encoding);
      case 'SSHA256':
        return verifyDigest(password, 'sha256', true, body, encoding);
      case 'SHA512':
        return verifyDigest(password, 'sha512', false, body, encoding);
      case 'SHA256':
        return verifyDigest(password, 'sha256', false, body, encoding);
      case 'PLAIN':
        return constantTimeEqual(Buffer.from(password, 'utf8'), Buffer.from(body, 'utf8'));
      case 'CRYPT': {
        const ok = await verifyCryptBody(password, body);
        if (ok !== null) return ok;
        // DES crypt and friends: too weak to carry over; the admin resets these.
        logger?.warn({ scheme }, 'unsupported {CRYPT} variant');
        return false;
      }
      default:
        logger?.warn({ scheme }, 'unsupported password scheme');
        return false;
    }
  } catch (err) {
    // A malformed hash body (argon2 parse error, bad salt) is a failed login, not a crash.
    logger?.warn({ scheme, err: (err as Error).name }, 'malformed password hash');
    return false;
  }
}
