// Runs the real `mailserver` bin (built once) as a child process against a fresh data dir.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { access, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteDirectory } from '../../src/directory/sqlite.js';

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin/mailserver.js');
beforeAll(async () => {
  // test/global-setup.ts built dist/ before any suite started.
  await access(join(ROOT, 'dist/src/cli.js'));
});

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

let dir: string;
let configPath: string;

function cli(args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv; noConfigFlag?: boolean } = {}): Promise<Result> {
  return new Promise((resolvePromise, reject) => {
    const argv = opts.noConfigFlag ? args : ['--config', configPath, ...args];
    const child = spawn(process.execPath, [BIN, ...argv], {
      cwd: dir,
      env: { ...process.env, MAILSERVER_CONFIG: '', ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}

/** A failure: the exit status and exactly one `mailserver: ...` line on stderr. */
function expectFailure(r: Result, code: 1 | 2, text?: RegExp) {
  expect(r.code, r.stderr).toBe(code);
  const lines = r.stderr.split('\n').filter(Boolean);
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^mailserver: /);
  if (text) expect(lines[0]).toMatch(text);
}

async function ok(args: string[], input?: string): Promise<string> {
  const r = await cli(args, input === undefined ? {} : { input });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return r.stdout;
}

async function withDirectory<T>(fn: (d: Awaited<ReturnType<typeof openSqliteDirectory>>) => Promise<T>): Promise<T> {
  const d = await openSqliteDirectory({ path: join(dir, 'data/directory.sqlite') });
  try {
    return await fn(d);
  } finally {
    await d.close();
  }
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cli-test-'));
  configPath = join(dir, 'mailserver.yaml');
  // Relative paths in the file are relative to the file, so the data stays in `dir`.
  await writeFile(configPath, 'dataDir: ./data\nhostname: mx.test.example\ndirectory:\n  passwordScheme: BLF-CRYPT\n');
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('domain', () => {
  it('add, list, disable, enable, remove', async () => {
    expect(await ok(['domain', 'add', 'Example.COM'])).toBe('added domain example.com\n');
    await ok(['domain', 'add', 'bücher.example']);
    expect(await ok(['domain', 'list'])).toBe('example.com            active\nxn--bcher-kva.example  active\n');
    await ok(['domain', 'disable', 'example.com']);
    expect(await ok(['domain', 'list'])).toContain('example.com            disabled');
    await ok(['domain', 'enable', 'example.com']);
    await ok(['domain', 'remove', 'example.com']);
    expect(await ok(['domain', 'list'])).toBe('xn--bcher-kva.example  active\n');
  });

  it('bad inputs: duplicate, hostile name, missing, still in use', async () => {
    await ok(['domain', 'add', 'example.com']);
    expectFailure(await cli(['domain', 'add', 'example.com']), 1, /already exists/);
    expectFailure(await cli(['domain', 'add', '../etc']), 1, /invalid domain name "\.\.\/etc"/);
    expectFailure(await cli(['domain', 'remove', 'missing.example']), 1, /does not exist/);
    await ok(['alias', 'add', '@example.com', 'x@elsewhere.example']);
    expectFailure(await cli(['domain', 'remove', 'example.com']), 1, /still has/);
  });
});

describe('user', () => {
  beforeEach(async () => {
    await ok(['domain', 'add', 'example.com']);
  });

  it('add creates the user and its Maildir; list, quota, passwd, disable, enable, remove', async () => {
    expect(await ok(['user', 'add', 'Alice@example.com', '--password-stdin'], 'first pw\nignored second line\n')).toBe(
      'added user alice@example.com (quota 2048 MB)\n',
    );
    const home = join(dir, 'data/mail/example.com/alice');
    for (const sub of ['cur', 'new', 'tmp', '.Sent', '.Drafts', '.Trash', '.Junk']) expect((await stat(join(home, sub))).isDirectory()).toBe(true);

    await ok(['user', 'add', 'bob@example.com', '--quota', '0', '--password-stdin'], 'pw');
    expect(await ok(['user', 'list'])).toBe('alice@example.com  2048 MB    active\nbob@example.com    unlimited  active\n');
    expect(await ok(['user', 'list', 'example.com'])).toContain('bob@example.com');

    await ok(['user', 'quota', 'alice@example.com', '100']);
    await ok(['user', 'passwd', 'alice@example.com', '--password-stdin'], 'second pw\n');
    await withDirectory(async (d) => {
      expect((await d.getUser('alice@example.com'))!.quotaMb).toBe(100);
      expect(await d.authenticate('alice@example.com', 'first pw')).toBeNull();
      expect(await d.authenticate('alice@example.com', 'second pw')).not.toBeNull();
    });

    await ok(['user', 'disable', 'alice@example.com']);
    expect(await ok(['user', 'list'])).toContain('alice@example.com  100 MB     disabled');
    await ok(['user', 'enable', 'alice@example.com']);
    expect(await ok(['user', 'remove', 'alice@example.com'])).toMatch(/mail stays on disk/);
    expect(await ok(['user', 'list'])).not.toContain('alice');
    // The mail itself is not deleted by a directory change.
    expect((await stat(home)).isDirectory()).toBe(true);
  });

  it('bad inputs change nothing', async () => {
    await ok(['user', 'add', 'a@example.com', '--password-stdin'], 'pw\n');
    expectFailure(await cli(['user', 'add', 'a@example.com', '--password-stdin'], { input: 'pw\n' }), 1, /already exists/);
    expectFailure(await cli(['user', 'add', 'x@missing.example', '--password-stdin'], { input: 'pw\n' }), 1, /domain missing\.example does not exist/);
    for (const bad of ['../x@example.com', 'a/b@example.com', 'no-at-sign', '.x@example.com']) {
      expectFailure(await cli(['user', 'add', bad, '--password-stdin'], { input: 'pw\n' }), 1, /invalid address/);
    }
    expectFailure(await cli(['user', 'add', 'b@example.com', '--password-stdin'], { input: '' }), 1, /no password on stdin/);
    expectFailure(await cli(['user', 'add', 'b@example.com', '--password-stdin'], { input: '\nsecond\n' }), 1, /no password on stdin/);
    expectFailure(await cli(['user', 'add', 'b@example.com']), 1, /--password-stdin/);
    expectFailure(await cli(['user', 'add', 'b@example.com', '--quota', 'lots', '--password-stdin'], { input: 'pw\n' }), 1, /invalid quota/);
    // A password as an argument is refused as a usage error.
    expectFailure(await cli(['user', 'add', 'b@example.com', 'secret']), 2);
    expectFailure(await cli(['user', 'passwd', 'nobody@example.com', '--password-stdin'], { input: 'pw\n' }), 1, /does not exist/);
    expectFailure(await cli(['user', 'quota', 'a@example.com', '-5']), 1, /invalid quota/);
    expectFailure(await cli(['user', 'quota', 'a@example.com', '5x']), 1, /invalid quota/);
    expectFailure(await cli(['user', 'remove', 'nobody@example.com']), 1, /does not exist/);
    expectFailure(await cli(['user', 'enable', 'nobody@example.com']), 1, /does not exist/);
    expect(await ok(['user', 'list'])).toBe('a@example.com  2048 MB  active\n');
    expect(await readdir(join(dir, 'data/mail/example.com'))).toEqual(['a']);
  });
});

describe('user import-passwd', () => {
  beforeEach(async () => {
    await ok(['domain', 'add', 'example.com']);
  });

  it('imports hashes as they are, with quotas, and creates the Maildirs', async () => {
    const file = join(dir, 'users.passwd');
    await writeFile(
      file,
      [
        '# exported from Dovecot',
        'alice@example.com:{SHA512-CRYPT}$6$wdhlYayKfFx746AL$Wac9zVa3LKrUOlFTS9aSeZnK4rGDqParP6lnUCHbVDEtd9aa5VmERGJscI1zXVezNqXkaDqTkOrZ9MURM9dy0/:5000:5000::/var/vmail/example.com/alice::userdb_quota_rule=*:storage=1G',
        'bob@example.com:{PLAIN}bobpw::::::',
      ].join('\n'),
    );
    expect(await ok(['user', 'import-passwd', file])).toBe('imported 2 user(s)\n');
    expect(await ok(['user', 'list'])).toBe('alice@example.com  1024 MB  active\nbob@example.com    2048 MB  active\n');
    await withDirectory(async (d) => {
      expect(await d.authenticate('alice@example.com', 'Correct horse 9!')).not.toBeNull();
      expect(await d.authenticate('bob@example.com', 'bobpw')).not.toBeNull();
    });
    expect((await readdir(join(dir, 'data/mail/example.com'))).sort()).toEqual(['alice', 'bob']);
  });

  it('a file with any bad line imports nothing and names every bad line', async () => {
    await ok(['user', 'add', 'taken@example.com', '--password-stdin'], 'pw\n');
    const file = join(dir, 'users.passwd');
    await writeFile(
      file,
      ['good@example.com:{PLAIN}a', 'x@missing.example:{PLAIN}b', 'taken@example.com:{PLAIN}c', 'weird@example.com:{MD5}d', '../e@example.com:{PLAIN}e'].join('\n'),
    );
    const r = await cli(['user', 'import-passwd', file]);
    expectFailure(r, 1, /nothing imported/);
    expect(r.stderr).toMatch(/line 2: domain missing\.example does not exist/);
    expect(r.stderr).toMatch(/line 3: user taken@example\.com already exists/);
    expect(r.stderr).toMatch(/line 4: .*scheme/);
    expect(r.stderr).toMatch(/line 5: invalid address/);
    expect(await ok(['user', 'list'])).toBe('taken@example.com  2048 MB  active\n');
    expectFailure(await cli(['user', 'import-passwd', join(dir, 'nope')]), 1, /cannot read/);
  });
});

describe('alias', () => {
  beforeEach(async () => {
    await ok(['domain', 'add', 'example.com']);
  });

  it('add, list, remove one destination, remove all', async () => {
    await ok(['alias', 'add', 'team@example.com', 'a@example.com', 'b@example.com']);
    await ok(['alias', 'add', '@example.com', 'a@example.com']);
    await ok(['alias', 'add', 'team@example.com', 'c@elsewhere.example']);
    expect(await ok(['alias', 'list'])).toBe('@example.com      a@example.com\nteam@example.com  a@example.com, b@example.com, c@elsewhere.example\n');
    expect(await ok(['alias', 'list', 'example.com'])).toContain('team@example.com');
    await ok(['alias', 'remove', 'team@example.com', 'b@example.com']);
    expect(await ok(['alias', 'list'])).toContain('team@example.com  a@example.com, c@elsewhere.example');
    await ok(['alias', 'remove', 'team@example.com']);
    expect(await ok(['alias', 'list'])).toBe('@example.com  a@example.com\n');
  });

  it('bad inputs change nothing', async () => {
    expectFailure(await cli(['alias', 'add', 'x@missing.example', 'a@example.com']), 1, /does not exist/);
    expectFailure(await cli(['alias', 'add', 'x@example.com', 'a@example.com', '../b@example.com']), 1, /invalid address/);
    expectFailure(await cli(['alias', 'add', 'x@example.com']), 2, /missing required argument/);
    expectFailure(await cli(['alias', 'remove', 'x@example.com']), 1, /does not exist/);
    expect(await ok(['alias', 'list'])).toBe('');
  });
});

describe('command line and config', () => {
  it('usage errors are one line and exit 2', async () => {
    expectFailure(await cli(['bogus']), 2, /unknown command 'bogus'/);
    expectFailure(await cli(['domain']), 2, /missing subcommand/);
    expectFailure(await cli(['user', 'frobnicate']), 2, /unknown subcommand 'frobnicate'/);
    expectFailure(await cli(['domain', 'add']), 2, /missing required argument/);
    expectFailure(await cli(['user', 'add', 'a@example.com', '--password']), 2, /unknown option/);
  });

  it('--help exits 0', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: mailserver');
  });

  it('reads the config path from MAILSERVER_CONFIG', async () => {
    const r = await cli(['domain', 'add', 'env.example'], { noConfigFlag: true, env: { MAILSERVER_CONFIG: configPath } });
    expect(r.code, r.stderr).toBe(0);
    expect(await ok(['domain', 'list'])).toBe('env.example  active\n');
  });

  it('a broken config is one line and exit 1', async () => {
    await writeFile(configPath, 'directory:\n  passwordScheme: MD5\n');
    expectFailure(await cli(['domain', 'list']), 1, /passwordScheme/);
    expectFailure(await cli(['--config', join(dir, 'missing.yaml'), 'domain', 'list'], { noConfigFlag: true }), 1, /cannot read/);
  });

  it('check-config is wired', async () => {
    const r = await cli(['check-config']);
    expect(r.code, r.stderr).toBe(0);
  });
});

// The prompt needs a real terminal; Python's pty module provides one.
const PTY_DRIVER = `
import os, pty, select, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:-2])
out = b''
def until_prompt():
    global out
    end = time.time() + 20
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try: out += os.read(fd, 1000)
            except OSError: return
            if out.endswith(b'password: '): return
for answer in sys.argv[-2:]:
    until_prompt(); out = out + b'|'; os.write(fd, answer.encode() + b'\\r')
end = time.time() + 20
while time.time() < end:
    try: chunk = os.read(fd, 1000)
    except OSError: break
    if not chunk: break
    out += chunk
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode())
sys.exit(os.waitstatus_to_exitcode(status))
`;

describe('interactive password prompt', () => {
  const python = (() => {
    try {
      return Boolean(execFileSync('python3', ['-c', 'import pty']));
    } catch {
      return false;
    }
  })();

  it.skipIf(!python)('asks twice without echo and refuses a mismatch', async () => {
    await ok(['domain', 'add', 'example.com']);
    const drive = (args: string[], a: string, b: string) =>
      promisify(execFile)('python3', ['-c', PTY_DRIVER, process.execPath, BIN, '--config', configPath, ...args, a, b], { cwd: dir }).catch(
        (e: { stdout: string; code: number }) => e,
      );
    const added = await drive(['user', 'add', 'tty@example.com'], 'tty secret', 'tty secret');
    expect(added.stdout).toContain('added user tty@example.com');
    expect(added.stdout).not.toContain('tty secret');
    const mismatch = (await drive(['user', 'passwd', 'tty@example.com'], 'one', 'two')) as { stdout: string; code?: number };
    expect(mismatch.stdout).toContain('mailserver: passwords do not match');
    expect(mismatch.code).toBe(1);
    await withDirectory(async (d) => {
      expect(await d.authenticate('tty@example.com', 'tty secret')).not.toBeNull();
    });
  });
});
