// Offsite copies in an S3-compatible bucket (@aws-sdk/client-s3).
//
// - Keys: <prefix><backup folder>/<archive>; manifest.json goes up LAST, so a manifest in
//   the bucket means every archive it lists is there.
// - Integrity: every PUT and every part carries x-amz-checksum-sha256, which S3 checks
//   before it stores anything; the archive's whole-file SHA-256 also rides along as
//   x-amz-meta-sha256 and is checked again after download against the manifest.
// - Object Lock: every object is created (PutObject / CreateMultipartUpload) with
//   x-amz-object-lock-mode and x-amz-object-lock-retain-until-date (COMPLIANCE, 30 days
//   by default), so a stolen key cannot delete or overwrite a backup before then.
// - Resume: parts done are recorded in <backup>/.offsite-state.json after each part; a
//   re-run continues the same multipart upload and skips objects already there (HEAD with
//   the same size and sha256). (s3rver has no ListParts, and the local record is cheaper.)
// - Credentials: only the SDK's environment chain (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
//   AWS_SESSION_TOKEN, or an instance role); never the config file, never a log line.
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type CompletedPart,
} from '@aws-sdk/client-s3';
import type { Logger } from 'pino';
import type { ResolvedConfig } from '../config/schema.js';
import { atomicWrite, readIfExists } from '../maildir/fsutil.js';
import { BackupError } from './errors.js';
import { MANIFEST, readManifest } from './manifest.js';
import { backupMetrics } from './metrics.js';

type Offsite = ResolvedConfig['backup']['offsite'];
const STATE = '.offsite-state.json';

export function s3Client(o: Offsite): S3Client {
  return new S3Client({
    region: o.region,
    ...(o.endpoint ? { endpoint: o.endpoint } : {}),
    forcePathStyle: o.forcePathStyle,
    // We send SHA-256 ourselves; stop the SDK adding its default CRC32 beside it.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

const b64 = (hex: string) => Buffer.from(hex, 'hex').toString('base64');

function lockHeaders(o: Offsite, now: Date) {
  if (o.objectLockMode === 'off') return {};
  return { ObjectLockMode: o.objectLockMode, ObjectLockRetainUntilDate: new Date(now.getTime() + o.retentionDays * 86_400_000) };
}

interface UploadState {
  [file: string]: { uploadId: string; key: string; partSize: number; parts: CompletedPart[] };
}

export interface UploadOptions {
  config: ResolvedConfig;
  logger: Logger;
  /** A local backup folder (written by runBackup). */
  dir: string;
  client?: S3Client;
  /** Part size override (tests); default backup.offsite.partSizeMb. */
  partSizeBytes?: number;
  now?: Date;
}

export async function uploadBackup(opts: UploadOptions): Promise<{ url: string; uploaded: string[]; skipped: string[] }> {
  const o = opts.config.backup.offsite;
  if (!o.bucket) throw new BackupError('backup.offsite.bucket is not set');
  const log = opts.logger.child({ svc: 'offsite', bucket: o.bucket });
  const client = opts.client ?? s3Client(o);
  const name = path.basename(opts.dir);
  const base = `${o.prefix}${name}/`;
  const manifest = await readManifest(opts.dir);
  const partSize = opts.partSizeBytes ?? o.partSizeMb * 1024 * 1024;
  const now = opts.now ?? new Date();
  const uploaded: string[] = [];
  const skipped: string[] = [];
  try {
    const files = Object.values(manifest.components).map((e) => ({ file: e!.file, sha256: e!.sha256 }));
    for (const { file, sha256 } of files) {
      const local = path.join(opts.dir, file);
      const size = (await stat(local)).size;
      if (await alreadyThere(client, o.bucket, base + file, size, sha256)) {
        skipped.push(file);
        continue;
      }
      if (size <= partSize) await putWhole(client, o, base + file, local, sha256, now);
      else await putMultipart(client, o, opts.dir, file, base + file, local, size, sha256, partSize, now, log);
      uploaded.push(file);
      log.info({ key: base + file, bytes: size }, 'offsite archive uploaded');
    }
    const mf = path.join(opts.dir, MANIFEST);
    const sha = createHash('sha256').update(await readFile(mf)).digest('hex');
    await putWhole(client, o, base + MANIFEST, mf, sha, now);
    uploaded.push(MANIFEST);
    await rm(path.join(opts.dir, STATE), { force: true });
    backupMetrics.offsite.inc({ result: 'ok' });
    log.info({ prefix: base, uploaded, skipped }, 'offsite copy complete');
    return { url: `s3://${o.bucket}/${base}`, uploaded, skipped };
  } catch (err) {
    backupMetrics.offsite.inc({ result: 'failed' });
    log.error({ err: { message: (err as Error).message, name: (err as Error).name } }, 'offsite upload failed (re-run to resume)');
    throw err instanceof BackupError ? err : new BackupError(`offsite upload failed: ${(err as Error).message} (re-run to resume)`);
  }
}

async function alreadyThere(client: S3Client, bucket: string, key: string, size: number, sha256: string): Promise<boolean> {
  try {
    const h = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return h.ContentLength === size && h.Metadata?.sha256 === sha256;
  } catch (err) {
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status === 404) return false;
    throw err;
  }
}

async function putWhole(client: S3Client, o: Offsite, key: string, file: string, sha256: string, now: Date): Promise<void> {
  const body = await readFile(file); // at most one part (partSizeMb) in memory
  await client.send(
    new PutObjectCommand({
      Bucket: o.bucket!,
      Key: key,
      Body: body,
      ContentLength: body.length,
      ChecksumSHA256: b64(sha256),
      Metadata: { sha256 },
      ...lockHeaders(o, now),
    }),
  );
}

async function readPart(file: string, offset: number, length: number): Promise<Buffer> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(length);
    const { bytesRead } = await fh.read(buf, 0, length, offset);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

async function putMultipart(
  client: S3Client, o: Offsite, dir: string, file: string, key: string, local: string,
  size: number, sha256: string, partSize: number, now: Date, log: Logger,
): Promise<void> {
  const statePath = path.join(dir, STATE);
  const state = JSON.parse((await readIfExists(statePath)) ?? '{}') as UploadState;
  let s = state[file];
  if (s && (s.key !== key || s.partSize !== partSize)) s = undefined;
  if (s) {
    log.info({ key, done: s.parts.length }, 'resuming multipart upload');
  } else {
    const created = await client.send(
      new CreateMultipartUploadCommand({ Bucket: o.bucket!, Key: key, ChecksumAlgorithm: 'SHA256', Metadata: { sha256 }, ...lockHeaders(o, now) }),
    );
    s = { uploadId: created.UploadId!, key, partSize, parts: [] };
    state[file] = s;
    await atomicWrite(statePath, JSON.stringify(state));
  }
  const count = Math.ceil(size / partSize);
  for (let n = s.parts.length + 1; n <= count; n++) {
    const body = await readPart(local, (n - 1) * partSize, partSize);
    const partSha = createHash('sha256').update(body).digest('base64');
    const r = await client.send(
      new UploadPartCommand({ Bucket: o.bucket!, Key: key, UploadId: s.uploadId, PartNumber: n, Body: body, ContentLength: body.length, ChecksumSHA256: partSha }),
    );
    s.parts.push({ PartNumber: n, ETag: r.ETag!, ChecksumSHA256: r.ChecksumSHA256 ?? partSha });
    await atomicWrite(statePath, JSON.stringify(state));
  }
  await client.send(new CompleteMultipartUploadCommand({ Bucket: o.bucket!, Key: key, UploadId: s.uploadId, MultipartUpload: { Parts: s.parts } }));
  delete state[file];
  await atomicWrite(statePath, JSON.stringify(state));
}

/** Parses s3://bucket/key-prefix/<backup folder>[/]. */
export function parseS3Url(url: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([^/]+)\/(.+?)\/?$/.exec(url);
  if (!m) throw new BackupError(`not an s3:// backup URL: ${url} (expected s3://bucket/prefix/<backup>)`);
  return { bucket: m[1]!, prefix: `${m[2]}/` };
}

/**
 * Downloads a backup from S3 into a fresh folder under the data directory and checks
 * every archive's SHA-256 against the manifest on the way; returns the folder. The
 * caller (restore) verifies once more and deletes the folder afterwards.
 */
export async function fetchBackup(opts: { config: ResolvedConfig; logger: Logger; url: string; client?: S3Client }): Promise<string> {
  const { bucket, prefix } = parseS3Url(opts.url);
  const client = opts.client ?? s3Client(opts.config.backup.offsite);
  const name = path.basename(prefix.replace(/\/$/, ''));
  const dir = path.join(opts.config.dataDir, `.offsite-fetch-${randomBytes(4).toString('hex')}`, name);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const get = async (key: string, dest: string): Promise<string> => {
    const r = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const h = createHash('sha256');
    const body = r.Body as Readable;
    body.on('data', (c: Buffer) => h.update(c));
    await pipeline(body, createWriteStream(dest, { mode: 0o600 }));
    return h.digest('hex');
  };
  try {
    await get(prefix + MANIFEST, path.join(dir, MANIFEST));
    const manifest = await readManifest(dir);
    for (const e of Object.values(manifest.components)) {
      const got = await get(prefix + e!.file, path.join(dir, e!.file));
      if (got !== e!.sha256) throw new BackupError(`${opts.url}${e!.file}: SHA-256 mismatch after download; nothing restored`);
    }
    opts.logger.child({ svc: 'offsite' }).info({ url: opts.url, dir }, 'offsite backup fetched and verified');
    return dir;
  } catch (err) {
    await rm(path.dirname(dir), { recursive: true, force: true });
    if (err instanceof BackupError) throw err;
    throw new BackupError(`cannot fetch ${opts.url}: ${(err as Error).message}`);
  }
}

