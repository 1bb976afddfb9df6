import { z } from 'zod';
import { pathString } from '../fields.js';

const cron = () => z.string().min(1).regex(/^\S+(\s+\S+){4,5}$/, { message: 'expected a cron expression like "30 2 * * *"' });

export const backupSection = z
  .strictObject({
    dir: pathString().optional().describe('Where dated backup folders are written. Default: `<dataDir>/backups`.'),
    components: z
      .array(z.enum(['mail', 'directory', 'config', 'dkim', 'tls']))
      .default(['mail', 'directory', 'config', 'dkim', 'tls'])
      .describe('Components a scheduled backup writes (one archive each).'),
    encrypt: z
      .boolean()
      .default(false)
      .describe('Encrypt archives with AES-256-GCM. The key comes only from the environment: `MAILSERVER_BACKUP_KEY` (32 bytes, hex or base64) or `MAILSERVER_BACKUP_PASSPHRASE` (scrypt).'),
    schedule: z
      .strictObject({
        enabled: z.boolean().default(false).describe('Run backups from the daemon itself (leave off when a systemd timer runs `mailserver backup`).'),
        daily: cron().default('30 2 * * *').describe('Cron expression (server local time) of the daily backup.'),
        weekly: cron().default('0 3 * * 0').describe('Cron expression of the weekly backup; it replaces the daily one when both fall due.'),
        offsite: z.boolean().default(false).describe('Upload each scheduled backup to `backup.offsite`.'),
      })
      .prefault({})
      .describe('The in-daemon scheduler (croner).'),
    retention: z
      .strictObject({
        daily: z.number().int().min(0).default(7).describe('Daily backups kept (the oldest beyond this are deleted after each run).'),
        weekly: z.number().int().min(0).default(4).describe('Weekly backups kept.'),
      })
      .prefault({})
      .describe('Rotation. Backups made by hand (`manual`) are never deleted by rotation.'),
    scanBeforeRestore: z
      .boolean()
      .default(true)
      .describe('Scan archives with ClamAV before a restore writes anything (when a scanner is configured).'),
    offsite: z
      .strictObject({
        bucket: z.string().min(1).optional().describe('S3 bucket (Object Lock enabled). Credentials only from the environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`).'),
        prefix: z.string().default('mailserver/').describe('Key prefix inside the bucket.'),
        region: z.string().default('us-east-1').describe('S3 region.'),
        endpoint: z.string().url().optional().describe('S3-compatible endpoint (MinIO, Wasabi, Backblaze). Default: AWS.'),
        forcePathStyle: z.boolean().default(false).describe('Path-style URLs (most S3-compatible servers need this).'),
        objectLockMode: z.enum(['COMPLIANCE', 'GOVERNANCE', 'off']).default('COMPLIANCE').describe('Object Lock retention mode sent on every object.'),
        retentionDays: z.number().int().min(1).default(30).describe('Object Lock retain-until = upload time + this many days.'),
        partSizeMb: z.number().int().min(5).max(5120).default(16).describe('Multipart part size (S3 minimum 5 MB); archives above it are uploaded in parts.'),
      })
      .prefault({})
      .describe('Offsite copies in an S3-compatible bucket.'),
  })
  .prefault({})
  .describe('Backups: per-component archives with a SHA-256 manifest, rotation, offsite copies.');
