// One component = one tar.gz archive (optionally encrypted), hashed while it is written.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, stat, unlink } from 'node:fs/promises';
import { PassThrough, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar';
import { encryptStream, isEncrypted, openArchive, type KeySource } from './crypto.js';
import { BackupError } from './errors.js';

export interface WrittenArchive {
  sha256: string;
  bytes: number;
}

function hasher(): { stream: Transform; digest: () => string; bytes: () => number } {
  const h = createHash('sha256');
  let n = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _e, cb) {
      h.update(chunk);
      n += chunk.length;
      cb(null, chunk);
    },
  });
  return { stream, digest: () => h.digest('hex'), bytes: () => n };
}

/** Packs every entry of `dir` into `outFile` (written as .partial, renamed when complete). */
export async function packDir(dir: string, outFile: string, key: KeySource | null): Promise<WrittenArchive> {
  const partial = `${outFile}.partial`;
  const h = hasher();
  // portable: no uid/gid/uname or atime in headers, so the archive does not leak local
  // account names; file modes are kept (keys stay 0600).
  const source = tar.create({ gzip: true, cwd: dir, portable: true }, ['.']) as unknown as NodeJS.ReadableStream;
  const stages: NodeJS.ReadWriteStream[] = [];
  if (key) stages.push(await encryptStream(key));
  try {
    await pipeline([source, ...stages, h.stream, createWriteStream(partial, { mode: 0o600 })]);
  } catch (err) {
    await unlink(partial).catch(() => undefined);
    throw err;
  }
  await rename(partial, outFile);
  return { sha256: h.digest(), bytes: h.bytes() };
}

export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(createReadStream(file), h);
  return h.digest('hex');
}

export async function fileSize(file: string): Promise<number> {
  return (await stat(file)).size;
}

/** Extracts an archive (decrypting it if needed) into `dest`. Entries cannot escape `dest` (node-tar strips `..` and absolute paths). */
export async function extractArchive(file: string, key: KeySource | null, dest: string): Promise<void> {
  await mkdir(dest, { recursive: true, mode: 0o700 });
  const plain = await openArchive(file, key);
  try {
    await pipeline(plain, tar.extract({ cwd: dest, strict: true, preserveOwner: false }) as unknown as NodeJS.WritableStream);
  } catch (err) {
    // With a wrong key the "plaintext" is noise and tar fails before GCM's final check.
    if (err instanceof BackupError || !(await isEncrypted(file))) throw err;
    throw new BackupError(`${file}: decryption failed (wrong key or tampered archive)`);
  }
}

/** The plaintext (tar.gz) bytes of an archive, for a scanner. */
export async function plaintextStream(file: string, key: KeySource | null): Promise<NodeJS.ReadableStream> {
  const plain = await openArchive(file, key);
  const out = new PassThrough();
  plain.on('error', (e) => out.destroy(e));
  return plain.pipe(out);
}
