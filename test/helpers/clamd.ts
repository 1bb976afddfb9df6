// Debian's real clamd for the scanning tests: started in the foreground on a free loopback
// TCP port with a temporary config and a one-line signature database (EICAR as an .ndb
// body signature, so it matches inside a mail body and inside a zip), ready in ~0.2 s.
// clamd reports signatures from unsigned databases as "<name>.UNOFFICIAL".
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForPort } from './ports.js';

export const CLAMD = '/usr/sbin/clamd';

/** The EICAR test file (68 bytes): every scanner reports it, it harms nothing. */
export const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';
export const EICAR_SIGNATURE = 'Eicar-Signature';

export interface Clamd {
  port: number;
  dir: string;
  /** Stops clamd (SIGTERM, then waits for the exit). */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same database. */
  restart(): Promise<void>;
  /** Stops and removes the temporary directory. */
  close(): Promise<void>;
}

export async function startClamd(opts: { streamMaxLength?: string } = {}): Promise<Clamd> {
  const dir = await mkdtemp(join(tmpdir(), 'clamd-test-'));
  const port = await freePort();
  const db = join(dir, 'db');
  await mkdir(db);
  await writeFile(join(db, 'test.ndb'), `${EICAR_SIGNATURE}:0:*:${Buffer.from(EICAR, 'latin1').toString('hex')}\n`);
  await writeFile(
    join(dir, 'clamd.conf'),
    [
      'Foreground yes',
      `TCPSocket ${port}`,
      'TCPAddr 127.0.0.1',
      `DatabaseDirectory ${db}`,
      `StreamMaxLength ${opts.streamMaxLength ?? '1M'}`,
      `LogFile ${join(dir, 'clamd.log')}`,
      `PidFile ${join(dir, 'clamd.pid')}`,
      'MaxThreads 4',
      '',
    ].join('\n'),
  );
  let child: ChildProcess | null = null;
  let stderr = '';
  const start = async (): Promise<void> => {
    stderr = '';
    const c = spawn(CLAMD, ['-c', join(dir, 'clamd.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
    c.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child = c;
    try {
      await waitForPort(port, c, { timeoutMs: 30_000, intervalMs: 50 });
    } catch (err) {
      throw new Error(`clamd did not start: ${(err as Error).message}\n${stderr}`);
    }
  };
  const stop = async (): Promise<void> => {
    const c = child;
    child = null;
    if (!c || c.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGTERM');
    });
  };
  await start();
  return {
    port,
    dir,
    stop,
    restart: start,
    async close() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
