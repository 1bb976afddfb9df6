// No secret key exists in the schema yet (relay passwords, API keys come later); these
// tests use a small schema built the same way.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { z } from 'zod';
import { applyEnvOverrides, resolveSecretFiles } from '../../src/config/env.js';
import { ConfigError, describeIssue } from '../../src/config/errors.js';
import { secretString } from '../../src/config/schema.js';

const schema = z.strictObject({
  relay: z.strictObject({ user: z.string().default('apikey'), password: secretString().optional() }).prefault({}),
});

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'cfg-secret-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('secrets', () => {
  test('passwordFile is read relative to the base directory, trailing newline dropped', async () => {
    await writeFile(path.join(dir, 'sg.key'), 'SG.xyz\n');
    const raw: Record<string, unknown> = { relay: { passwordFile: 'sg.key' } };
    await resolveSecretFiles(schema, raw, dir);
    expect(schema.parse(raw).relay.password).toBe('SG.xyz');
  });

  test('from the environment, directly or through a file', async () => {
    const direct: Record<string, unknown> = { relay: { passwordFile: '/nope' } };
    const origins = applyEnvOverrides(schema, direct, { MAILSERVER__RELAY__PASSWORD: 'p@ss: #not yaml' });
    expect(direct).toEqual({ relay: { password: 'p@ss: #not yaml' } }); // env wins, file key dropped
    expect(origins.get('relay.password')).toBe('MAILSERVER__RELAY__PASSWORD');

    await writeFile(path.join(dir, 'pw'), 'from-file');
    const viaFile: Record<string, unknown> = { relay: { password: 'in-yaml' } };
    applyEnvOverrides(schema, viaFile, { MAILSERVER__RELAY__PASSWORD_FILE: path.join(dir, 'pw') });
    await resolveSecretFiles(schema, viaFile, dir);
    expect(viaFile).toEqual({ relay: { password: 'from-file' } });
  });

  test('both forms in the file is an error; an unreadable file names the path, not contents', async () => {
    const both = { relay: { password: 'a', passwordFile: 'b' } };
    await expect(resolveSecretFiles(schema, both, dir)).rejects.toThrow('relay.password and relay.passwordFile are both set');
    const missing = { relay: { passwordFile: 'missing' } };
    await expect(resolveSecretFiles(schema, missing, dir)).rejects.toThrow(`relay.passwordFile: cannot read ${path.join(dir, 'missing')} (ENOENT)`);
  });

  test('a bad secret value is not echoed in the error', () => {
    const raw = { relay: { password: 12345678 } };
    const r = schema.safeParse(raw);
    expect(r.success).toBe(false);
    const text = r.error!.issues.flatMap((i) => describeIssue(schema, i, () => raw.relay.password)).map((p) => p.text).join();
    expect(text).toBe('relay.password: expected non-empty string, got a number (hidden)');
    expect(text).not.toContain('12345678');
  });

  test('ConfigError keeps every problem', () => {
    const e = new ConfigError(['a', 'b']);
    expect(e.problems).toEqual(['a', 'b']);
    expect(e.message).toBe('a; b');
  });
});
