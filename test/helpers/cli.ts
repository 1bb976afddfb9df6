// Runs the `mailserver` command in-process (the same `run` bin/mailserver.js calls) and
// captures what it writes, so CLI tests need no child process or built dist/.
import { vi } from 'vitest';
import { run } from '../../src/cli.js';

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

export async function runCli(...args: string[]): Promise<CliResult> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((err += String(s)), true));
  try {
    process.exitCode = undefined;
    return { code: await run(['node', 'mailserver', ...args]), out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
    process.exitCode = undefined;
  }
}
