// Inbound recipient resolution, as pure logic over lookup functions so it can be
// tested without a database and reused by any directory backend.
//
// Order for one address: exact alias → user → (with a delimiter) base alias → base
// user → catch-all `@domain` → unknown. A user therefore always wins over a catch-all.
// Alias destinations are resolved with the same rules, recursively (depth ≤ 10, each
// address visited once, so loops end), and destinations outside our domains are
// collected as `external` forwards.
import type { Resolution, UserRecord } from './types.js';

export interface ResolveLookups {
  /** Destinations of the alias with exactly this source (`a@d` or `@d`), or null. */
  alias(source: string): Promise<string[] | null>;
  user(address: string): Promise<UserRecord | null>;
  /** Whether the domain is ours, and if so whether it is active. */
  domain(name: string): Promise<{ active: boolean } | null>;
}

export interface ResolveOptions {
  /** Plus-addressing separator; '' disables. */
  recipientDelimiter: string;
  maxDepth?: number;
}

const MAX_DEPTH = 10;

interface Acc {
  users: Map<string, UserRecord>;
  external: Set<string>;
  disabled: boolean;
  visited: Set<string>;
}

function splitAddress(address: string): { local: string; domain: string } | null {
  const at = address.lastIndexOf('@');
  if (at <= 0 || at === address.length - 1) return null;
  return { local: address.slice(0, at), domain: address.slice(at + 1) };
}

/** Finds what an address names, without expanding aliases. */
async function match(
  local: string,
  domain: string,
  lookups: ResolveLookups,
  opts: ResolveOptions,
): Promise<{ alias: string[] } | { user: UserRecord } | null> {
  const address = `${local}@${domain}`;
  const direct = await lookups.alias(address);
  if (direct) return { alias: direct };
  const user = await lookups.user(address);
  if (user) return { user };
  const delim = opts.recipientDelimiter;
  const cut = delim === '' ? -1 : local.indexOf(delim);
  if (cut > 0) {
    const base = `${local.slice(0, cut)}@${domain}`;
    const baseAlias = await lookups.alias(base);
    if (baseAlias) return { alias: baseAlias };
    const baseUser = await lookups.user(base);
    if (baseUser) return { user: baseUser };
  }
  const catchAll = await lookups.alias(`@${domain}`);
  if (catchAll) return { alias: catchAll };
  return null;
}

async function expand(address: string, depth: number, acc: Acc, lookups: ResolveLookups, opts: ResolveOptions): Promise<boolean> {
  if (acc.visited.has(address)) return true; // already counted: a loop or a duplicate
  acc.visited.add(address);
  const parts = splitAddress(address);
  if (!parts) return false;
  const domain = await lookups.domain(parts.domain);
  if (!domain) {
    // Only alias destinations can be foreign; the top-level caller checks first.
    acc.external.add(address);
    return true;
  }
  const found = await match(parts.local, parts.domain, lookups, opts);
  if (!found) return false;
  if (!domain.active) {
    acc.disabled = true;
    return true;
  }
  if ('user' in found) {
    if (found.user.active) acc.users.set(found.user.address, found.user);
    else acc.disabled = true;
    return true;
  }
  if (depth >= (opts.maxDepth ?? MAX_DEPTH)) return true;
  for (const dest of found.alias) await expand(dest.toLowerCase(), depth + 1, acc, lookups, opts);
  return true;
}

export async function resolveRecipient(address: string, lookups: ResolveLookups, opts: ResolveOptions): Promise<Resolution> {
  const lower = address.toLowerCase();
  const parts = splitAddress(lower);
  if (!parts || !(await lookups.domain(parts.domain))) return { kind: 'unknown' };
  const acc: Acc = { users: new Map(), external: new Set(), disabled: false, visited: new Set() };
  const known = await expand(lower, 0, acc, lookups, opts);
  if (!known) return { kind: 'unknown' };
  if (acc.users.size === 0 && acc.external.size === 0) return acc.disabled ? { kind: 'disabled' } : { kind: 'unknown' };
  return { kind: 'deliver', users: [...acc.users.values()], external: [...acc.external] };
}
