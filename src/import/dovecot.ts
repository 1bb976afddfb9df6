// `mailserver import dovecot`: take over a Dovecot install in place. The Maildir stays
// where it is (mail_location = maildir:<root>/%d/%n is exactly our layout), so UIDs,
// UIDVALIDITY, keywords and POP3 UIDLs carry over untouched: nothing is copied or
// renumbered. Users and their password hashes come from the passwd-file passdb (imported
// into our directory) or, for an SQL passdb on MariaDB/MySQL, the same database is used
// through the MariaDB driver.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parsePasswdFile } from '../cli/passwd-file.js';
import { withScheme } from '../directory/mariadb.js';
import { DirectoryError, type Directory } from '../directory/types.js';
import { DovecotConfError, parseKeyValueFile, readDovecotConf, sectionsOf, type ConfSection } from './dovecot-conf.js';

export interface ImportedUser {
  address: string;
  passwordHash: string;
  quotaMb?: number;
}

export interface DovecotPlan {
  mailRoot: string;
  hierarchyDelimiter: '.' | '/';
  users: ImportedUser[];
  domains: string[];
  /** Set when the passdb is SQL on MariaDB/MySQL: the directory to configure. */
  mariadb?: { host?: string; port?: number; socketPath?: string; database: string; user: string };
  /** The config keys to write (YAML-ready). */
  config: Record<string, unknown>;
  warnings: string[];
}

export class ImportError extends Error {}

/** maildir:<root>/%d/%n[:options] → <root>. Other layouts cannot be served in place. */
export function mailRootFrom(location: string): string {
  const m = /^maildir:([^:]+)(?::(.*))?$/.exec(location.trim());
  if (!m) throw new ImportError(`mail_location ${JSON.stringify(location)} is not a Maildir; only maildir:<root>/%d/%n can be served in place`);
  const opts = (m[2] ?? '').split(':');
  if (opts.some((o) => /^LAYOUT=fs$/i.test(o))) throw new ImportError('mail_location uses LAYOUT=fs; this server reads the Maildir++ layout (.Folder.Sub)');
  const root = m[1]!.replace(/\/+$/, '');
  const tail = /^(.*)\/%L?d\/%L?n$/.exec(root) ?? /^(.*)\/%\{domain\}\/%\{user\s*\|\s*username\}$/.exec(root);
  if (!tail || tail[1]!.includes('%') || tail[1]!.startsWith('~')) {
    throw new ImportError(`mail_location ${JSON.stringify(location)}: expected maildir:<root>/%d/%n (per-domain, per-user directories under one root); see docs/migration.md for other layouts`);
  }
  return tail[1]!;
}

function passwdFileArgs(args: string): { scheme: string | null; file: string } {
  let scheme: string | null = null;
  let file = '';
  for (const a of args.split(/\s+/).filter(Boolean)) {
    const kv = /^([a-z_]+)=(.*)$/.exec(a);
    if (kv) {
      if (kv[1] === 'scheme') scheme = kv[2]!.toUpperCase();
    } else file = a;
  }
  return { scheme, file };
}

/** Prefixes bare hashes with the passdb's default scheme (Dovecot: `scheme=` or CRYPT). */
function normaliseHashes(text: string, scheme: string | null): string {
  return text
    .split('\n')
    .map((line) => {
      const f = line.split(':');
      if (f.length < 2 || line.trim().startsWith('#') || f[1]!.startsWith('{') || f[1] === '') return line;
      f[1] = scheme ? `{${scheme}}${f[1]}` : withScheme(f[1]!);
      return f.join(':');
    })
    .join('\n');
}

function connectString(s: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of s.matchAll(/([a-z_]+)=("[^"]*"|\S+)/g)) out.set(m[1]!, m[2]!.replace(/^"|"$/g, ''));
  return out;
}

export interface DovecotSources {
  /** dovecot.conf (its includes are followed). */
  confFile?: string;
  /** Explicit paths instead of (or over) the configuration. */
  mailLocation?: string;
  passwdFile?: string;
}

export async function planDovecotImport(src: DovecotSources): Promise<DovecotPlan> {
  const warnings: string[] = [];
  let conf: ConfSection | null = null;
  if (src.confFile) {
    try {
      conf = await readDovecotConf(src.confFile);
    } catch (err) {
      if (err instanceof DovecotConfError) throw new ImportError(err.message);
      throw err;
    }
  }
  const location = src.mailLocation ?? conf?.settings.get('mail_location');
  if (!location) throw new ImportError('no mail_location: pass --mail-location or a dovecot.conf that sets it');
  const mailRoot = mailRootFrom(location);

  const uidl = conf?.settings.get('pop3_uidl_format');
  if (uidl && uidl !== '%08Xu%08Xv') warnings.push(`pop3_uidl_format is ${uidl}; this server answers UIDL as %08Xu%08Xv (Dovecot's default), so POP3 clients may download everything once more`);

  let sep: '.' | '/' = '.';
  const inbox = conf ? sectionsOf(conf, 'namespace').find((n) => n.settings.get('inbox') === 'yes') : undefined;
  const s = inbox?.settings.get('separator');
  if (s === '/' || s === '.') sep = s;
  else if (s) warnings.push(`namespace separator ${JSON.stringify(s)} is not supported; clients will see '.'`);

  const users: ImportedUser[] = [];
  let mariadb: DovecotPlan['mariadb'];
  const passdbs = conf ? sectionsOf(conf, 'passdb') : [];
  const passwdFiles: Array<{ file: string; scheme: string | null }> = [];
  if (src.passwdFile) passwdFiles.push({ file: src.passwdFile, scheme: null });
  for (const p of passdbs) {
    const driver = p.settings.get('driver');
    const args = p.settings.get('args') ?? '';
    if (driver === 'passwd-file') {
      if (!src.passwdFile) passwdFiles.push(passwdFileArgs(args));
    } else if (driver === 'sql') {
      const file = path.resolve(path.dirname(src.confFile ?? '.'), args.trim());
      const kv = parseKeyValueFile(await readFile(file, 'utf8').catch(() => {
        throw new ImportError(`cannot read the SQL passdb settings ${file}`);
      }));
      const drv = kv.get('driver');
      if (drv !== 'mysql') throw new ImportError(`SQL passdb driver ${drv ?? '?'} is not supported (MariaDB/MySQL only)`);
      const c = connectString(kv.get('connect') ?? '');
      const host = c.get('host') ?? 'localhost';
      mariadb = {
        ...(host.startsWith('/') ? { socketPath: host } : { host, ...(c.has('port') ? { port: Number(c.get('port')) } : {}) }),
        database: c.get('dbname') ?? 'usermgmt',
        user: c.get('user') ?? 'mailserver',
      };
      warnings.push('SQL passdb: the MariaDB directory reads the usermgmt tables (domains, users, aliases); set its password with MAILSERVER__DIRECTORY__MARIADB__PASSWORD (not written to the config)');
    } else if (driver) {
      warnings.push(`passdb driver ${driver} is not imported`);
    }
  }
  for (const { file, scheme } of passwdFiles) {
    const text = await readFile(file, 'utf8').catch(() => {
      throw new ImportError(`cannot read passwd-file ${file}`);
    });
    const parsed = parsePasswdFile(normaliseHashes(text, scheme));
    for (const e of parsed.errors) warnings.push(`${file}: ${e}`);
    for (const e of parsed.entries) if (!users.some((u) => u.address === e.address)) users.push({ address: e.address, passwordHash: e.passwordHash, ...(e.quotaMb !== undefined ? { quotaMb: e.quotaMb } : {}) });
  }
  if (users.length === 0 && !mariadb) warnings.push('no users found (no passwd-file or SQL passdb)');
  const domains = [...new Set(users.map((u) => u.address.split('@')[1]!))].sort();

  const config: Record<string, unknown> = { mailRoot, imap: { hierarchyDelimiter: sep } };
  if (mariadb) config.directory = { driver: 'mariadb', mariadb };
  return { mailRoot, hierarchyDelimiter: sep, users, domains, ...(mariadb ? { mariadb } : {}), config, warnings };
}

/** Adds the domains `dir` lacks (both importers start here); returns report lines. */
export async function addMissingDomains(domains: string[], dir: Directory, dryRun: boolean): Promise<string[]> {
  const lines: string[] = [];
  const have = new Set((await dir.listDomains()).map((d) => d.name));
  for (const d of domains) {
    if (have.has(d)) continue;
    lines.push(`add domain ${d}`);
    if (!dryRun) await dir.addDomain(d);
  }
  return lines;
}

/** Adds the plan's domains and users to `dir` (existing ones are left alone); returns report lines. */
export async function applyUsers(plan: { domains: string[]; users: ImportedUser[] }, dir: Directory, dryRun: boolean): Promise<string[]> {
  const lines = await addMissingDomains(plan.domains, dir, dryRun);
  for (const u of plan.users) {
    if (await dir.getUser(u.address)) {
      lines.push(`keep user ${u.address} (already there)`);
      continue;
    }
    lines.push(`add user ${u.address}`);
    if (dryRun) continue;
    try {
      await dir.addUserWithHash(u.address, u.passwordHash, u.quotaMb !== undefined ? { quotaMb: u.quotaMb } : {});
    } catch (err) {
      if (err instanceof DirectoryError) lines.push(`  skipped: ${err.message}`);
      else throw err;
    }
  }
  return lines;
}
