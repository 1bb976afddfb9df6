// One submission connection for the benchmark: nodemailer's SMTPConnection (STARTTLS when
// offered, AUTH PLAIN when credentials are given), reused for many messages.
//
// Nagle is switched off on the client's socket. nodemailer writes each command and the
// message's chunks in separate small writes; with Nagle on, a write waits for the ACK of the
// previous unacknowledged segment, and the server's kernel delays that ACK by up to 40 ms
// (Linux delayed ACK), so every message stalled ≈40 ms whatever the server did (measured: 48
// ms per message at K=1 for both our daemon and Postfix). The same client drives both peers.
import net from 'node:net';
import SMTPConnection from 'nodemailer/lib/smtp-connection/index.js';

export class BenchSmtpConnection {
  private constructor(private readonly conn: SMTPConnection) {}

  static async open(opts: { port: number; user?: string; pass?: string }): Promise<BenchSmtpConnection> {
    // A socket handed in unconnected is connected by nodemailer; STARTTLS then wraps it, and
    // TLS records are written through this TCP socket, so the option holds for the session.
    const socket = new net.Socket();
    socket.setNoDelay(true);
    const conn = new SMTPConnection({
      socket,
      host: '127.0.0.1',
      port: opts.port,
      secure: false,
      requireTLS: true,
      tls: { rejectUnauthorized: false },
      name: 'bench.client',
      socketTimeout: 120_000,
    });
    conn.on('error', () => {});
    await new Promise<void>((res, rej) => conn.connect((err?: Error) => (err ? rej(err) : res())));
    if (opts.user) {
      await new Promise<void>((res, rej) =>
        conn.login({ user: opts.user!, pass: opts.pass! } as never, (err?: Error) => (err ? rej(err) : res())),
      );
    }
    return new BenchSmtpConnection(conn);
  }

  /** Sends one message; resolves with the latency in ms once the server said 250. */
  send(from: string, to: string[], message: Buffer): Promise<number> {
    const t0 = performance.now();
    return new Promise((res, rej) =>
      this.conn.send({ from, to }, message, (err: Error | null) => (err ? rej(err) : res(performance.now() - t0))),
    );
  }

  close(): void {
    this.conn.quit();
  }
}
