// Passwords come from a no-echo prompt on a terminal, or the first line of stdin
// with --password-stdin. Never from argv: that leaks into `ps` and shell history.
import { createInterface } from 'node:readline';
import { CliError } from './errors.js';

async function firstLineOfStdin(): Promise<string | undefined> {
  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity, terminal: false });
  try {
    for await (const line of rl) return line;
    return undefined;
  } finally {
    rl.close();
    process.stdin.pause();
  }
}

/** Reads one line from the terminal in raw mode, echoing nothing. */
function promptHidden(question: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    // Raw mode first: text typed right after the prompt appears must not be echoed.
    stdin.setRawMode(true);
    process.stderr.write(question);
    stdin.resume();
    stdin.setEncoding('utf8');
    let value = '';
    const done = (err?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u0003' || ch === '\u0004') return done(new CliError('cancelled'));
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else if (ch >= ' ') value += ch;
      }
    };
    stdin.on('data', onData);
  });
}

export async function readNewPassword(opts: { passwordStdin?: boolean }): Promise<string> {
  if (opts.passwordStdin) {
    const line = await firstLineOfStdin();
    if (line === undefined || line === '') throw new CliError('no password on stdin (--password-stdin reads the first line)');
    return line;
  }
  if (!process.stdin.isTTY) {
    throw new CliError('no terminal to ask for the password; pipe it in with --password-stdin');
  }
  const first = await promptHidden('New password: ');
  if (first === '') throw new CliError('password is empty');
  const second = await promptHidden('Repeat password: ');
  if (first !== second) throw new CliError('passwords do not match');
  return first;
}
