// Builds dist/ once before any suite runs: the CLI and daemon suites start the built
// program as a child process, the way users run it. Any type error fails the run.
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';

export default async function setup(): Promise<void> {
  // SKIP_BUILD=1: a developer running one suite that doesn't start dist/ (parallel work on
  // other modules may leave the tree mid-edit). CI never sets it.
  if (process.env.SKIP_BUILD === '1' && process.env.CI !== 'true') return;
  const root = resolve(import.meta.dirname, '..');
  const tsc = resolve(root, 'node_modules/typescript/bin/tsc');
  try {
    await promisify(execFile)(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root });
  } catch (err) {
    const out = (err as { stdout?: string }).stdout ?? String(err);
    throw new Error(`build failed:\n${out}`);
  }
}
