// One submission connection for the benchmark: nodemailer's SMTPConnection (STARTTLS when
// offered, AUTH PLAIN when credentials are given), reused for many messages.
import SMTPConnection from 'nodemailer/lib/smtp-connection/index.js';

export class BenchSmtpConnection {
  private constructor(private readonly conn: SMTPConnection) {}

  static async open(opts: { port: number; user?: string; pass?: string }): Promise<BenchSmtpConnection> {
    const conn = new SMTPConnection({
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
