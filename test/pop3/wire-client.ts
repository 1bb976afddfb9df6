// A raw POP3 client for exact wire checks: lines as bytes, multi-line replies un-stuffed,
// STLS upgrade and implicit TLS (the daemon's self-signed certificate is not verified).
import net from 'node:net';
import tls from 'node:tls';

export class Pop3Wire {
  private buf: Buffer = Buffer.alloc(0);
  private waiter: (() => void) | null = null;
  closed = false;

  private constructor(private socket: net.Socket) {
    this.listen(socket);
  }

  private listen(s: net.Socket): void {
    s.on('data', (d: Buffer) => {
      this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
      this.wake();
    });
    s.on('close', () => {
      this.closed = true;
      this.wake();
    });
    s.on('error', () => {});
  }

  static async connect(port: number, opts: { tls?: boolean } = {}): Promise<Pop3Wire> {
    const s: net.Socket = opts.tls
      ? tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false })
      : net.connect({ port, host: '127.0.0.1' });
    await new Promise<void>((resolve, reject) => {
      s.once(opts.tls ? 'secureConnect' : 'connect', () => resolve());
      s.once('error', reject);
    });
    return new Pop3Wire(s);
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  private async more(timeoutMs: number): Promise<void> {
    if (this.closed) throw new Error(`connection closed (buffer: ${JSON.stringify(this.buf.toString('latin1').slice(0, 200))})`);
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timed out (buffer: ${JSON.stringify(this.buf.toString('latin1').slice(0, 200))})`)), timeoutMs);
      this.waiter = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  /** Next line without CRLF; null when the server closed and nothing is left. */
  async line(timeoutMs = 10_000): Promise<string | null> {
    for (;;) {
      const i = this.buf.indexOf('\r\n');
      if (i >= 0) {
        const l = this.buf.subarray(0, i).toString('latin1');
        this.buf = this.buf.subarray(i + 2);
        return l;
      }
      if (this.closed) return null;
      await this.more(timeoutMs);
    }
  }

  /** Raw bytes of a multi-line body up to and including the terminating ".\r\n". */
  async rawMultiline(timeoutMs = 30_000): Promise<Buffer> {
    for (let from = 0; ; ) {
      const idx = this.buf.indexOf('\r\n.\r\n', from);
      if (this.buf.subarray(0, 3).toString() === '.\r\n') {
        this.buf = this.buf.subarray(3);
        return Buffer.from('.\r\n');
      }
      if (idx >= 0) {
        const out = this.buf.subarray(0, idx + 5);
        this.buf = this.buf.subarray(idx + 5);
        return out;
      }
      from = Math.max(0, this.buf.length - 4);
      await this.more(timeoutMs);
    }
  }

  /** Un-stuffed lines of a multi-line body. */
  async multiline(): Promise<string[]> {
    const raw = (await this.rawMultiline()).toString('latin1');
    return raw
      .slice(0, -3)
      .split('\r\n')
      .slice(0, -1)
      .map((l) => (l.startsWith('.') ? l.slice(1) : l));
  }

  send(line: string): void {
    this.socket.write(line + '\r\n');
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  async cmd(line: string): Promise<string> {
    this.send(line);
    const l = await this.line();
    if (l === null) throw new Error(`closed after ${line}`);
    return l;
  }

  /** RFC 2595: STLS, then a TLS handshake on the same connection. */
  async stls(): Promise<string> {
    const reply = await this.cmd('STLS');
    if (!reply.startsWith('+OK')) return reply;
    const raw = this.socket;
    raw.removeAllListeners('data');
    raw.removeAllListeners('close');
    const secure = tls.connect({ socket: raw, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', () => resolve());
      secure.once('error', reject);
    });
    this.socket = secure;
    this.listen(secure);
    return reply;
  }

  async login(user: string, password: string): Promise<string> {
    const u = await this.cmd(`USER ${user}`);
    if (!u.startsWith('+OK')) return u;
    return this.cmd(`PASS ${password}`);
  }

  close(): void {
    this.socket.destroy();
  }
}
