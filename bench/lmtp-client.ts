// A minimal pipelining LMTP client for the benchmark: one connection, one message per
// transaction, latency measured from MAIL FROM to the last per-recipient reply.
import net from 'node:net';

export class BenchLmtpConnection {
  private buf = '';
  private pending: Array<(line: string) => void> = [];
  private lines: string[] = [];

  private constructor(private readonly sock: net.Socket) {
    sock.setNoDelay(true);
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => {
      this.buf += d;
      let i;
      while ((i = this.buf.indexOf('\r\n')) >= 0) {
        const line = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 2);
        // Continuation lines of multi-line replies (LHLO) are skipped: only final lines count.
        if (/^\d{3}-/.test(line)) continue;
        const w = this.pending.shift();
        if (w) w(line);
        else this.lines.push(line);
      }
    });
  }

  static async open(target: { host: string; port: number } | { path: string }): Promise<BenchLmtpConnection> {
    const sock = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect(target as net.NetConnectOpts, () => resolve(s));
      s.once('error', reject);
    });
    const c = new BenchLmtpConnection(sock);
    await c.expect('220');
    c.sock.write('LHLO bench.test\r\n');
    await c.expect('250');
    return c;
  }

  private next(): Promise<string> {
    const l = this.lines.shift();
    if (l !== undefined) return Promise.resolve(l);
    return new Promise((resolve) => this.pending.push(resolve));
  }

  private async expect(code: string): Promise<string> {
    const l = await this.next();
    if (!l.startsWith(code)) throw new Error(`expected ${code}, got ${l}`);
    return l;
  }

  /** Sends one message; resolves with its latency in ms once every recipient answered 250. */
  async send(from: string, rcpts: string[], dotStuffed: Buffer): Promise<number> {
    const t0 = performance.now();
    this.sock.write(`MAIL FROM:<${from}>\r\n` + rcpts.map((r) => `RCPT TO:<${r}>\r\n`).join('') + 'DATA\r\n');
    await this.expect('250');
    for (let i = 0; i < rcpts.length; i++) await this.expect('250');
    await this.expect('354');
    this.sock.write(dotStuffed);
    this.sock.write('.\r\n');
    for (let i = 0; i < rcpts.length; i++) await this.expect('250');
    return performance.now() - t0;
  }

  async close(): Promise<void> {
    this.sock.write('QUIT\r\n');
    await this.next().catch(() => undefined);
    this.sock.destroy();
  }
}

/** RFC 5321 4.5.2 transparency, and CRLF line ends. */
export function dotStuff(msg: Buffer): Buffer {
  const text = msg.toString('latin1').replace(/\r?\n/g, '\r\n').replace(/^\./gm, '..');
  return Buffer.from(text.endsWith('\r\n') ? text : text + '\r\n', 'latin1');
}
