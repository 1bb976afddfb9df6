#!/usr/bin/env node
// Regenerates docs/configuration.md from src/config/schema.ts. The renderer is TypeScript
// and Node 20 cannot run it directly, so this runs the docs test (vitest compiles it)
// in its write mode.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const r = spawnSync('npx', ['vitest', 'run', 'test/config/docs.test.ts'], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, CONFIG_DOC_WRITE: '1' },
});
process.exit(r.status ?? 1);
