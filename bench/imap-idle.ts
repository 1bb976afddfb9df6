// bench/imap-idle: how soon an IDLE client hears `* n EXISTS` for an LMTP delivery (issue 3's
// target: within 200 ms). One client IDLEs on INBOX over loopback while N messages are
// delivered one at a time over LMTP to the daemon running as its own process; prints
// p50/p99/max from the start of the LMTP transaction to its 250 and to the EXISTS line.
//
//   npm run bench:idle -- [--messages 200]
import net from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteDirectory } from '../src/directory/sqlite.js';
import { japaneseMessage } from '../test/helpers/messages.js';
import { freePort } from '../test/helpers/ports.js';
import { BenchLmtpConnection, dotStuff } from './lmtp-client.js';
import { startDaemon } from './daemon.js';
import { flag, percentile } from './stats.js';

const USER = 'idle@bench.test';
const PASSWORD = 'bench-idle-password';

/** A minimal IMAP reader: resolves each untagged line as it arrives. */
class IdleClient {
  private buf = '';
  private waiters: Array<(line: string) => void> = [];
  private lines: string[] = [];
  private constructor(private readonly socket: net.Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      this.buf += d;
      let i: number;
      while ((i = this.buf.indexOf('\r\n')) >= 0) {
        const line = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 2);
        const w = this.waiters.shift();
        if (w) w(line);
        else this.lines.push(line);
      }
    });
  }
  static async open(port: number): Promise<IdleClient> {
    const socket = net.connect({ port, host: '127.0.0.1' });
    await new Promise<void>((r, j) => socket.once('connect', r).once('error', j));
    socket.setNoDelay(true);
    const c = new IdleClient(socket);
    await c.line(); // greeting
    return c;
  }
  line(): Promise<string> {
    const l = this.lines.shift();
    if (l !== undefined) return Promise.resolve(l);
    return new Promise((r) => this.waiters.push(r));
  }
  async command(tag: string, text: string): Promise<void> {
    this.socket.write(`${tag} ${text}\r\n`);
    for (;;) if ((await this.line()).startsWith(`${tag} `)) return;
  }
  send(text: string): void {
    this.socket.write(`${text}\r\n`);
  }
  close(): void {
    this.socket.destroy();
  }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const n = Number(flag(argv, '--messages') ?? 200);
  const root = await mkdtemp(join(tmpdir(), 'bench-idle-'));
  const dataDir = join(root, 'data');
  const directory = await openSqliteDirectory({ path: join(dataDir, 'directory.sqlite') });
  await directory.addDomain('bench.test');
  await directory.addUser(USER, PASSWORD, { quotaMb: 0 });
  await directory.close();
  const [lmtpPort, imapPort] = [await freePort(), await freePort()];
  const cfg = join(root, 'bench.yaml');
  await writeFile(
    cfg,
    [
      `dataDir: ${dataDir}`,
      'hostname: bench.local',
      'log: {level: warn}',
      `lmtp: {port: ${lmtpPort}}`,
      `imap: {starttls: {port: ${imapPort}}, tls: {enabled: false}}`,
      'pop3: {starttls: {enabled: false}, tls: {enabled: false}}',
      'submission: {starttls: {enabled: false}, tls: {enabled: false}}',
      'http: {enabled: false}',
      '',
    ].join('\n'),
  );
  const daemon = await startDaemon(cfg, imapPort);
  try {
    const imap = await IdleClient.open(imapPort);
    await imap.command('a', `LOGIN ${USER} ${PASSWORD}`);
    await imap.command('b', 'SELECT INBOX');
    imap.send('c IDLE');
    if (!(await imap.line()).startsWith('+')) throw new Error('IDLE refused');
    const lmtp = await BenchLmtpConnection.open({ host: '127.0.0.1', port: lmtpPort });
    const body = dotStuff(japaneseMessage({ subject: 'IDLE bench' }));
    const push: number[] = [];
    const ack: number[] = [];
    for (let i = 1; i <= n; i++) {
      const exists = (async () => {
        for (;;) {
          const l = await imap.line();
          if (l === `* ${i} EXISTS`) return performance.now();
        }
      })();
      const start = performance.now();
      await lmtp.send('sender@example.org', [USER], body);
      ack.push(performance.now() - start);
      push.push((await exists) - start);
    }
    await lmtp.close();
    imap.send('DONE');
    imap.close();
    const fmt = (xs: number[]) => {
      const s = [...xs].sort((a, b) => a - b);
      return `p50 ${percentile(s, 0.5).toFixed(1)} ms, p99 ${percentile(s, 0.99).toFixed(1)} ms, max ${s[s.length - 1]!.toFixed(1)} ms`;
    };
    console.log(`messages: ${n}`);
    console.log(`LMTP transaction → 250: ${fmt(ack)}`);
    console.log(`LMTP transaction → IDLE EXISTS: ${fmt(push)} (target: within 200 ms)`);
  } finally {
    await daemon.stop();
    await rm(root, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
