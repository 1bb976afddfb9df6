// The one configuration schema: every key, its default and its description live here.
// config/example.yaml and docs/configuration.md are checked against it in a test.
import ipaddr from 'ipaddr.js';
import { z } from 'zod';
import { parseCidr } from '../net/allowlist.js';

/**
 * Marks for the loader. `path`: resolved against the config file's directory.
 * `secret`: never echoed in errors or logs, and may come from a file via `<key>File`.
 */
export type FieldKind = 'path' | 'secret';
export const fieldKinds = z.registry<{ kind: FieldKind }>();

/** Names for refined strings in error messages and the reference ("list of IP address"). */
export const typeNames = z.registry<{ name: string }>();

const pathString = () => z.string().min(1).register(fieldKinds, { kind: 'path' });
/** For passwords and API keys (relay, admin API): `fooFile: /run/secrets/x` also works. */
export const secretString = () => z.string().min(1).register(fieldKinds, { kind: 'secret' });

// The same parser the listeners use, so what validates here is what filters there.
const cidr = z.string().refine(
  (v) => {
    try {
      parseCidr(v);
      return true;
    } catch {
      return false;
    }
  },
  { message: 'expected an address or CIDR range like 100.64.0.0/10' },
).register(typeNames, { name: 'CIDR range' });

const bindAddress = z
  .string()
  .refine((v) => v === 'localhost' || ipaddr.isValid(v), { message: 'expected an IP address like 127.0.0.1 or ::1' })
  .register(typeNames, { name: 'IP address' });

// Sections use .prefault({}): in zod 4 .default({}) returns `{}` as is, skipping the
// defaults of the keys inside.
const listener = (port: number, allow: string[], description: string) =>
  z
    .strictObject({
      enabled: z.boolean().default(true).describe('Start this listener.'),
      bind: z
        .array(bindAddress)
        .min(1)
        .default(['127.0.0.1'])
        .describe('Addresses to bind; each gets a socket on `port`.'),
      port: z.number().int().min(0).max(65535).default(port).describe('TCP port (0 = any free port).'),
      allow: z
        .array(cidr)
        .default(allow)
        .describe('CIDR allowlist; a connection from elsewhere is closed before the greeting. Empty = no filter.'),
      maxConnections: z.number().int().positive().default(200).describe('Connections open at once on this listener.'),
      idleTimeoutSeconds: z
        .number()
        .int()
        .positive()
        .default(300)
        .describe('A client silent this long is told 421 and disconnected (RFC 5321 4.5.3.2.7 suggests 5 minutes).'),
    })
    .prefault({})
    .describe(description);

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
      driver: z.literal('sqlite').default('sqlite').describe('User directory backend.'),
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
});

export type Config = z.infer<typeof configSchema>;

/** Config with every derived default filled in (absolute paths, host name). */
export interface ResolvedConfig extends Config {
  hostname: string;
  mailRoot: string;
  directory: Config['directory'] & { path: string };
}
