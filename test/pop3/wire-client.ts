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
    // Chunks are kept in a list and searched at their seams: a 10 MB body is not re-copied
    // on every packet.
    const parts: Buffer[] = [];
    let tail = Buffer.from('\r\n'); // the status line's CRLF precedes the body
    for (;;) {
      if (this.buf.length > 0) {
        const chunk = this.buf;
        this.buf = Buffer.alloc(0);
        const joined = Buffer.concat([tail, chunk]);
        const idx = joined.indexOf('\r\n.\r\n');
        if (idx >= 0) {
          const end = idx + 5 - tail.length; // end of the terminator inside chunk
          parts.push(chunk.subarray(0, end));
          this.buf = chunk.subarray(end);
          return Buffer.concat(parts);
        }
        parts.push(chunk);
        tail = joined.subarray(Math.max(0, joined.length - 4));
        continue;
      }
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
    if (reply.startsWith('+OK')) await this.upgrade();
    return reply;
  }

  /** The TLS handshake after the server's +OK to STLS. */
  async upgrade(): Promise<void> {
    this.buf = Buffer.alloc(0);
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
  }

  async login(user: string, password: string): Promise<string> {
    const u = await this.cmd(`USER ${user}`);
    if (!u.startsWith('+OK')) return u;
    return this.cmd(`PASS ${password}`);
  }

  /** Stop reading from the socket (a slow client), and start again. */
  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  close(): void {
    this.socket.destroy();
  }
}
