import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveRecipient, type ResolveLookups } from '../../src/directory/resolve.js';
import { openSqliteDirectory, type SqliteDirectory } from '../../src/directory/sqlite.js';
import type { Resolution, UserRecord } from '../../src/directory/types.js';

// Pure tests over in-memory lookups, then the same scenarios through SQLite.
function user(address: string, active = true): UserRecord {
  const [localPart, domain] = address.split('@') as [string, string];
  return { address, localPart, domain, passwordHash: '{PLAIN}x', quotaMb: 0, active, createdAt: new Date(0) };
}

function memory(
  domains: Record<string, boolean>,
  users: UserRecord[],
  aliases: Record<string, string[]>,
): ResolveLookups {
  return {
    alias: async (s) => aliases[s] ?? null,
    user: async (a) => users.find((u) => u.address === a) ?? null,
    domain: async (n) => (n in domains ? { active: domains[n]! } : null),
  };
}

const lookups = memory(
  { 'a.example': true, 'b.example': true, 'off.example': false },
  [user('alice@a.example'), user('bob@a.example'), user('carol@b.example'), user('dave@a.example', false), user('erin@off.example')],
  {
    'team@a.example': ['alice@a.example', 'bob@a.example', 'Alice@a.example'],
    'all@a.example': ['team@a.example', 'carol@b.example', 'friend@elsewhere.example'],
    'loop1@a.example': ['loop2@a.example', 'alice@a.example'],
    'loop2@a.example': ['loop1@a.example'],
    'gone@a.example': ['dave@a.example'],
    'mixed@a.example': ['dave@a.example', 'bob@a.example'],
    'sales@a.example': ['bob@a.example'],
    '@b.example': ['alice@a.example'],
    'alias-off@a.example': ['erin@off.example'],
    'deep0@a.example': ['deep1@a.example'],
    ...Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`deep${i + 1}@a.example`, [`deep${i + 2}@a.example`, `leaf${i + 1}@ext.example`]])),
  },
);

const names = (r: Resolution) => (r.kind === 'deliver' ? { users: r.users.map((u) => u.address).sort(), external: [...r.external].sort() } : r.kind);

const CASES: Array<[string, string, ReturnType<typeof names>]> = [
  ['user', 'alice@a.example', { users: ['alice@a.example'], external: [] }],
  ['user, upper case', 'ALICE@A.Example', { users: ['alice@a.example'], external: [] }],
  ['alias fan-out, deduplicated', 'team@a.example', { users: ['alice@a.example', 'bob@a.example'], external: [] }],
  ['nested alias with external', 'all@a.example', { users: ['alice@a.example', 'bob@a.example', 'carol@b.example'], external: ['friend@elsewhere.example'] }],
  ['loop', 'loop1@a.example', { users: ['alice@a.example'], external: [] }],
  ['catch-all', 'whoever@b.example', { users: ['alice@a.example'], external: [] }],
  ['catch-all does not override a user', 'carol@b.example', { users: ['carol@b.example'], external: [] }],
  ['plus-address', 'bob+news@a.example', { users: ['bob@a.example'], external: [] }],
  ['plus-address to alias', 'sales+q3@a.example', { users: ['bob@a.example'], external: [] }],
  ['plus-address beats catch-all', 'carol+x@b.example', { users: ['carol@b.example'], external: [] }],
  ['unknown', 'nobody@a.example', 'unknown'],
  ['unknown plus', 'nobody+x@a.example', 'unknown'],
  ['foreign domain', 'alice@elsewhere.example', 'unknown'],
  ['garbage', 'not an address', 'unknown'],
  ['disabled user', 'dave@a.example', 'disabled'],
  ['alias to disabled user only', 'gone@a.example', 'disabled'],
  ['alias skips the disabled user', 'mixed@a.example', { users: ['bob@a.example'], external: [] }],
  ['disabled domain', 'erin@off.example', 'disabled'],
  ['unknown in disabled domain', 'nobody@off.example', 'unknown'],
  ['alias into disabled domain', 'alias-off@a.example', 'disabled'],
];

describe('resolveRecipient (pure)', () => {
  it.each(CASES)('%s: %s', async (_n, address, expected) => {
    expect(names(await resolveRecipient(address, lookups, { recipientDelimiter: '+' }))).toEqual(expected);
  });

  it('stops at depth 10', async () => {
    const r = names(await resolveRecipient('deep0@a.example', lookups, { recipientDelimiter: '+' }));
    expect(r).toEqual({ users: [], external: Array.from({ length: 9 }, (_, i) => `leaf${i + 1}@ext.example`).sort() });
  });

  it('an empty delimiter disables plus-addressing', async () => {
    expect(names(await resolveRecipient('bob+news@a.example', lookups, { recipientDelimiter: '' }))).toBe('unknown');
  });

  it('an exact user with the delimiter in its name wins over the stripped form', async () => {
    const l = memory({ 'a.example': true }, [user('x+y@a.example'), user('x@a.example')], {});
    expect(names(await resolveRecipient('x+y@a.example', l, { recipientDelimiter: '+' }))).toEqual({ users: ['x+y@a.example'], external: [] });
  });
});

describe('resolveRecipient (SQLite)', () => {
  let dir: string;
  let d: SqliteDirectory;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'resolve-test-'));
    d = await openSqliteDirectory({ path: join(dir, 'd.sqlite'), passwordScheme: 'BLF-CRYPT' });
    for (const name of ['a.example', 'b.example', 'off.example']) await d.addDomain(name);
    await d.setDomainActive('off.example', false);
    const hash = '{PLAIN}x';
    await d.importUsers(['alice@a.example', 'bob@a.example', 'carol@b.example', 'dave@a.example', 'erin@off.example'].map((address) => ({ address, passwordHash: hash })));
    await d.setActive('dave@a.example', false);
    await d.addAlias('team@a.example', ['alice@a.example', 'bob@a.example', 'Alice@a.example']);
    await d.addAlias('all@a.example', ['team@a.example', 'carol@b.example', 'friend@elsewhere.example']);
    await d.addAlias('loop1@a.example', ['loop2@a.example', 'alice@a.example']);
    await d.addAlias('loop2@a.example', ['loop1@a.example']);
    await d.addAlias('gone@a.example', ['dave@a.example']);
    await d.addAlias('mixed@a.example', ['dave@a.example', 'bob@a.example']);
    await d.addAlias('sales@a.example', ['bob@a.example']);
    await d.addAlias('@b.example', ['alice@a.example']);
    await d.addAlias('alias-off@a.example', ['erin@off.example']);
  });
  afterAll(async () => {
    await d.close();
    await rm(dir, { recursive: true, force: true });
  });

  it.each(CASES)('%s: %s', async (_n, address, expected) => {
    expect(names(await d.resolveRecipient(address))).toEqual(expected);
  });
});
