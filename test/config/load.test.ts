import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'cfg-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, text: string): Promise<string> {
  const p = path.join(dir, name);
  await mkdir(path.dirname(p), { recursive: true });
  await writeFile(p, text);
  return p;
}

async function failure(p: Promise<unknown>): Promise<ConfigError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConfigError);
  return err as ConfigError;
}

describe('defaults', () => {
  test('no file: data under ./data, loopback listeners on port + 10000', async () => {
    const cfg = await loadConfig({ env: {}, cwd: dir });
    expect(cfg.dataDir).toBe(path.join(dir, 'data'));
    expect(cfg.mailRoot).toBe(path.join(dir, 'data', 'mail'));
    expect(cfg.directory).toEqual({ driver: 'sqlite', path: path.join(dir, 'data', 'directory.sqlite'), passwordScheme: 'ARGON2ID', defaultQuotaMb: 2048 });
    expect(cfg.hostname).toBe(os.hostname());
    expect(cfg.lmtp).toEqual({ enabled: true, bind: ['127.0.0.1'], port: 10024, allow: ['127.0.0.0/8', '::1/128'], maxConnections: 200, idleTimeoutSeconds: 300 });
    expect(cfg.log.level).toBe('info');
    expect(cfg.tls).toEqual({ minVersion: 'TLSv1.2', pollSeconds: 45 });
    expect(cfg.delivery.maxMessageBytes).toBe(25 * 1024 * 1024);
  });

  test('an empty file and a partial section keep the defaults of the other keys', async () => {
    expect((await loadConfig({ path: await file('empty.yaml', '# nothing\n'), env: {} })).lmtp.port).toBe(10024);
    const cfg = await loadConfig({ path: await file('p.yaml', 'lmtp:\n  port: 2424\n'), env: {} });
    expect(cfg.lmtp).toMatchObject({ port: 2424, bind: ['127.0.0.1'], enabled: true });
    expect(cfg.delivery.recipientDelimiter).toBe('+');
  });

  test('MAILSERVER_CONFIG names the file; opts.path wins over it', async () => {
    const a = await file('a.yaml', 'hostname: a.example\n');
    const b = await file('b.yaml', 'hostname: b.example\n');
    expect((await loadConfig({ env: { MAILSERVER_CONFIG: a } })).hostname).toBe('a.example');
    expect((await loadConfig({ path: b, env: { MAILSERVER_CONFIG: a } })).hostname).toBe('b.example');
  });
});

describe('errors', () => {
  test('wrong type names file, field, value and expectation', async () => {
    const p = await file('x.yaml', 'lmtp:\n  port: abc\n');
    const err = await failure(loadConfig({ path: p, env: {} }));
    expect(err.message).toBe(`config ${p}: lmtp.port: expected integer 0-65535, got "abc" (line 2)`);
  });

  test('out of range, enum and list element', async () => {
    const p = await file('x.yaml', 'lmtp:\n  port: 70000\n  bind: [127.0.0.1, nowhere]\nlog: {level: loud}\n');
    const err = await failure(loadConfig({ path: p, env: {} }));
    expect(err.problems).toHaveLength(3);
    expect(err.message).toContain('lmtp.port: expected integer 0-65535, got 70000');
    expect(err.message).toContain('lmtp.bind.1: expected an IP address like 127.0.0.1 or ::1, got "nowhere"');
    expect(err.message).toContain('log.level: expected one of fatal, error, warn, info, debug, trace, silent, got "loud"');
  });

  test('unknown key suggests the nearest one', async () => {
    const p = await file('x.yaml', 'lmtp:\n  prot: 24\n');
    const err = await failure(loadConfig({ path: p, env: {} }));
    expect(err.message).toBe(`config ${p}: unknown key lmtp.prot (did you mean port?) (line 2)`);
    const top = await failure(loadConfig({ path: await file('y.yaml', 'datadir: /x\nfrobnicate: 1\n'), env: {} }));
    expect(top.problems[0]).toContain('unknown key datadir (did you mean dataDir?)');
    expect(top.problems[1]).toMatch(/unknown key frobnicate \(line 2\)$/);
  });

  test('YAML syntax error names line and column', async () => {
    const p = await file('x.yaml', 'lmtp:\n  port: 24\n  bind: [127.0.0.1\n');
    const err = await failure(loadConfig({ path: p, env: {} }));
    expect(err.message).toMatch(new RegExp(`^config ${p}: line \\d+, column \\d+: `));
  });

  test('duplicate keys are rejected', async () => {
    const p = await file('x.yaml', 'lmtp:\n  port: 24\n  port: 25\n');
    const err = await failure(loadConfig({ path: p, env: {} }));
    expect(err.message).toBe(`config ${p}: line 3, column 3: Map keys must be unique`);
  });

  test('a missing file or a non-mapping document', async () => {
    const missing = path.join(dir, 'nope.yaml');
    expect((await failure(loadConfig({ path: missing, env: {} }))).message).toBe(`config ${missing}: cannot read file (ENOENT)`);
    const list = await file('list.yaml', '- a\n- b\n');
    expect((await failure(loadConfig({ path: list, env: {} }))).message).toContain('expected a mapping');
  });

  test('certFile without keyFile', async () => {
    const p = await file('x.yaml', 'tls:\n  certFile: /etc/ssl/mail.pem\n');
    expect((await failure(loadConfig({ path: p, env: {} }))).message).toContain('tls.certFile and tls.keyFile must be set together');
  });
});

describe('environment overrides', () => {
  test('number, list and nested keys, case-insensitive, over the file', async () => {
    const p = await file('x.yaml', 'lmtp:\n  port: 24\n  bind: [127.0.0.1]\n');
    const cfg = await loadConfig({
      path: p,
      env: {
        MAILSERVER__LMTP__PORT: '2424',
        MAILSERVER__LMTP__BIND: '[127.0.0.1, "::1"]',
        MAILSERVER__lmtp__Allow: '[100.64.0.0/10, ::1/128]',
        MAILSERVER__TLS__KEY_FILE: '/k.pem',
        MAILSERVER__TLS__CERTFILE: '/c.pem',
        MAILSERVER__LMTP__ENABLED: 'false',
        MAILSERVER__HOSTNAME: '12345', // string keys stay verbatim
      },
    });
    expect(cfg.lmtp).toMatchObject({ port: 2424, bind: ['127.0.0.1', '::1'], allow: ['100.64.0.0/10', '::1/128'], enabled: false });
    expect(cfg.tls).toMatchObject({ certFile: '/c.pem', keyFile: '/k.pem' });
    expect(cfg.hostname).toBe('12345');
  });

  test('a single value for a list becomes a one-item list; a whole section as flow mapping', async () => {
    const cfg = await loadConfig({ env: { MAILSERVER__LMTP__BIND: '100.101.102.103', MAILSERVER__DELIVERY: '{maxRecipients: 5}' }, cwd: dir });
    expect(cfg.lmtp.bind).toEqual(['100.101.102.103']);
    expect(cfg.delivery).toMatchObject({ maxRecipients: 5, recipientDelimiter: '+' });
  });

  test('errors name the variable', async () => {
    const bad = await failure(loadConfig({ env: { MAILSERVER__LMTP__PORT: 'abc' }, cwd: dir }));
    expect(bad.message).toBe('environment MAILSERVER__LMTP__PORT: lmtp.port: expected integer 0-65535, got "abc"');
    const unknown = await failure(loadConfig({ env: { MAILSERVER__LMTP__PROT: '1' }, cwd: dir }));
    expect(unknown.message).toBe('environment MAILSERVER__LMTP__PROT: unknown key lmtp.prot (did you mean port?)');
    const deep = await failure(loadConfig({ env: { MAILSERVER__LMTP__PORT__X: '1' }, cwd: dir }));
    expect(deep.message).toContain('lmtp.port has no sub-keys');
  });
});

describe('paths', () => {
  test('relative paths resolve against the config file directory', async () => {
    const p = await file('etc/mailserver.yaml', 'dataDir: ../var\ntls:\n  certFile: certs/mail.crt\n  keyFile: /abs/mail.key\ndirectory:\n  path: db/dir.sqlite\n');
    const cfg = await loadConfig({ path: p, env: {}, cwd: '/somewhere/else' });
    expect(cfg.dataDir).toBe(path.join(dir, 'var'));
    expect(cfg.mailRoot).toBe(path.join(dir, 'var', 'mail'));
    expect(cfg.tls.certFile).toBe(path.join(dir, 'etc', 'certs', 'mail.crt'));
    expect(cfg.tls.keyFile).toBe('/abs/mail.key');
    expect(cfg.directory.path).toBe(path.join(dir, 'etc', 'db', 'dir.sqlite'));
  });

  test('a relative --config path resolves against cwd', async () => {
    await file('conf/m.yaml', 'dataDir: d\n');
    const cfg = await loadConfig({ path: 'conf/m.yaml', env: {}, cwd: dir });
    expect(cfg.dataDir).toBe(path.join(dir, 'conf', 'd'));
  });
});

// Loading config/example.yaml is checked in docs.test.ts (with its secret files stood in).
