// A byte-exact IMAP test client: commands may carry 8-bit literals (Buffer), and responses keep
// literal bytes apart from the line text. ImapClient (dovecot.ts) and the FETCH/SEARCH interop
// tests both talk IMAP through it.
import net from 'node:net';

export interface ImapResponse {
  /** Untagged responses, literal bytes replaced by their {n} marker. */
  untagged: string[];
  /** Literal payloads in order of appearance. */
  literals: Buffer[];
  tagged: string;
}

export class ImapWire {
  private buf = Buffer.alloc(0);
  private waiter: (() => void) | null = null;
  private tagNo = 0;
  private closed = false;
  /** The server's greeting line. */
  greeting = '';

  /** `encoding` decodes line text: latin1 keeps 8-bit bytes one char each for byte-exact comparison. */
  private constructor(
    private readonly socket: net.Socket,
    private readonly encoding: BufferEncoding,
  ) {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  static async connect(port: number, encoding: BufferEncoding = 'utf8'): Promise<ImapWire> {
    const socket = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const c = new ImapWire(socket, encoding);
    c.greeting = await c.readLine();
    return c;
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  private async need(n: number): Promise<void> {
    while (this.buf.length < n) {
      if (this.closed) throw new Error('connection closed');
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
  }

  private async readLine(): Promise<string> {
    for (;;) {
      const i = this.buf.indexOf('\r\n');
      if (i >= 0) {
        const line = this.buf.subarray(0, i).toString(this.encoding);
        this.buf = this.buf.subarray(i + 2);
        return line;
      }
      if (this.closed) throw new Error('connection closed');
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
  }

  /**
   * Sends one tagged command and collects the response; a NO or BAD is returned, not thrown.
   * `parts` are joined; Buffers go out as they are (LITERAL+ literals with 8-bit data).
   */
  async command(...parts: Array<string | Buffer>): Promise<ImapResponse> {
    const tag = `T${++this.tagNo}`;
    this.socket.write(Buffer.concat([Buffer.from(`${tag} `), ...parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p)), Buffer.from('\r\n')]));
    const res: ImapResponse = { untagged: [], literals: [], tagged: '' };
    for (;;) {
      let line = await this.readLine();
      let full = line;
      for (let m = /\{(\d+)\}$/.exec(line); m; m = /\{(\d+)\}$/.exec(line)) {
        const n = Number(m[1]);
        await this.need(n);
        res.literals.push(Buffer.from(this.buf.subarray(0, n)));
        this.buf = this.buf.subarray(n);
        line = await this.readLine();
        full += line;
      }
      if (full.startsWith(`${tag} `)) {
        res.tagged = full;
        return res;
      }
      res.untagged.push(full);
    }
  }

  close(): void {
    this.socket.destroy();
  }
}
