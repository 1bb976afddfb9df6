// Offsite copies against s3rver (a local S3-compatible server on port 0): multipart upload
// interrupted and resumed, SHA-256 checksum and Object Lock headers on every request that
// creates data, then fetch + verify + restore into an empty server.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import pino from 'pino';
// @ts-expect-error s3rver ships no types
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBackup } from '../../src/backup/backup.js';
import { fetchBackup, s3Client, uploadBackup } from '../../src/backup/offsite.js';
import { runRestore } from '../../src/backup/restore.js';
import type { ResolvedConfig } from '../../src/config/schema.js';
import { startTestServer, type TestServer } from '../helpers/app.js';
import { deliver, imapState } from './helpers.js';

const quiet = pino({ level: 'silent' });
const USER = 'carol@example.test';
const PASS = 'carol-pass';
const PART = 64 * 1024;

interface Seen {
  command: string;
  headers: Record<string, string>;
  query: Record<string, unknown>;
}

let s3: { close(): Promise<void> };
let s3dir: string;
let endpoint: string;
let src: TestServer;
let backupDir: string;
const servers: TestServer[] = [];
const saved = { id: process.env.AWS_ACCESS_KEY_ID, key: process.env.AWS_SECRET_ACCESS_KEY };

function offsiteConfig(c: ResolvedConfig): ResolvedConfig {
  return { ...c, backup: { ...c.backup, offsite: { ...c.backup.offsite, bucket: 'backups', endpoint, forcePathStyle: true, prefix: 'mx1/' } } };
}

/** A client that records every request as sent, and can fail the Nth UploadPart (an interrupted run). */
function recordingClient(config: ResolvedConfig, seen: Seen[], failOnPart?: number): S3Client {
  const client = s3Client(config.backup.offsite);
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const req = args.request as { headers: Record<string, string>; query: Record<string, unknown> };
      const command = (context as { commandName: string }).commandName;
      seen.push({ command, headers: { ...req.headers }, query: { ...req.query } });
      if (failOnPart !== undefined && command === 'UploadPartCommand' && Number(req.query.partNumber) === failOnPart) {
        throw new Error('connection reset (simulated)');
      }
      return next(args);
    },
    // After the build step every header is on the request; throwing here is not retried.
    { step: 'build', priority: 'low', name: 'testRecorder' },
  );
  return client;
}

beforeAll(async () => {
  process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
  process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
  s3dir = await mkdtemp(path.join(tmpdir(), 's3rver-'));
  const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: s3dir, configureBuckets: [{ name: 'backups' }] });
  const addr = (await server.run()) as AddressInfo;
  s3 = server;
  endpoint = `http://127.0.0.1:${addr.port}`;

  src = await startTestServer();
  servers.push(src);
  await src.app.directory.addDomain('example.test');
  await src.addUser(USER, PASS);
  for (let i = 0; i < 5; i++) await deliver(src, USER, `m-${i}`);
  // Incompressible content so the mail archive spans several parts.
  await deliver(src, USER, 'big', randomBytes(300 * 1024).toString('base64').replace(/.{76}/g, '$&\n'));
  backupDir = (await runBackup({ config: src.app.config, directory: src.app.directory, logger: quiet })).dir;
}, 60_000);

afterAll(async () => {
  for (const s of servers) await s.stop();
  await s3?.close();
  await rm(s3dir, { recursive: true, force: true });
  process.env.AWS_ACCESS_KEY_ID = saved.id;
  process.env.AWS_SECRET_ACCESS_KEY = saved.key;
  if (saved.id === undefined) delete process.env.AWS_ACCESS_KEY_ID;
  if (saved.key === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
});

describe('offsite copies (s3rver)', () => {
  const first: Seen[] = [];
  const second: Seen[] = [];

  it('an interrupted multipart upload resumes where it stopped, with checksums and Object Lock on every request', async () => {
    const config = offsiteConfig(src.app.config);
    const now = new Date();
    await expect(uploadBackup({ config, logger: quiet, dir: backupDir, client: recordingClient(config, first, 3), partSizeBytes: PART, now })).rejects.toThrow(
      /re-run to resume/,
    );
    const donePartsFirst = first.filter((s) => s.command === 'UploadPartCommand').map((s) => Number(s.query.partNumber));
    expect(donePartsFirst).toEqual([1, 2, 3]); // the third failed
    const state = JSON.parse(await readFile(path.join(backupDir, '.offsite-state.json'), 'utf8')) as Record<string, { parts: unknown[] }>;
    expect(state['mail.tar.gz']!.parts).toHaveLength(2);

    const r = await uploadBackup({ config, logger: quiet, dir: backupDir, client: recordingClient(config, second), partSizeBytes: PART, now });
    expect(r.url).toBe(`s3://backups/mx1/${path.basename(backupDir)}/`);
    // No second CreateMultipartUpload for the mail archive: the same upload continued at part 3.
    expect(second.filter((s) => s.command === 'CreateMultipartUploadCommand')).toHaveLength(0);
    const parts = second.filter((s) => s.command === 'UploadPartCommand').map((s) => Number(s.query.partNumber));
    expect(parts[0]).toBe(3);
    expect(parts.length).toBeGreaterThanOrEqual(2); // archive > 4 parts of 64 KB
    expect(second.some((s) => s.command === 'CompleteMultipartUploadCommand')).toBe(true);

    const retainUntil = new Date(now.getTime() + 30 * 86_400_000).toISOString().slice(0, 19);
    for (const s of [...first, ...second]) {
      if (s.command === 'PutObjectCommand' || s.command === 'CreateMultipartUploadCommand') {
        expect(s.headers['x-amz-object-lock-mode'], s.command).toBe('COMPLIANCE');
        expect(s.headers['x-amz-object-lock-retain-until-date'], s.command).toContain(retainUntil);
        expect(s.headers['x-amz-meta-sha256'], s.command).toMatch(/^[0-9a-f]{64}$/);
      }
      if (s.command === 'PutObjectCommand' || s.command === 'UploadPartCommand') {
        expect(s.headers['x-amz-checksum-sha256'], s.command).toMatch(/^[A-Za-z0-9+/]{43}=$/);
      }
      if (s.command === 'CreateMultipartUploadCommand') expect(s.headers['x-amz-checksum-algorithm']).toBe('SHA256');
    }
    expect(second.filter((s) => s.command === 'PutObjectCommand')).toHaveLength(5); // 4 small archives + manifest

    // A third run finds every archive there (same size and SHA-256) and only re-puts the manifest.
    const third: Seen[] = [];
    const again = await uploadBackup({ config, logger: quiet, dir: backupDir, client: recordingClient(config, third), partSizeBytes: PART, now });
    expect(again.uploaded).toEqual(['manifest.json']);
    expect(again.skipped.sort()).toEqual(['config.tar.gz', 'directory.tar.gz', 'dkim.tar.gz', 'mail.tar.gz', 'tls.tar.gz']);
  });

  it('fetches from s3://, verifies and restores into an empty server with the same UIDs', async () => {
    const dst = await startTestServer();
    servers.push(dst);
    const config = offsiteConfig(dst.app.config);
    const url = `s3://backups/mx1/${path.basename(backupDir)}`;
    const local = await fetchBackup({ config, logger: quiet, url });
    await runRestore({ config, directory: dst.app.directory, logger: quiet, from: local });
    expect(await imapState(dst, USER, PASS)).toEqual(await imapState(src, USER, PASS));
  });

  it('refuses an object that changed in the bucket', async () => {
    const dst = await startTestServer();
    servers.push(dst);
    const config = offsiteConfig(dst.app.config);
    const name = path.basename(backupDir);
    // Simulates tampering (a bucket without Object Lock, as s3rver is).
    await s3Client(config.backup.offsite).send(new PutObjectCommand({ Bucket: 'backups', Key: `mx1/${name}/directory.tar.gz`, Body: 'not the archive' }));
    await expect(fetchBackup({ config, logger: quiet, url: `s3://backups/mx1/${name}/` })).rejects.toThrow(/directory\.tar\.gz: SHA-256 mismatch after download/);
    expect(await dst.app.directory.listUsers()).toEqual([]);
  });
});
