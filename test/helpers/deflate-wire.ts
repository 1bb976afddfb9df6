// A raw IMAP test client that can do what real clients do to a connection: STARTTLS, and
// COMPRESS=DEFLATE (RFC 4978) with its own inflater and deflater, so replays and the COMPRESS
// tests see exactly the bytes a client would. Lines are latin1 (8-bit bytes one char each);
// literals in responses are collected apart, as ImapWire does.
import net from 'node:net';
import tls from 'node:tls';
import zlib from 'node:zlib';

export interface WireResponse {
  /** Untagged and continuation lines, literal bytes replaced by their {n} marker. */
  untagged: string[];
  literals: Buffer[];
  tagged: string;
}

export class DeflateWire {
  /** Decoded (plain) bytes not yet read as lines. */
  private plain: Buffer = Buffer.alloc(0);
  private waiter: (() => void) | null = null;
  private closed = false;
  private inflater: zlib.InflateRaw | null = null;
  private deflater: zlib.DeflateRaw | null = null;
  /** Where the deflater's output goes (the socket, or a capture for pipelining). */
  private deflateSink: (b: Buffer) => void = (b) => this.socket.write(b);
  private tagNo = 0;
  /** Compressed bytes received while compression is on (for ratio checks). */
  wireBytesIn = 0;
  plainBytesIn = 0;
  greeting = '';
  inflateError: Error | null = null;
  /** How the client flushes each command: Z_SYNC_FLUSH, or Z_PARTIAL_FLUSH as K-9 Mail does. */
  flushMode: number = zlib.constants.Z_SYNC_FLUSH;
  /** zlib level of the client's compressor (K-9: 1, JZlib Z_BEST_SPEED). */
  deflateLevel = 6;

  private constructor(private socket: net.Socket) {
    this.listen(socket);
  }

  static async connect(port: number, opts: { tls?: boolean } = {}): Promise<DeflateWire> {
    const socket = opts.tls
      ? tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false, servername: 'mx.test.example' })
      : net.connect({ port, host: '127.0.0.1' });
    await new Promise<void>((resolve, reject) => socket.once(opts.tls ? 'secureConnect' : 'connect', () => resolve()).once('error', reject));
    socket.setNoDelay(true);
    const c = new DeflateWire(socket);
    c.greeting = await c.line();
    return c;
  }

  private listen(socket: net.Socket): void {
    socket.on('data', (d: Buffer) => {
      if (this.inflater) {
        this.wireBytesIn += d.length;
        this.inflater.write(d);
      } else this.gotPlain(d);
    });
    socket.on('close', () => {
      const done = (): void => {
        this.closed = true;
        this.wake();
      };
      // What the inflater still holds (a BYE just before the FIN) is read before 'closed'.
      if (this.inflater && !this.inflater.destroyed) {
        this.inflater.once('end', done).once('close', done);
        this.inflater.end();
      } else done();
    });
    socket.on('error', () => {});
  }

  private gotPlain(d: Buffer): void {
    this.plain = this.plain.length ? Buffer.concat([this.plain, d]) : d;
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  private async waitData(deadline: number): Promise<void> {
    if (this.closed) throw new Error(`connection closed (unread: ${JSON.stringify(this.plain.toString("latin1").slice(0, 300))})`);
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`timed out (unread: ${JSON.stringify(this.plain.toString('latin1').slice(0, 300))})`);
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, left);
      this.waiter = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  /** The next CRLF line (latin1). */
  async line(timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.plain.indexOf('\r\n');
      if (i >= 0) {
        const l = this.plain.subarray(0, i).toString('latin1');
        this.plain = this.plain.subarray(i + 2);
        return l;
      }
      await this.waitData(deadline);
    }
  }

  /** Null once the server has closed the connection and every line was read. */
  async lineOrClose(timeoutMs = 10_000): Promise<string | null> {
    try {
      return await this.line(timeoutMs);
    } catch (err) {
      if (this.closed && this.plain.indexOf('\r\n') < 0) return null;
      throw err;
    }
  }

  private async bytes(n: number, deadline: number): Promise<Buffer> {
    while (this.plain.length < n) await this.waitData(deadline);
    const b = Buffer.from(this.plain.subarray(0, n));
    this.plain = this.plain.subarray(n);
    return b;
  }

  /** Lines up to the one tagged `tag`; literals are read whole. */
  async response(tag: string, timeoutMs = 20_000): Promise<WireResponse> {
    const deadline = Date.now() + timeoutMs;
    const res: WireResponse = { untagged: [], literals: [], tagged: '' };
    for (;;) {
      let full = await this.line(Math.max(1, deadline - Date.now()));
      for (let m = /\{(\d+)\}$/.exec(full); m; m = /\{(\d+)\}$/.exec(full)) {
        res.literals.push(await this.bytes(Number(m[1]), deadline));
        full += await this.line(Math.max(1, deadline - Date.now()));
      }
      if (full.startsWith(`${tag} `)) {
        res.tagged = full;
        return res;
      }
      res.untagged.push(full);
    }
  }

  nextTag(): string {
    return `A${String(++this.tagNo).padStart(3, '0')}`;
  }

  /** Sends `<tag> <text>` (compressed when on) and reads the response. */
  async command(text: string | Buffer, timeoutMs?: number): Promise<WireResponse & { tag: string }> {
    return this.tagged(this.nextTag(), text, timeoutMs);
  }

  /** As command(), with the client's own tag (replays keep each client's tagging). */
  async tagged(tag: string, text: string | Buffer, timeoutMs?: number): Promise<WireResponse & { tag: string }> {
    this.send(Buffer.concat([Buffer.from(`${tag} `), typeof text === 'string' ? Buffer.from(text, 'utf8') : text, Buffer.from('\r\n')]));
    return { tag, ...(await this.response(tag, timeoutMs)) };
  }

  /** Writes bytes as the client's next output: through the deflater (one sync flush) when on. */
  send(data: string | Buffer): void {
    const buf = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    if (!this.deflater) {
      this.socket.write(buf);
      return;
    }
    this.deflater.write(buf);
    this.deflater.flush(this.flushMode);
  }

  /** Bytes straight onto the wire, bypassing compression (garbage injection). */
  sendRaw(buf: Buffer): void {
    this.socket.write(buf);
  }

  /**
   * COMPRESS DEFLATE. With `pipelined`, the given commands are compressed and sent in the
   * same write as the COMPRESS line, before the OK (as iOS Mail does); returns the OK line.
   */
  async compress(pipelined: string[] = [], tag = this.nextTag()): Promise<string> {
    this.deflater = zlib.createDeflateRaw({ level: this.deflateLevel });
    this.deflater.on('data', (b: Buffer) => this.deflateSink(b));
    let early = Buffer.alloc(0);
    if (pipelined.length > 0) {
      const parts: Buffer[] = [];
      this.deflateSink = (b) => parts.push(b);
      this.deflater.write(pipelined.join(''));
      await new Promise<void>((r) => this.deflater!.flush(this.flushMode, () => r()));
      this.deflateSink = (b) => this.socket.write(b);
      early = Buffer.concat(parts);
    }
    this.socket.write(Buffer.concat([Buffer.from(`${tag} COMPRESS DEFLATE\r\n`), early]));
    const ok = await this.line();
    if (!ok.startsWith(`${tag} OK`)) {
      this.deflater = null;
      return ok;
    }
    this.startInflate();
    return ok;
  }

  /** From now on input is inflated; bytes already read past the OK line were compressed. */
  private startInflate(): void {
    const rest = this.plain;
    this.plain = Buffer.alloc(0);
    const inf = zlib.createInflateRaw();
    inf.on('data', (d: Buffer) => {
      this.plainBytesIn += d.length;
      this.gotPlain(d);
    });
    inf.on('error', (err) => {
      this.inflateError = err;
      this.wake();
    });
    this.inflater = inf;
    if (rest.length) {
      this.wireBytesIn += rest.length;
      inf.write(rest);
    }
  }

  get compressing(): boolean {
    return this.inflater !== null;
  }

  /** STARTTLS (RFC 3501 6.2.1): after the OK, TLS on the same socket. */
  async starttls(tag = this.nextTag()): Promise<string> {
    this.socket.write(`${tag} STARTTLS\r\n`);
    const ok = await this.line();
    if (!ok.startsWith(`${tag} OK`)) return ok;
    this.socket.removeAllListeners('data');
    this.socket.removeAllListeners('close');
    const secure = tls.connect({ socket: this.socket, rejectUnauthorized: false, servername: 'mx.test.example' });
    await new Promise<void>((r, j) => secure.once('secureConnect', () => r()).once('error', j));
    this.socket = secure;
    this.listen(secure);
    return ok;
  }

  get tlsProtocol(): string | null {
    return this.socket instanceof tls.TLSSocket ? this.socket.getProtocol() : null;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Resolves when the server has closed the connection. */
  async waitClose(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('server did not close the connection');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  /** Half-closes (FIN), as a client does at the end of a session without LOGOUT. */
  end(): void {
    this.socket.end();
  }

  close(): void {
    this.socket.destroy();
    this.inflater?.close();
    this.deflater?.close();
  }
}
