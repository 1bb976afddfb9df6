import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { checkConfig } from '../../src/cli/check-config.js';
import { newPair } from '../tls/helpers.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'check-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(opts: { path?: string; env?: NodeJS.ProcessEnv }) {
  let out = '';
  let err = '';
  const code = await checkConfig({ env: {}, cwd: dir, ...opts, stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } });
  return { code, out, err };
}

describe('check-config', () => {
  test('built-in defaults', async () => {
    const r = await run({});
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^config OK: built-in defaults\n/);
    expect(r.out).toContain('  lmtp: 127.0.0.1:10024 (allow 127.0.0.0/8, ::1/128)');
    expect(r.out).toContain('self-signed');
    expect(r.err).toBe('');
  });

  test('a file with real certificate files', async () => {
    const pair = await newPair('mail.example.test');
    await writeFile(path.join(dir, 'c.pem'), pair.cert);
    await writeFile(path.join(dir, 'k.pem'), pair.key);
    const p = path.join(dir, 'm.yaml');
    await writeFile(p, 'tls: {certFile: c.pem, keyFile: k.pem}\nlmtp: {bind: [127.0.0.1, "::1"], port: 24}\n');
    const r = await run({ path: p });
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain(`config OK: ${p}`);
    expect(r.out).toContain('lmtp: 127.0.0.1:24, [::1]:24');
    expect(r.out).toContain('CN=mail.example.test');
  });

  test('one-line error on stderr for a bad file, a missing or mismatched key', async () => {
    const p = path.join(dir, 'm.yaml');
    await writeFile(p, 'lmtp: {port: abc}\n');
    let r = await run({ path: p });
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toBe(`mailserver: config ${p}: lmtp.port: expected integer 0-65535, got "abc" (line 1)\n`);

    await writeFile(p, 'tls: {certFile: c.pem, keyFile: k.pem}\n');
    r = await run({ path: p });
    expect(r.code).toBe(1);
    expect(r.err).toContain(`cannot read TLS certificate ${path.join(dir, 'c.pem')} (ENOENT)`);

    const [a, b] = [await newPair('a.test'), await newPair('b.test')];
    await writeFile(path.join(dir, 'c.pem'), a.cert);
    await writeFile(path.join(dir, 'k.pem'), b.key);
    r = await run({ path: p });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^mailserver: TLS key .*k\.pem does not match certificate .*c\.pem\n$/);
    expect(r.err).not.toContain('BEGIN');
  });
});
