// Optional archive encryption: AES-256-GCM over the whole archive, streamed.
// Layout: "MSBKENC1" | kdf byte (0 = raw key, 1 = scrypt passphrase) | salt (16) | IV (12)
//         | ciphertext | GCM tag (16).
// The key comes only from the environment (never the config file, never a log line):
// MAILSERVER_BACKUP_KEY (32 bytes as 64 hex digits or base64) or MAILSERVER_BACKUP_PASSPHRASE.
import { createCipheriv, createDecipheriv, randomBytes, scrypt as scryptCb } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { promisify } from 'node:util';
import { BackupError } from './errors.js';

const scrypt = promisify(scryptCb) as (pw: string, salt: Buffer, len: number, opts: object) => Promise<Buffer>;
const MAGIC = Buffer.from('MSBKENC1');
const HEADER = MAGIC.length + 1 + 16 + 12;
const TAG = 16;
// scrypt cost: N=2^15, r=8 (about 32 MB, a fraction of a second; the OWASP 2023 minimum is 2^17/8/1
// for interactive logins; an archive key is derived once per archive).
const SCRYPT = { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };

export interface KeySource {
  kind: 'key' | 'passphrase';
  secret: Buffer | string;
}

/** The key from the environment, or null when none is set. */
export function keyFromEnv(env: NodeJS.ProcessEnv = process.env): KeySource | null {
  const raw = env.MAILSERVER_BACKUP_KEY;
  if (raw) {
    const key = /^[0-9a-f]{64}$/i.test(raw) ? Buffer.from(raw, 'hex') : Buffer.from(raw, 'base64');
    if (key.length !== 32) throw new BackupError('MAILSERVER_BACKUP_KEY must be 32 bytes (64 hex digits or base64)');
    return { kind: 'key', secret: key };
  }
  const pass = env.MAILSERVER_BACKUP_PASSPHRASE;
  if (pass) return { kind: 'passphrase', secret: pass };
  return null;
}

async function derive(src: KeySource, kdf: number, salt: Buffer): Promise<Buffer> {
  if (kdf === 0) {
    if (src.kind !== 'key') throw new BackupError('archive was encrypted with MAILSERVER_BACKUP_KEY; set it to restore');
    return src.secret as Buffer;
  }
  if (src.kind !== 'passphrase') throw new BackupError('archive was encrypted with MAILSERVER_BACKUP_PASSPHRASE; set it to restore');
  return scrypt(src.secret as string, salt, 32, SCRYPT);
}

/** A transform that encrypts what passes through and appends the tag. */
export async function encryptStream(src: KeySource): Promise<Transform> {
  const kdf = src.kind === 'key' ? 0 : 1;
  const salt = randomBytes(16);
  const iv = randomBytes(12);
  const key = await derive(src, kdf, salt);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  let headerSent = false;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      if (!headerSent) {
        this.push(Buffer.concat([MAGIC, Buffer.from([kdf]), salt, iv]));
        headerSent = true;
      }
      cb(null, cipher.update(chunk));
    },
    flush(cb) {
      if (!headerSent) this.push(Buffer.concat([MAGIC, Buffer.from([kdf]), salt, iv]));
      this.push(cipher.final());
      cb(null, cipher.getAuthTag());
    },
  });
}

export async function isEncrypted(file: string): Promise<boolean> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(MAGIC.length);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return bytesRead === MAGIC.length && buf.equals(MAGIC);
  } finally {
    await fh.close();
  }
}

/**
 * The plaintext of an archive file as a stream. GCM authenticates only at the end, so a
 * consumer must not act on the bytes before the stream ends without error: restore
 * extracts into a staging directory first and moves nothing until every archive verified.
 */
export async function openArchive(file: string, src: KeySource | null): Promise<Readable> {
  if (!(await isEncrypted(file))) return createReadStream(file);
  if (!src) throw new BackupError(`${file} is encrypted; set MAILSERVER_BACKUP_KEY or MAILSERVER_BACKUP_PASSPHRASE`);
  const size = (await stat(file)).size;
  if (size < HEADER + TAG) throw new BackupError(`${file}: truncated encrypted archive`);
  const fh = await open(file, 'r');
  const head = Buffer.alloc(HEADER);
  const tag = Buffer.alloc(TAG);
  try {
    await fh.read(head, 0, HEADER, 0);
    await fh.read(tag, 0, TAG, size - TAG);
  } finally {
    await fh.close();
  }
  const kdf = head[MAGIC.length]!;
  const salt = head.subarray(MAGIC.length + 1, MAGIC.length + 17);
  const iv = head.subarray(MAGIC.length + 17, HEADER);
  const key = await derive(src, kdf, salt);
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAuthTag(tag);
  const body = size - TAG > HEADER ? createReadStream(file, { start: HEADER, end: size - TAG - 1 }) : Readable.from([]);
  body.on('error', (e: Error) => decipher.destroy(e));
  const out = body.pipe(decipher);
  // A wrong key or a tampered file fails at final() with a bare OpenSSL message.
  const wrapped = new Transform({ transform: (c: Buffer, _e, cb) => cb(null, c) });
  out.on('error', () => wrapped.destroy(new BackupError(`${file}: decryption failed (wrong key or tampered archive)`)));
  return out.pipe(wrapped);
}
