// Dovecot passwd-file parsing for `user import-passwd` (pure: text in, entries out).
// Line format: user@domain:{SCHEME}hash:uid:gid:gecos:home:shell:extra fields
// The extra fields are space-separated key=value pairs and may themselves contain ':'
// (`userdb_quota_rule=*:storage=1G`), so everything after the 7th ':' is one field.
import { DirectoryError } from '../directory/types.js';
import { isVerifiableHash } from '../directory/password.js';
import { parseAddress, quote } from '../directory/validate.js';

export interface PasswdEntry {
  line: number;
  address: string;
  passwordHash: string;
  quotaMb?: number;
}

export interface PasswdParseResult {
  entries: PasswdEntry[];
  errors: string[];
}

const UNITS: Record<string, number> = { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** A Dovecot size (`1G`, `500M`, `1024k`) in bytes; `bareUnit` is what a plain number means. */
function parseSize(value: string, bareUnit: number): number {
  const m = /^(\d+)\s*([bkmgt]?)$/i.exec(value);
  if (!m) throw new Error(`unsupported size ${quote(value)}`);
  return Number(m[1]) * (m[2] ? UNITS[m[2].toLowerCase()]! : bareUnit);
}

const toMb = (bytes: number) => Math.ceil(bytes / 1024 ** 2);

/** The user's total quota from the extra fields, in MB (0 = unlimited), if any. */
export function quotaFromExtra(extra: string): number | undefined {
  let quota: number | undefined;
  for (const field of extra.split(/\s+/).filter(Boolean)) {
    const eq = field.indexOf('=');
    if (eq < 0) continue;
    const key = field.slice(0, eq).toLowerCase().replace(/^userdb_/, '');
    const value = field.slice(eq + 1);
    if (key === 'quota_rule') {
      // Only the default rule `*` sets the total; mailbox-specific rules (Trash:+100M) are extras we skip.
      const m = /^\*:(storage|bytes)=(.*)$/.exec(value);
      if (!m) continue;
      // Dovecot 2.3: a bare `storage=` number is in kilobytes, a bare `bytes=` in bytes.
      quota = toMb(parseSize(m[2]!, m[1] === 'storage' ? 1024 : 1));
    } else if (key === 'quota_storage_size') {
      quota = toMb(parseSize(value, 1)); // Dovecot 2.4 name; bare number = bytes
    }
  }
  return quota;
}

export function parsePasswdFile(text: string): PasswdParseResult {
  const entries: PasswdEntry[] = [];
  const errors: string[] = [];
  const seen = new Set<string>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = i + 1;
    if (raw.trim() === '' || raw.trimStart().startsWith('#')) return;
    const fields = raw.split(':');
    const [user = '', hash = ''] = fields;
    try {
      const { address } = parseAddress(user);
      if (!isVerifiableHash(hash)) {
        throw new DirectoryError('invalid', `missing or unsupported password hash scheme for ${address}`);
      }
      if (seen.has(address)) throw new DirectoryError('exists', `${address} appears twice`);
      seen.add(address);
      const entry: PasswdEntry = { line, address, passwordHash: hash };
      const quotaMb = quotaFromExtra(fields.slice(7).join(':'));
      if (quotaMb !== undefined) entry.quotaMb = quotaMb;
      entries.push(entry);
    } catch (err) {
      errors.push(`line ${line}: ${(err as Error).message}`);
    }
  });
  return { entries, errors };
}
