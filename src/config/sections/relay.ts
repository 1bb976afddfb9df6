import { z } from 'zod';
import { pathString, secretString } from '../fields.js';

export const relaySection = z
  .strictObject({
    host: z.string().min(1).optional().describe('Smart host, e.g. `smtp.sendgrid.net`. Unset: remote recipients stay queued and are retried until it is set.'),
    port: z.number().int().min(1).max(65535).default(587).describe('Smart host port.'),
    implicitTls: z.boolean().default(false).describe('TLS from the first byte (port 465); otherwise STARTTLS, which is then required.'),
    user: z.string().min(1).default('apikey').describe('SMTP AUTH user (SendGrid: `apikey`).'),
    password: secretString().optional().describe('SMTP AUTH password (SendGrid: the API key). Best from the environment: MAILSERVER__RELAY__PASSWORD or `passwordFile`.'),
    rejectUnauthorized: z.boolean().default(true).describe('Verify the smart host\'s certificate.'),
    caFile: pathString().optional().describe('Extra CA certificate (PEM) to trust for the smart host.'),
    connectionTimeoutSeconds: z.number().int().positive().default(60).describe('Connect and greeting timeout.'),
    concurrency: z.number().int().positive().default(4).describe('Messages relayed at once.'),
    spoolDir: pathString().optional().describe('Queue directory. Default: `<dataDir>/queue`.'),
    maxSpoolBytes: z.number().int().min(0).default(0).describe('Refuse new messages with 452 4.3.1 while the queue holds this many bytes (0 = no limit; a full disk answers 452 too).'),
    retryInitialSeconds: z.number().int().positive().default(300).describe('First retry after a temporary failure; doubles each time.'),
    retryMaxSeconds: z.number().int().positive().default(3600).describe('Longest wait between retries.'),
    expireSeconds: z.number().int().positive().default(5 * 24 * 3600).describe('Give up (bounce) after this long in the queue.'),
    delayWarningSeconds: z.number().int().min(0).default(4 * 3600).describe('Send one delay notice to the sender after this long (0 = never).'),
    scanSeconds: z.number().int().positive().default(30).describe('Re-read the queue directory this often (picks up `mailserver queue retry|delete`).'),
  })
  .prefault({})
  .describe('Outbound queue and the smart host that remote mail is relayed through.');
