// Building blocks of the schema, shared by the per-protocol sections in ./sections.
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

export const pathString = () => z.string().min(1).register(fieldKinds, { kind: 'path' });
/** For passwords and API keys (relay, admin API): `fooFile: /run/secrets/x` also works. */
export const secretString = () => z.string().min(1).register(fieldKinds, { kind: 'secret' });

// The same parser the listeners use, so what validates here is what filters there.
export const cidr = z.string().refine(
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
export const listener = (port: number, allow: string[], description: string, idleTimeoutSeconds = 300, idleReason = 'A client silent this long is told 421 and disconnected (RFC 5321 4.5.3.2.7 suggests 5 minutes).') =>
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
        .default(idleTimeoutSeconds)
        .describe(idleReason),
    })
    .prefault({})
    .describe(description);

