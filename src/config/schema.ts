// The one configuration schema: every key, its default and its description live here.
// config/example.yaml and docs/configuration.md are checked against it in a test.
import { z } from 'zod';

const listener = (port: number, allow: string[], description: string) =>
  z
    .strictObject({
      enabled: z.boolean().default(true).describe('Start this listener.'),
      bind: z
        .array(z.string().min(1))
        .min(1)
        .default(['127.0.0.1'])
        .describe('Addresses to bind; each gets a socket on `port`.'),
      port: z.number().int().min(0).max(65535).default(port).describe('TCP port (0 = any free port).'),
      allow: z
        .array(z.string())
        .default(allow)
        .describe('CIDR allowlist; a connection from elsewhere is closed before the greeting. Empty = no filter.'),
      maxConnections: z.number().int().positive().default(200).describe('Connections open at once on this listener.'),
    })
    .default({} as never)
    .describe(description);

export const configSchema = z.strictObject({
  hostname: z.string().min(1).optional().describe('Name used in greetings and Received headers. Default: the machine host name.'),
  dataDir: z.string().min(1).default('./data').describe('Root of everything the server writes.'),
  mailRoot: z.string().min(1).optional().describe('Maildir root (`<mailRoot>/<domain>/<user>`). Default: `<dataDir>/mail`.'),
  log: z
    .strictObject({
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info').describe('pino log level.'),
    })
    .default({} as never)
    .describe('Logging (JSON lines on stdout).'),
  tls: z
    .strictObject({
      certFile: z.string().optional().describe('PEM certificate chain. Default: a self-signed one generated under `<dataDir>/tls`.'),
      keyFile: z.string().optional().describe('PEM private key matching `certFile`.'),
      minVersion: z.enum(['TLSv1.2', 'TLSv1.3']).default('TLSv1.2').describe('Oldest TLS version accepted.'),
    })
    .default({} as never)
    .describe('Certificates; files are re-read when they change.'),
  directory: z
    .strictObject({
      driver: z.literal('sqlite').default('sqlite').describe('User directory backend.'),
      path: z.string().optional().describe('SQLite file. Default: `<dataDir>/directory.sqlite`.'),
      passwordScheme: z.enum(['ARGON2ID', 'BLF-CRYPT']).default('ARGON2ID').describe('Scheme for new password hashes.'),
      defaultQuotaMb: z.number().int().min(0).default(2048).describe('Quota for new users in MB (0 = unlimited).'),
    })
    .default({} as never)
    .describe('Domains, users and aliases.'),
  delivery: z
    .strictObject({
      maxMessageBytes: z.number().int().positive().default(25 * 1024 * 1024).describe('Largest message accepted (552 5.3.4 above).'),
      maxRecipients: z.number().int().positive().default(1000).describe('Recipients per transaction (452 4.5.3 above).'),
      recipientDelimiter: z.string().max(1).default('+').describe('Plus-addressing separator; empty disables.'),
    })
    .default({} as never)
    .describe('The inbound delivery pipeline.'),
  lmtp: listener(10024, ['127.0.0.0/8', '::1/128'], 'LMTP ingest (RFC 2033). No authentication: keep it on loopback or behind `allow`.'),
});

export type Config = z.infer<typeof configSchema>;

/** Config with every derived default filled in (absolute paths, host name). */
export interface ResolvedConfig extends Config {
  hostname: string;
  mailRoot: string;
  directory: Config['directory'] & { path: string };
}
