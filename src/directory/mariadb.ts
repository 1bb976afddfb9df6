// The user directory on MariaDB/MySQL, reading and writing the old stack's usermgmt
// schema as it is (docs/migration.md has the DDL), so an existing database serves
// without migration:
//   domains(id, name, is_active)   users(id, domain_id, email, password_hash, quota_mb, is_active)
//   aliases(id, domain_id, source, destination, is_active)
// Old rows may hold a bare crypt hash ("$6$…", "$2y$…") where Dovecot's SQL driver had
// `default_pass_scheme` set; such hashes get their scheme prefix when read. An alias row's
// destination may list several addresses separated by commas (Postfix accepts both forms).
// Every query is a prepared statement through a small pool; lookups on the request path
// are indexed point queries (email and name are UNIQUE in the old schema).
import { randomBytes } from 'node:crypto';
import mysql, { type Pool, type RowDataPacket } from 'mysql2/promise';
import type { Logger } from 'pino';
import { hashPassword, verifyPassword, isVerifiableHash, type NewPasswordScheme } from './password.js';
import { resolveRecipient, type ResolveLookups } from './resolve.js';
import { DirectoryError, type AliasRecord, type Directory, type DomainRecord, type UserRecord } from './types.js';
import { normalizeDomain, parseAddress, parseAliasSource, quote } from './validate.js';

export interface MariadbConnection {
  host: string;
  port: number;
  socketPath?: string | undefined;
  database: string;
  user: string;
  password?: string | undefined;
  connectionLimit: number;
}

export interface MariadbDirectoryOptions {
  mariadb: MariadbConnection;
  defaultQuotaMb?: number;
  recipientDelimiter?: string;
  passwordScheme?: NewPasswordScheme;
  logger?: Logger;
}

interface DomainRow extends RowDataPacket { id: number; name: string; is_active: number; created_at: Date | null }
interface UserRow extends RowDataPacket { email: string; domain: string; password_hash: string; quota_mb: number; is_active: number; created_at: Date | null }

/** A bare crypt(3) hash gets the Dovecot scheme its prefix names. */
export function withScheme(hash: string): string {
  if (hash.startsWith('{')) return hash;
  if (/^\$2[abxy]\$/.test(hash)) return `{BLF-CRYPT}${hash}`;
  if (hash.startsWith('$6$')) return `{SHA512-CRYPT}${hash}`;
  if (hash.startsWith('$5$')) return `{SHA256-CRYPT}${hash}`;
  if (hash.startsWith('$argon2id$')) return `{ARGON2ID}${hash}`;
  if (hash.startsWith('$argon2i$')) return `{ARGON2I}${hash}`;
  return `{CRYPT}${hash}`;
}

const splitDest = (d: string) => d.split(/[,\s]+/).map((x) => x.trim().toLowerCase()).filter(Boolean);

export async function openMariadbDirectory(opts: MariadbDirectoryOptions): Promise<Directory> {
  const c = opts.mariadb;
  const pool: Pool = mysql.createPool({
    ...(c.socketPath ? { socketPath: c.socketPath } : { host: c.host, port: c.port }),
    user: c.user,
    ...(c.password !== undefined ? { password: c.password } : {}),
    database: c.database,
    connectionLimit: c.connectionLimit,
    charset: 'utf8mb4',
    // DATETIME/TIMESTAMP as Date in UTC; the old PHP app wrote UTC.
    timezone: 'Z',
  });
  // Fail at start-up, not at the first login, when the database or a table is missing.
  try {
    await pool.query('SELECT 1 FROM domains LIMIT 1');
    await pool.query('SELECT 1 FROM users LIMIT 1');
    await pool.query('SELECT 1 FROM aliases LIMIT 1');
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw new Error(`mariadb directory: ${(err as Error).message}`);
  }
  return createMariadbDirectory(pool, opts);
}

function createMariadbDirectory(pool: Pool, opts: MariadbDirectoryOptions): Directory {
  const defaultQuotaMb = opts.defaultQuotaMb ?? 2048;
  const scheme = opts.passwordScheme ?? 'ARGON2ID';
  const delimiter = opts.recipientDelimiter ?? '+';
  const logger = opts.logger;
  const USER_SELECT =
    'SELECT u.email, d.name AS domain, u.password_hash, u.quota_mb, u.is_active, u.created_at FROM users u JOIN domains d ON d.id = u.domain_id';

  const rows = async <T extends RowDataPacket>(sql: string, params: unknown[] = []): Promise<T[]> => {
    const [r] = await pool.execute<T[]>(sql, params as never);
    return r;
  };
  const run = async (sql: string, params: unknown[] = []): Promise<number> => {
    const [r] = await pool.execute(sql, params as never);
    return (r as { affectedRows: number }).affectedRows;
  };
  const toDomain = (r: DomainRow): DomainRecord => ({ name: r.name.toLowerCase(), active: r.is_active === 1, createdAt: r.created_at ?? new Date(0) });
  const toUser = (r: UserRow): UserRecord => {
    const address = r.email.toLowerCase();
    return {
      address,
      localPart: address.slice(0, address.lastIndexOf('@')),
      domain: r.domain.toLowerCase(),
      passwordHash: withScheme(r.password_hash),
      quotaMb: Number(r.quota_mb),
      active: r.is_active === 1,
      createdAt: r.created_at ?? new Date(0),
    };
  };
  const domainRow = async (name: string) => (await rows<DomainRow>('SELECT id, name, is_active, created_at FROM domains WHERE name = ?', [name]))[0] ?? null;
  const requireDomain = async (name: string) => {
    const d = await domainRow(name);
    if (!d) throw new DirectoryError('not-found', `domain ${name} does not exist`);
    return d;
  };
  const userRow = async (address: string) => (await rows<UserRow>(`${USER_SELECT} WHERE u.email = ?`, [address]))[0] ?? null;
  const checkQuota = (q: number) => {
    if (!Number.isSafeInteger(q) || q < 0 || q > 1024 * 1024 * 1024) throw new DirectoryError('invalid', `invalid quota ${quote(String(q))} (whole MB, 0 = unlimited)`);
    return q;
  };
  const checkPassword = (p: string) => {
    if (p.length === 0) throw new DirectoryError('invalid', 'password is empty');
    if (p.length > 1024 || /[\0\r\n]/.test(p)) throw new DirectoryError('invalid', 'password is too long or contains NUL or a line break');
  };
  const insertUser = async (address: string, hash: string, quotaMb?: number): Promise<UserRecord> => {
    const parsed = parseAddress(address);
    const d = await requireDomain(parsed.domain);
    if (await userRow(parsed.address)) throw new DirectoryError('exists', `user ${parsed.address} already exists`);
    try {
      await run('INSERT INTO users (domain_id, email, password_hash, quota_mb, is_active) VALUES (?, ?, ?, ?, 1)', [d.id, parsed.address, hash, checkQuota(quotaMb ?? defaultQuotaMb)]);
    } catch (err) {
      if ((err as { code?: string }).code === 'ER_DUP_ENTRY') throw new DirectoryError('exists', `user ${parsed.address} already exists`);
      throw err;
    }
    return toUser((await userRow(parsed.address))!);
  };
  const aliasDests = async (source: string): Promise<string[] | null> => {
    const r = await rows<RowDataPacket & { destination: string }>('SELECT destination FROM aliases WHERE source = ? AND is_active = 1 ORDER BY id', [source]);
    if (r.length === 0) return null;
    return [...new Set(r.flatMap((x) => splitDest(x.destination)))];
  };

  const lookups: ResolveLookups = {
    alias: aliasDests,
    user: async (a) => {
      const r = await userRow(a);
      return r ? toUser(r) : null;
    },
    domain: async (n) => {
      const r = await domainRow(n);
      return r ? { active: r.is_active === 1 } : null;
    },
  };
  let dummyHash: Promise<string> | undefined;

  return {
    async addDomain(name) {
      const domain = normalizeDomain(name);
      if (await domainRow(domain)) throw new DirectoryError('exists', `domain ${domain} already exists`);
      await run('INSERT INTO domains (name, is_active) VALUES (?, 1)', [domain]);
      return toDomain((await domainRow(domain))!);
    },
    async removeDomain(name) {
      const domain = normalizeDomain(name);
      const d = await requireDomain(domain);
      const [u] = await rows<RowDataPacket & { n: number }>('SELECT COUNT(*) AS n FROM users WHERE domain_id = ?', [d.id]);
      const [a] = await rows<RowDataPacket & { n: number }>('SELECT COUNT(*) AS n FROM aliases WHERE domain_id = ?', [d.id]);
      if (Number(u!.n) > 0 || Number(a!.n) > 0) throw new DirectoryError('in-use', `domain ${domain} still has ${u!.n} user(s) and ${a!.n} alias row(s)`);
      await run('DELETE FROM domains WHERE id = ?', [d.id]);
    },
    async listDomains() {
      return (await rows<DomainRow>('SELECT id, name, is_active, created_at FROM domains ORDER BY name')).map(toDomain);
    },
    async getDomain(name) {
      let domain: string;
      try {
        domain = normalizeDomain(name);
      } catch {
        return null;
      }
      const r = await domainRow(domain);
      return r ? toDomain(r) : null;
    },

    async addUser(address, password, o) {
      checkPassword(password);
      return insertUser(address, await hashPassword(password, scheme), o?.quotaMb);
    },
    async addUserWithHash(address, passwordHash, o) {
      if (!isVerifiableHash(passwordHash)) throw new DirectoryError('invalid', `unsupported password hash scheme for ${quote(address)}`);
      return insertUser(address, passwordHash, o?.quotaMb);
    },
    async removeUser(address) {
      const parsed = parseAddress(address);
      if ((await run('DELETE FROM users WHERE email = ?', [parsed.address])) === 0) throw new DirectoryError('not-found', `user ${parsed.address} does not exist`);
    },
    async listUsers(domain) {
      if (domain === undefined) return (await rows<UserRow>(`${USER_SELECT} ORDER BY d.name, u.email`)).map(toUser);
      return (await rows<UserRow>(`${USER_SELECT} WHERE d.name = ? ORDER BY u.email`, [normalizeDomain(domain)])).map(toUser);
    },
    async getUser(address) {
      let parsed;
      try {
        parsed = parseAddress(address);
      } catch {
        return null;
      }
      const r = await userRow(parsed.address);
      return r ? toUser(r) : null;
    },
    async setPassword(address, password) {
      const parsed = parseAddress(address);
      checkPassword(password);
      const hash = await hashPassword(password, scheme);
      if ((await run('UPDATE users SET password_hash = ? WHERE email = ?', [hash, parsed.address])) === 0) throw new DirectoryError('not-found', `user ${parsed.address} does not exist`);
    },
    async setQuota(address, quotaMb) {
      const parsed = parseAddress(address);
      if ((await run('UPDATE users SET quota_mb = ? WHERE email = ?', [checkQuota(quotaMb), parsed.address])) === 0) throw new DirectoryError('not-found', `user ${parsed.address} does not exist`);
    },
    async setActive(address, active) {
      const parsed = parseAddress(address);
      if (!(await userRow(parsed.address))) throw new DirectoryError('not-found', `user ${parsed.address} does not exist`);
      await run('UPDATE users SET is_active = ? WHERE email = ?', [active ? 1 : 0, parsed.address]);
    },
    async authenticate(address, password) {
      let parsed;
      try {
        parsed = parseAddress(address);
      } catch {
        parsed = null;
      }
      const row = parsed ? await userRow(parsed.address) : null;
      if (!row) {
        // Same work as a real check: timing does not reveal who exists.
        dummyHash ??= hashPassword(randomBytes(18).toString('base64'), scheme);
        await verifyPassword(password, await dummyHash, logger);
        return null;
      }
      if (!(await verifyPassword(password, withScheme(row.password_hash), logger))) return null;
      const current = await userRow(row.email);
      const domain = current && (await domainRow(current.domain));
      if (!current || !domain || current.is_active !== 1 || domain.is_active !== 1) return null;
      return toUser(current);
    },

    async addAlias(source, destinations) {
      const src = parseAliasSource(source);
      if (destinations.length === 0) throw new DirectoryError('invalid', `alias ${src.address} needs at least one destination`);
      const dests = [...new Set(destinations.map((d) => parseAddress(d).address))];
      if (dests.includes(src.address)) throw new DirectoryError('invalid', `alias ${src.address} cannot point to itself`);
      const d = await requireDomain(src.domain);
      const have = new Set((await aliasDests(src.address)) ?? []);
      const add = dests.filter((x) => !have.has(x));
      if (add.length === 0) throw new DirectoryError('exists', `alias ${src.address} already has ${dests.join(', ')}`);
      for (const x of add) await run('INSERT INTO aliases (domain_id, source, destination, is_active) VALUES (?, ?, ?, 1)', [d.id, src.address, x]);
      return { source: src.address, destinations: (await aliasDests(src.address)) ?? [] };
    },
    async removeAlias(source, destination) {
      const src = parseAliasSource(source);
      if (destination === undefined) {
        if ((await run('DELETE FROM aliases WHERE source = ?', [src.address])) === 0) throw new DirectoryError('not-found', `alias ${src.address} does not exist`);
        return;
      }
      const dest = parseAddress(destination).address;
      if ((await run('DELETE FROM aliases WHERE source = ? AND destination = ?', [src.address, dest])) === 0) {
        throw new DirectoryError('not-found', `alias ${src.address} → ${dest} does not exist`);
      }
    },
    async listAliases(domain) {
      const r = domain === undefined
        ? await rows<RowDataPacket & { source: string; destination: string }>('SELECT a.source, a.destination FROM aliases a JOIN domains d ON d.id = a.domain_id WHERE a.is_active = 1 ORDER BY d.name, a.source, a.id')
        : await rows<RowDataPacket & { source: string; destination: string }>('SELECT a.source, a.destination FROM aliases a JOIN domains d ON d.id = a.domain_id WHERE a.is_active = 1 AND d.name = ? ORDER BY a.source, a.id', [normalizeDomain(domain)]);
      const out = new Map<string, string[]>();
      for (const x of r) {
        const list = out.get(x.source.toLowerCase()) ?? [];
        for (const d of splitDest(x.destination)) if (!list.includes(d)) list.push(d);
        out.set(x.source.toLowerCase(), list);
      }
      return [...out].map(([source, destinations]): AliasRecord => ({ source, destinations }));
    },

    resolveRecipient(address) {
      return resolveRecipient(address, lookups, { recipientDelimiter: delimiter });
    },
    async close() {
      await pool.end();
    },
  };
}
