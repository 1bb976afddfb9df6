// A minimal IMAP client for the benchmarks: one command at a time, responses kept as raw
// bytes and counted, literals skipped by their announced length. It does as little work as
// possible per response line, so that what is timed is the server (ours or Dovecot alike).
import net from 'node:net';

export interface Reply {
  /** The tagged line, e.g. "a1 OK done". */
  tagged: string;
  /** Untagged response lines (literal bytes removed), when asked for. */
  lines: string[];
  /** Untagged responses seen. */
  count: number;
  bytes: number;
}

export class BenchImap {
  private buf: Buffer = Buffer.alloc(0);
  private literalLeft = 0;
  private waiter: ((r: Reply) => void) | null = null;
  private failer: ((e: Error) => void) | null = null;
  private tag = '';
  private keep = false;
  private cur: Reply = { tagged: '', lines: [], count: 0, bytes: 0 };
  private line = '';
  private seq = 0;
  greeting = '';
  private greeted: Promise<void>;

  private constructor(private readonly socket: net.Socket) {
    let greet!: () => void;
    this.greeted = new Promise((r) => (greet = r));
    socket.on('data', (d: Buffer) => this.onData(d, greet));
    socket.on('error', (err) => this.failer?.(err));
    socket.on('close', () => this.failer?.(new Error('connection closed')));
  }

  static async connect(port: number, host = '127.0.0.1'): Promise<BenchImap> {
    const socket = net.connect({ port, host });
    await new Promise<void>((r, j) => socket.once('connect', r).once('error', j));
    socket.setNoDelay(true);
    const c = new BenchImap(socket);
    await c.greeted;
    return c;
  }

  private onData(d: Buffer, greet: () => void): void {
    this.cur.bytes += d.length;
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    let pos = 0;
    while (pos < this.buf.length) {
      if (this.literalLeft > 0) {
        const take = Math.min(this.literalLeft, this.buf.length - pos);
        this.literalLeft -= take;
        pos += take;
        continue;
      }
      const nl = this.buf.indexOf(10, pos);
      if (nl < 0) break;
      const piece = this.buf.toString('latin1', pos, nl + 1);
      pos = nl + 1;
      const m = /\{(\d+)\+?\}\r\n$/.exec(piece);
      if (m) {
        // The line goes on after the literal.
        this.line += piece.slice(0, piece.length - m[0].length) + '{}';
        this.literalLeft = Number(m[1]);
        continue;
      }
      const full = this.line + piece.slice(0, -2);
      this.line = '';
      if (!this.greeting) {
        this.greeting = full;
        greet();
        continue;
      }
      if (this.tag && full.startsWith(this.tag + ' ')) {
        const r = { ...this.cur, tagged: full };
        this.cur = { tagged: '', lines: [], count: 0, bytes: 0 };
        this.tag = '';
        const w = this.waiter;
        this.waiter = null;
        w?.(r);
      } else {
        this.cur.count++;
        if (this.keep) this.cur.lines.push(full);
      }
    }
    this.buf = pos >= this.buf.length ? Buffer.alloc(0) : this.buf.subarray(pos);
  }

  /** Sends one command; resolves on its tagged reply (throws unless OK). */
  command(text: string, keep = false): Promise<Reply> {
    const tag = `b${++this.seq}`;
    this.tag = tag;
    this.keep = keep;
    return new Promise<Reply>((resolve, reject) => {
      this.waiter = (r) => {
        this.failer = null;
        if (!/^\S+ OK/.test(r.tagged)) reject(new Error(`${text.slice(0, 60)}: ${r.tagged}`));
        else resolve(r);
      };
      this.failer = reject;
      this.socket.write(`${tag} ${text}\r\n`);
    });
  }

  /** Sends a raw line (IDLE's DONE). */
  send(text: string): void {
    this.socket.write(text + '\r\n');
  }

  close(): void {
    this.failer = null;
    this.socket.destroy();
  }
}
