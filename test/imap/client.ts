// Raw IMAP wire helpers for the protocol tests: send a tagged command, collect every line up
// to its tagged reply (literals stay inline, as the line client reads CRLF-separated text).
import { expect } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/app.js';
import { LineClient } from '../helpers/line-client.js';

export const USER = 'alice@example.test';
export const PASS = 'wonderland';

type Overrides = Parameters<typeof startTestServer>[0];

export async function startImapServer(overrides: Overrides = {}): Promise<TestServer> {
  const srv = await startTestServer(overrides);
  await srv.app.directory.addDomain('example.test');
  await srv.addUser(USER, PASS);
  return srv;
}

export class Imap {
  private n = 0;
  constructor(readonly c: LineClient) {}

  static async connect(port: number): Promise<Imap> {
    const c = await LineClient.connect(port);
    const greeting = await c.line();
    expect(greeting).toMatch(/^\* OK /);
    return new Imap(c);
  }

  static async login(srv: TestServer, user = USER, pass = PASS): Promise<Imap> {
    const i = await Imap.connect(srv.port('imap'));
    const r = await i.cmd(`LOGIN ${user} ${pass}`);
    expect(r.at(-1)).toMatch(/^\S+ OK /);
    return i;
  }

  /** Sends `<tag> <text>` and returns the lines up to and including the tagged reply. */
  async cmd(text: string, timeoutMs = 10_000): Promise<string[]> {
    const tag = `t${++this.n}`;
    this.c.send(`${tag} ${text}`);
    return this.until(tag, timeoutMs);
  }

  /** Lines up to the reply tagged `tag` (with it); throws when the connection closes first. */
  async until(tag: string, timeoutMs = 10_000): Promise<string[]> {
    const out: string[] = [];
    for (;;) {
      const l = await this.c.line(timeoutMs);
      if (l === null) throw new Error(`connection closed; got ${JSON.stringify(out)}`);
      out.push(l);
      if (l.startsWith(`${tag} `)) return out;
    }
  }

  /** The replies with the tag replaced by `T`, for exact comparisons. */
  async run(text: string): Promise<string[]> {
    const lines = await this.cmd(text);
    return lines.map((l) => l.replace(/^t\d+ /, 'T '));
  }

  close(): void {
    this.c.close();
  }
}

/** A small RFC 5322 message with CRLF line ends. */
export function message(subject: string, body = 'Hello.\r\n'): string {
  return `From: Bob <bob@example.test>\r\nTo: alice@example.test\r\nSubject: ${subject}\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\nMessage-ID: <${subject.replace(/\W/g, '')}@example.test>\r\n\r\n${body}`;
}

/** APPEND with a LITERAL+ literal; returns the reply lines. */
export function append(i: Imap, mailbox: string, msg: string, flags = ''): Promise<string[]> {
  return i.cmd(`APPEND ${mailbox} ${flags ? `(${flags}) ` : ''}{${Buffer.byteLength(msg)}+}\r\n${msg}`);
}
