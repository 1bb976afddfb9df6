// The one configuration schema: every key, its default and its description live here.
// config/example.yaml and docs/configuration.md are checked against it in a test.
// Each protocol's section lives in ./sections/<protocol>.ts.
import { z } from 'zod';
import { listener, pathString } from './fields.js';
import { authSection } from './sections/auth.js';
import { imapSection } from './sections/imap.js';
import { pop3Section } from './sections/pop3.js';
import { submissionSection } from './sections/submission.js';
import { relaySection } from './sections/relay.js';
import { dkimSection } from './sections/dkim.js';
import { httpSection } from './sections/http.js';
import { backupSection } from './sections/backup.js';
import { mariadbSection } from './sections/mariadb.js';
import { scanSection } from './sections/scan.js';

export { fieldKinds, typeNames, secretString, type FieldKind } from './fields.js';

export const configSchema = z.strictObject({
  hostname: z.string().min(1).optional().describe('Name used in greetings and Received headers. Default: the machine host name.'),
  dataDir: pathString().default('./data').describe('Root of everything the server writes.'),
  mailRoot: pathString().optional().describe('Maildir root (`<mailRoot>/<domain>/<user>`). Default: `<dataDir>/mail`.'),
  log: z
    .strictObject({
      level: z
        .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
        .default('info')
        .describe('pino log level; `trace` adds wire traces.'),
    })
    .prefault({})
    .describe('Logging (JSON lines on stdout).'),
  tls: z
    .strictObject({
      certFile: pathString().optional().describe('PEM certificate chain. Default: a self-signed one generated under `<dataDir>/tls`.'),
      keyFile: pathString().optional().describe('PEM private key matching `certFile`.'),
      minVersion: z.enum(['TLSv1.2', 'TLSv1.3']).default('TLSv1.2').describe('Oldest TLS version accepted.'),
      pollSeconds: z
        .number()
        .int()
        .min(0)
        .max(3600)
        .default(45)
        .describe('Besides watching the directory, re-check `certFile`/`keyFile` this often (0 = only watch).'),
    })
    .prefault({})
    .describe('Certificates; files are re-read when they change, without a restart.'),
  directory: z
    .strictObject({
      driver: z.enum(['sqlite', 'mariadb']).default('sqlite').describe('User directory backend: `sqlite` (one file) or `mariadb` (MariaDB/MySQL with the old usermgmt schema, see docs/migration.md).'),
      mariadb: mariadbSection.optional(),
      path: pathString().optional().describe('SQLite file. Default: `<dataDir>/directory.sqlite`.'),
      passwordScheme: z.enum(['ARGON2ID', 'BLF-CRYPT']).default('ARGON2ID').describe('Scheme for new password hashes.'),
      defaultQuotaMb: z.number().int().min(0).default(2048).describe('Quota for new users in MB (0 = unlimited).'),
    })
    .prefault({})
    .describe('Domains, users and aliases.'),
  delivery: z
    .strictObject({
      maxMessageBytes: z.number().int().positive().default(25 * 1024 * 1024).describe('Largest message accepted (552 5.3.4 above).'),
      maxRecipients: z.number().int().positive().default(1000).describe('Recipients per transaction (452 4.5.3 above).'),
      recipientDelimiter: z.string().max(1).default('+').describe('Plus-addressing separator; empty disables.'),
    })
    .prefault({})
    .describe('The inbound delivery pipeline.'),
  lmtp: listener(10024, ['127.0.0.0/8', '::1/128'], 'LMTP ingest (RFC 2033). No authentication: keep it on loopback or behind `allow`.'),
  auth: authSection,
  imap: imapSection,
  pop3: pop3Section,
  submission: submissionSection,
  relay: relaySection,
  dkim: dkimSection,
  http: httpSection,
  backup: backupSection,
  scan: scanSection,
});

export type Config = z.infer<typeof configSchema>;

/** Config with every derived default filled in (absolute paths, host name). */
export interface ResolvedConfig extends Config {
  hostname: string;
  mailRoot: string;
  directory: Config['directory'] & { path: string };
}
