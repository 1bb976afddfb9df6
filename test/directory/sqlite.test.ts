import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteDirectory, type SqliteDirectory } from '../../src/directory/sqlite.js';
import { DirectoryError } from '../../src/directory/types.js';

let dir: string;
let d: SqliteDirectory;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dir-test-'));
  // A nested path checks that the parent directory is created.
  d = await openSqliteDirectory({ path: join(dir, 'nested', 'directory.sqlite'), passwordScheme: 'BLF-CRYPT' });
});
afterEach(async () => {
  await d.close();
  await rm(dir, { recursive: true, force: true });
});

async function rejects(p: Promise<unknown>, code: DirectoryError['code'], text?: string | RegExp) {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(DirectoryError);
  expect((err as DirectoryError).code).toBe(code);
  expect((err as Error).message).not.toContain('\n');
  if (text) expect((err as Error).message).toMatch(text);
}

describe('opening', () => {
  it('uses WAL, foreign keys and a migrations table; reopening is idempotent', async () => {
    const path = join(dir, 'nested', 'directory.sqlite');
    await d.addDomain('example.com');
    await d.close();
    d = await openSqliteDirectory({ path });
    expect(await d.listDomains()).toHaveLength(1);
    const raw = new Database(path, { readonly: true });
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(raw.prepare('SELECT version FROM schema_migrations').all()).toEqual([{ version: 1 }]);
    raw.close();
    expect((await stat(path)).isFile()).toBe(true);
  });
});

describe('domains', () => {
  it('adds, lists, gets and removes', async () => {
    const rec = await d.addDomain('Example.COM');
    expect(rec).toMatchObject({ name: 'example.com', active: true });
    await d.addDomain('b.example');
    expect((await d.listDomains()).map((x) => x.name)).toEqual(['b.example', 'example.com']);
    expect(await d.getDomain('EXAMPLE.com')).toMatchObject({ name: 'example.com' });
    expect(await d.getDomain('../etc')).toBeNull();
    await d.removeDomain('example.com');
    expect(await d.getDomain('example.com')).toBeNull();
  });

  it('stores IDNs as A-labels', async () => {
    expect((await d.addDomain('bücher.example')).name).toBe('xn--bcher-kva.example');
  });

  it('refuses duplicates, missing and in-use domains', async () => {
    await d.addDomain('example.com');
    await rejects(d.addDomain('EXAMPLE.com'), 'exists', /example\.com/);
    await rejects(d.removeDomain('nope.example'), 'not-found', /nope\.example/);
    await d.addUser('a@example.com', 'pw');
    await rejects(d.removeDomain('example.com'), 'in-use');
    await d.removeUser('a@example.com');
    await d.addAlias('@example.com', ['x@elsewhere.example']);
    await rejects(d.removeDomain('example.com'), 'in-use');
  });

  it.each(['', '..', '../x', 'a/b', 'a\0b', 'a..b', '-a.com', 'a-.com', 'a b.com', 'a@b.com', `${'a'.repeat(64)}.com`, `${'abcdefghi.'.repeat(26)}com`, 'a\\b'])(
    'rejects domain %j',
    async (bad) => {
      await rejects(d.addDomain(bad), 'invalid');
    },
  );

  it('disabling a domain is stored', async () => {
    await d.addDomain('example.com');
    await d.setDomainActive('example.com', false);
    expect(await d.getDomain('example.com')).toMatchObject({ active: false });
  });
});

describe('users', () => {
  beforeEach(async () => {
    await d.addDomain('example.com');
  });

  it('adds with the default quota, lower-cases, lists, gets, removes', async () => {
    const u = await d.addUser('Alice@Example.com', 'pw1');
    expect(u).toMatchObject({ address: 'alice@example.com', localPart: 'alice', domain: 'example.com', quotaMb: 2048, active: true });
    expect(u.passwordHash).toMatch(/^\{BLF-CRYPT\}\$2y\$/);
    await d.addUser('bob@example.com', 'pw2', { quotaMb: 0 });
    expect((await d.listUsers()).map((x) => x.address)).toEqual(['alice@example.com', 'bob@example.com']);
    expect((await d.listUsers('example.com')).map((x) => x.quotaMb)).toEqual([2048, 0]);
    expect(await d.getUser('ALICE@example.com')).toMatchObject({ address: 'alice@example.com' });
    await d.removeUser('alice@example.com');
    expect(await d.getUser('alice@example.com')).toBeNull();
    await rejects(d.removeUser('alice@example.com'), 'not-found');
  });

  it('needs an existing domain and refuses duplicates', async () => {
    await rejects(d.addUser('a@missing.example', 'pw'), 'not-found', /missing\.example/);
    await d.addUser('a@example.com', 'pw');
    await rejects(d.addUser('A@example.com', 'pw'), 'exists', /a@example\.com/);
  });

  it.each([
    '../x@example.com', 'a/b@example.com', 'a\0b@example.com', '..@example.com', '.a@example.com', 'a.@example.com',
    'a..b@example.com', '@example.com', 'a@', 'a', `${'x'.repeat(65)}@example.com`, 'a b@example.com', 'a@../etc', 'a@b/c',
    'ü@example.com', '"q"@example.com',
  ])('rejects address %j', async (bad) => {
    await rejects(d.addUser(bad, 'pw'), 'invalid');
    expect(await d.getUser(bad)).toBeNull();
  });

  it('accepts the dot-atom specials', async () => {
    const u = await d.addUser("o'neil.x+y!#$%&*=?^_`{|}~-@example.com", 'pw');
    expect(u.localPart).toBe("o'neil.x+y!#$%&*=?^_`{|}~-");
  });

  it('rejects bad passwords and quotas', async () => {
    await rejects(d.addUser('a@example.com', ''), 'invalid', /empty/);
    await rejects(d.addUser('a@example.com', 'a\nb'), 'invalid');
    await rejects(d.addUser('a@example.com', 'pw', { quotaMb: -1 }), 'invalid', /quota/);
    await rejects(d.addUser('a@example.com', 'pw', { quotaMb: 1.5 }), 'invalid', /quota/);
    expect(await d.listUsers()).toEqual([]);
  });

  it('sets password, quota and active flag', async () => {
    await d.addUser('a@example.com', 'old');
    await d.setPassword('a@example.com', 'new');
    expect(await d.authenticate('a@example.com', 'old')).toBeNull();
    expect(await d.authenticate('a@example.com', 'new')).toMatchObject({ address: 'a@example.com' });
    await d.setQuota('a@example.com', 10);
    expect((await d.getUser('a@example.com'))!.quotaMb).toBe(10);
    await d.setActive('a@example.com', false);
    expect((await d.getUser('a@example.com'))!.active).toBe(false);
    await rejects(d.setPassword('x@example.com', 'pw'), 'not-found');
    await rejects(d.setQuota('x@example.com', 1), 'not-found');
    await rejects(d.setActive('x@example.com', true), 'not-found');
  });

  it('adds with an existing hash and refuses unknown schemes', async () => {
    const u = await d.addUserWithHash('h@example.com', '{PLAIN}secret', { quotaMb: 5 });
    expect(u.quotaMb).toBe(5);
    expect(await d.authenticate('h@example.com', 'secret')).not.toBeNull();
    await rejects(d.addUserWithHash('i@example.com', '{MD5}abc'), 'invalid', /scheme/);
  });

  it('imports all or nothing', async () => {
    await rejects(
      d.importUsers([
        { address: 'one@example.com', passwordHash: '{PLAIN}a' },
        { address: 'two@missing.example', passwordHash: '{PLAIN}b' },
      ]),
      'not-found',
    );
    expect(await d.listUsers()).toEqual([]);
    const added = await d.importUsers([
      { address: 'one@example.com', passwordHash: '{PLAIN}a', quotaMb: 1024 },
      { address: 'two@example.com', passwordHash: '{PLAIN}b' },
    ]);
    expect(added.map((u) => u.quotaMb)).toEqual([1024, 2048]);
  });
});

describe('authenticate', () => {
  beforeEach(async () => {
    await d.addDomain('example.com');
    await d.addUser('a@example.com', 'pw');
  });

  it('checks the password, case-insensitive address', async () => {
    expect(await d.authenticate('A@EXAMPLE.COM', 'pw')).toMatchObject({ address: 'a@example.com' });
    expect(await d.authenticate('a@example.com', 'PW')).toBeNull();
  });

  it('is null for unknown users and garbage, after doing comparable work', async () => {
    const t0 = performance.now();
    expect(await d.authenticate('a@example.com', 'wrong')).toBeNull();
    const known = performance.now() - t0;
    const t1 = performance.now();
    expect(await d.authenticate('nobody@example.com', 'pw')).toBeNull();
    const unknown = performance.now() - t1;
    expect(await d.authenticate('../x', 'pw')).toBeNull();
    // The dummy hash's first use includes creating it, so only a lower bound is checked.
    expect(unknown).toBeGreaterThan(known * 0.3);
  });

  it('is null when the user or the domain is disabled', async () => {
    await d.setActive('a@example.com', false);
    expect(await d.authenticate('a@example.com', 'pw')).toBeNull();
    await d.setActive('a@example.com', true);
    await d.setDomainActive('example.com', false);
    expect(await d.authenticate('a@example.com', 'pw')).toBeNull();
  });
});

describe('aliases', () => {
  beforeEach(async () => {
    await d.addDomain('example.com');
  });

  it('adds one row per destination, lists grouped, removes one or all', async () => {
    await d.addAlias('Team@example.com', ['a@example.com', 'B@example.com']);
    const rec = await d.addAlias('team@example.com', ['c@other.example', 'a@example.com']);
    expect(rec.destinations).toEqual(['a@example.com', 'b@example.com', 'c@other.example']);
    await d.addAlias('@example.com', ['a@example.com']);
    expect(await d.listAliases('example.com')).toEqual([
      { source: '@example.com', destinations: ['a@example.com'] },
      { source: 'team@example.com', destinations: ['a@example.com', 'b@example.com', 'c@other.example'] },
    ]);
    await d.removeAlias('team@example.com', 'b@example.com');
    expect((await d.listAliases())[1]!.destinations).toEqual(['a@example.com', 'c@other.example']);
    await d.removeAlias('team@example.com');
    expect(await d.listAliases()).toHaveLength(1);
    await rejects(d.removeAlias('team@example.com'), 'not-found');
    await rejects(d.removeAlias('@example.com', 'zz@example.com'), 'not-found');
  });

  it('refuses bad sources and destinations and applies nothing', async () => {
    await rejects(d.addAlias('x@missing.example', ['a@example.com']), 'not-found');
    await rejects(d.addAlias('x@example.com', []), 'invalid');
    await rejects(d.addAlias('x@example.com', ['a@example.com', '../b@example.com']), 'invalid');
    await rejects(d.addAlias('x@example.com', ['x@example.com']), 'invalid', /itself/);
    await rejects(d.addAlias('@../etc', ['a@example.com']), 'invalid');
    expect(await d.listAliases()).toEqual([]);
    await d.addAlias('x@example.com', ['a@example.com']);
    await rejects(d.addAlias('x@example.com', ['A@example.com']), 'exists');
  });
});
