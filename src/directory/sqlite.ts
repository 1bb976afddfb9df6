// The default user directory: one SQLite file (WAL, foreign keys on).
//
// better-sqlite3 is synchronous. Lookups are indexed point queries (microseconds), so
// they run inline on the request path; password hashing and checking are the slow part
// and stay off the event loop (see password.ts). Every write that touches more than one
// row runs in one transaction, so a failure leaves nothing half-applied.
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { migrate } from './schema.js';
import { hashPassword, isVerifiableHash, verifyPassword, type NewPasswordScheme } from './password.js';
import { resolveRecipient, type ResolveLookups } from './resolve.js';
import { normalizeDomain, parseAddress, parseAliasSource, quote, type ParsedAddress } from './validate.js';
import { DirectoryError, type AliasRecord, type Directory, type DomainRecord, type Resolution, type UserRecord } from './types.js';

export interface SqliteDirectoryOptions {
  path: string;
  defaultQuotaMb?: number;
  /** Plus-addressing separator; '' disables. */
  recipientDelimiter?: string;
  passwordScheme?: NewPasswordScheme;
  logger?: Logger;
}

export interface ImportEntry {
  address: string;
  passwordHash: string;
  quotaMb?: number;
}

/** The Directory plus admin operations only the SQLite backend offers so far. */
export interface SqliteDirectory extends Directory {
  setDomainActive(name: string, active: boolean): Promise<void>;
  /** Adds all users or none (one transaction); used by `user import-passwd`. */
  importUsers(entries: ImportEntry[]): Promise<UserRecord[]>;
}

interface DomainRow { name: string; active: number; created_at: number }
interface UserRow {
  address: string; local_part: string; domain: string; password_hash: string;
  quota_mb: number; active: number; created_at: number;
}

const MAX_QUOTA_MB = 1024 * 1024 * 1024; // 1 PB: anything larger is a typo
const MAX_PASSWORD_LENGTH = 1024;

const toDomain = (r: DomainRow): DomainRecord => ({ name: r.name, active: r.active === 1, createdAt: new Date(r.created_at) });
const toUser = (r: UserRow): UserRecord => ({
  address: r.address, localPart: r.local_part, domain: r.domain, passwordHash: r.password_hash,
  quotaMb: r.quota_mb, active: r.active === 1, createdAt: new Date(r.created_at),
});

function checkQuota(quotaMb: number): number {
  if (!Number.isSafeInteger(quotaMb) || quotaMb < 0 || quotaMb > MAX_QUOTA_MB) {
    throw new DirectoryError('invalid', `invalid quota ${quote(String(quotaMb))} (whole MB, 0 = unlimited)`);
  }
  return quotaMb;
}

function checkPassword(password: string): void {
  if (password.length === 0) throw new DirectoryError('invalid', 'password is empty');
  if (password.length > MAX_PASSWORD_LENGTH) throw new DirectoryError('invalid', `password is longer than ${MAX_PASSWORD_LENGTH} characters`);
  // Unusable over IMAP LOGIN/SASL PLAIN anyway, and a sign of a broken pipe or file.
  if (/[\0\r\n]/.test(password)) throw new DirectoryError('invalid', 'password contains NUL or a line break');
}

/** Returns null instead of throwing: lookups on the request path get untrusted input. */
function tryParse(address: string): ParsedAddress | null {
  try {
    return parseAddress(address);
  } catch {
    return null;
  }
}

export async function openSqliteDirectory(opts: SqliteDirectoryOptions): Promise<SqliteDirectory> {
  await mkdir(dirname(opts.path), { recursive: true });
  const db = new Database(opts.path);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    // The CLI and the daemon write to the same file; wait for the other's lock briefly.
    db.pragma('busy_timeout = 5000');
    migrate(db);
  } catch (err) {
    db.close();
    throw err;
  }
  return createSqliteDirectory(db, opts);
}

function createSqliteDirectory(db: Database.Database, opts: SqliteDirectoryOptions): SqliteDirectory {
  const defaultQuotaMb = checkQuota(opts.defaultQuotaMb ?? 2048);
  const scheme = opts.passwordScheme ?? 'ARGON2ID';
  const delimiter = opts.recipientDelimiter ?? '+';
  const logger = opts.logger;

  const q = {
    domain: db.prepare<[string], DomainRow>('SELECT * FROM domains WHERE name = ?'),
    domains: db.prepare<[], DomainRow>('SELECT * FROM domains ORDER BY name'),
    insertDomain: db.prepare('INSERT INTO domains (name, active, created_at) VALUES (?, 1, ?)'),
    deleteDomain: db.prepare('DELETE FROM domains WHERE name = ?'),
    setDomainActive: db.prepare('UPDATE domains SET active = ? WHERE name = ?'),
    usersInDomain: db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM users WHERE domain = ?'),
    aliasesInDomain: db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM aliases WHERE source_domain = ?'),
    user: db.prepare<[string], UserRow>('SELECT * FROM users WHERE address = ?'),
    users: db.prepare<[], UserRow>('SELECT * FROM users ORDER BY domain, local_part'),
    usersOf: db.prepare<[string], UserRow>('SELECT * FROM users WHERE domain = ? ORDER BY local_part'),
    insertUser: db.prepare(
      'INSERT INTO users (address, local_part, domain, password_hash, quota_mb, active, created_at) VALUES (?, ?, ?, ?, ?, 1, ?)',
    ),
    deleteUser: db.prepare('DELETE FROM users WHERE address = ?'),
    setHash: db.prepare('UPDATE users SET password_hash = ? WHERE address = ?'),
    setQuota: db.prepare('UPDATE users SET quota_mb = ? WHERE address = ?'),
    setActive: db.prepare('UPDATE users SET active = ? WHERE address = ?'),
    alias: db.prepare<[string], { destination: string }>('SELECT destination FROM aliases WHERE source = ? ORDER BY position'),
    aliases: db.prepare<[], { source: string; destination: string }>('SELECT source, destination FROM aliases ORDER BY source_domain, source, position'),
    aliasesOf: db.prepare<[string], { source: string; destination: string }>(
      'SELECT source, destination FROM aliases WHERE source_domain = ? ORDER BY source, position',
    ),
    maxPosition: db.prepare<[string], { p: number | null }>('SELECT MAX(position) AS p FROM aliases WHERE source = ?'),
    insertAlias: db.prepare('INSERT OR IGNORE INTO aliases (source, source_domain, destination, position) VALUES (?, ?, ?, ?)'),
    deleteAlias: db.prepare('DELETE FROM aliases WHERE source = ?'),
    deleteAliasDest: db.prepare('DELETE FROM aliases WHERE source = ? AND destination = ?'),
  };

  const requireDomain = (name: string): DomainRow => {
    const row = q.domain.get(name);
    if (!row) throw new DirectoryError('not-found', `domain ${name} does not exist`);
    return row;
  };
  const requireUser = (address: string): ParsedAddress => {
    const parsed = parseAddress(address);
    if (!q.user.get(parsed.address)) throw new DirectoryError('not-found', `user ${parsed.address} does not exist`);
    return parsed;
  };

  // Inserts one user; the caller holds the transaction. Checks give readable errors
  // before the constraints would give SQLite's.
  const insertUser = (address: string, hash: string, quotaMb: number | undefined): UserRecord => {
    const parsed = parseAddress(address);
    requireDomain(parsed.domain);
    if (q.user.get(parsed.address)) throw new DirectoryError('exists', `user ${parsed.address} already exists`);
    q.insertUser.run(parsed.address, parsed.localPart, parsed.domain, hash, checkQuota(quotaMb ?? defaultQuotaMb), Date.now());
    return toUser(q.user.get(parsed.address)!);
  };

  let dummyHash: Promise<string> | undefined;
  const lookups: ResolveLookups = {
    alias: async (source) => {
      const rows = q.alias.all(source);
      return rows.length > 0 ? rows.map((r) => r.destination) : null;
    },
    user: async (address) => {
      const row = q.user.get(address);
      return row ? toUser(row) : null;
    },
    domain: async (name) => {
      const row = q.domain.get(name);
      return row ? { active: row.active === 1 } : null;
    },
  };

  return {
    async addDomain(name) {
      const domain = normalizeDomain(name);
      if (q.domain.get(domain)) throw new DirectoryError('exists', `domain ${domain} already exists`);
      q.insertDomain.run(domain, Date.now());
      return toDomain(q.domain.get(domain)!);
    },

    async removeDomain(name) {
      const domain = normalizeDomain(name);
      db.transaction(() => {
        requireDomain(domain);
        const users = q.usersInDomain.get(domain)!.n;
        const aliases = q.aliasesInDomain.get(domain)!.n;
        if (users > 0 || aliases > 0) {
          throw new DirectoryError('in-use', `domain ${domain} still has ${users} user(s) and ${aliases} alias row(s)`);
        }
        q.deleteDomain.run(domain);
      }).immediate();
    },

    async listDomains() {
      return q.domains.all().map(toDomain);
    },

    async getDomain(name) {
      let domain: string;
      try {
        domain = normalizeDomain(name);
      } catch {
        return null;
      }
      const row = q.domain.get(domain);
      return row ? toDomain(row) : null;
    },

    async setDomainActive(name, active) {
      const domain = normalizeDomain(name);
      requireDomain(domain);
      q.setDomainActive.run(active ? 1 : 0, domain);
    },

    async addUser(address, password, userOpts) {
      // Validate everything cheap before spending ~100 ms on the hash.
      const parsed = parseAddress(address);
      checkPassword(password);
      if (userOpts?.quotaMb !== undefined) checkQuota(userOpts.quotaMb);
      requireDomain(parsed.domain);
      if (q.user.get(parsed.address)) throw new DirectoryError('exists', `user ${parsed.address} already exists`);
      const hash = await hashPassword(password, scheme);
      return db.transaction(() => insertUser(parsed.address, hash, userOpts?.quotaMb)).immediate();
    },

    async addUserWithHash(address, passwordHash, userOpts) {
      if (!isVerifiableHash(passwordHash)) {
        throw new DirectoryError('invalid', `unsupported password hash scheme for ${quote(address)}`);
      }
      return db.transaction(() => insertUser(address, passwordHash, userOpts?.quotaMb)).immediate();
    },

    async importUsers(entries) {
      for (const e of entries) {
        if (!isVerifiableHash(e.passwordHash)) {
          throw new DirectoryError('invalid', `unsupported password hash scheme for ${quote(e.address)}`);
        }
      }
      return db.transaction(() => entries.map((e) => insertUser(e.address, e.passwordHash, e.quotaMb))).immediate();
    },

    async removeUser(address) {
      const parsed = parseAddress(address);
      if (q.deleteUser.run(parsed.address).changes === 0) {
        throw new DirectoryError('not-found', `user ${parsed.address} does not exist`);
      }
    },

    async listUsers(domain) {
      if (domain === undefined) return q.users.all().map(toUser);
      return q.usersOf.all(normalizeDomain(domain)).map(toUser);
    },

    async getUser(address) {
      const parsed = tryParse(address);
      const row = parsed && q.user.get(parsed.address);
      return row ? toUser(row) : null;
    },

    async setPassword(address, password) {
      const parsed = requireUser(address);
      checkPassword(password);
      const hash = await hashPassword(password, scheme);
      if (q.setHash.run(hash, parsed.address).changes === 0) {
        throw new DirectoryError('not-found', `user ${parsed.address} does not exist`);
      }
    },

    async setQuota(address, quotaMb) {
      const parsed = parseAddress(address);
      checkQuota(quotaMb);
      if (q.setQuota.run(quotaMb, parsed.address).changes === 0) {
        throw new DirectoryError('not-found', `user ${parsed.address} does not exist`);
      }
    },

    async setActive(address, active) {
      const parsed = parseAddress(address);
      if (q.setActive.run(active ? 1 : 0, parsed.address).changes === 0) {
        throw new DirectoryError('not-found', `user ${parsed.address} does not exist`);
      }
    },

    async authenticate(address, password) {
      const parsed = tryParse(address);
      const row = parsed ? q.user.get(parsed.address) : undefined;
      if (!row) {
        // Spend the same work as a real check so timing does not reveal who exists.
        dummyHash ??= hashPassword(randomBytes(18).toString('base64'), scheme);
        await verifyPassword(password, await dummyHash, logger);
        return null;
      }
      const ok = await verifyPassword(password, row.password_hash, logger);
      if (!ok) return null;
      // Re-read after the await: the account may have been disabled meanwhile.
      const current = q.user.get(row.address);
      const domain = current && q.domain.get(current.domain);
      if (!current || !domain || current.active !== 1 || domain.active !== 1) return null;
      return toUser(current);
    },

    async addAlias(source, destinations) {
      const src = parseAliasSource(source);
      if (destinations.length === 0) throw new DirectoryError('invalid', `alias ${src.address} needs at least one destination`);
      const dests = [...new Set(destinations.map((d) => parseAddress(d).address))];
      if (dests.includes(src.address)) throw new DirectoryError('invalid', `alias ${src.address} cannot point to itself`);
      return db.transaction((): AliasRecord => {
        requireDomain(src.domain);
        let position = q.maxPosition.get(src.address)?.p ?? 0;
        let added = 0;
        for (const d of dests) added += q.insertAlias.run(src.address, src.domain, d, ++position).changes;
        if (added === 0) throw new DirectoryError('exists', `alias ${src.address} already has ${dests.join(', ')}`);
        return { source: src.address, destinations: q.alias.all(src.address).map((r) => r.destination) };
      }).immediate();
    },

    async removeAlias(source, destination) {
      const src = parseAliasSource(source);
      const dest = destination === undefined ? undefined : parseAddress(destination).address;
      const changes = dest === undefined ? q.deleteAlias.run(src.address).changes : q.deleteAliasDest.run(src.address, dest).changes;
      if (changes === 0) {
        throw new DirectoryError('not-found', dest === undefined ? `alias ${src.address} does not exist` : `alias ${src.address} → ${dest} does not exist`);
      }
    },

    async listAliases(domain) {
      const rows = domain === undefined ? q.aliases.all() : q.aliasesOf.all(normalizeDomain(domain));
      const bySource = new Map<string, string[]>();
      for (const r of rows) {
        const list = bySource.get(r.source) ?? [];
        list.push(r.destination);
        bySource.set(r.source, list);
      }
      return [...bySource].map(([source, destinations]) => ({ source, destinations }));
    },

    async resolveRecipient(address): Promise<Resolution> {
      return resolveRecipient(address, lookups, { recipientDelimiter: delimiter });
    },

    async close() {
      db.close();
    },
  };
}
