// Listeners and authentication: 993 implicit TLS, 143 STARTTLS (plaintext pipelined after it
// is discarded), LOGINDISABLED and refused passwords before TLS off loopback, AUTHENTICATE
// PLAIN/LOGIN with and without SASL-IR, throttled guessing, NUL in user names.
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from '../helpers/app.js';
import { BASE_CAPABILITIES } from '../../src/imap/capabilities.js';
import { Imap, PASS, startImapServer, USER } from './client.js';

// The extension names come from capabilities.ts; the state-dependent tail is pinned here.
const EXTENSIONS = `${BASE_CAPABILITIES.join(' ')} APPENDLIMIT=26214400`;

const b64 = (s: string) => Buffer.from(s).toString('base64');

/** Reads CRLF lines from a TLS socket. */
function lineReader(sock: tls.TLSSocket) {
  let buf = '';
  const lines: string[] = [];
  let wake: (() => void) | null = null;
  sock.setEncoding('latin1');
  sock.on('data', (d: string) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\r\n')) >= 0) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 2);
    }
    wake?.();
  });
  return async (): Promise<string> => {
    while (lines.length === 0) await new Promise<void>((r) => (wake = r));
    return lines.shift()!;
  };
}

describe('IMAP over TLS, STARTTLS and authentication', () => {
  let srv: TestServer;
  beforeAll(async () => {
    // Loopback is not treated as secure here, so the pre-TLS rules apply to the tests.
    srv = await startImapServer({ auth: { loopbackIsSecure: false, failureDelayMs: 10, maxFailuresPerIp: 5 } });
  });
  afterAll(async () => {
    await srv?.stop();
  });

  it('before TLS: LOGINDISABLED, no AUTH=, LOGIN and AUTHENTICATE refused', async () => {
    const i = await Imap.connect(srv.port('imap'));
    expect(await i.run('CAPABILITY')).toEqual([
      `* CAPABILITY ${EXTENSIONS} STARTTLS LOGINDISABLED`,
      'T OK CAPABILITY completed',
    ]);
    expect(await i.run(`LOGIN ${USER} ${PASS}`)).toEqual(['T NO [PRIVACYREQUIRED] Use STARTTLS first: passwords are not accepted in plaintext']);
    expect(await i.run(`AUTHENTICATE PLAIN ${b64(`\0${USER}\0${PASS}`)}`)).toEqual([
      'T NO [PRIVACYREQUIRED] Use STARTTLS first: passwords are not accepted in plaintext',
    ]);
    i.close();
  });

  it('STARTTLS upgrades in place and discards plaintext pipelined after it', async () => {
    const i = await Imap.connect(srv.port('imap'));
    // An injection attempt: a command sent in plaintext behind STARTTLS must never run.
    i.c.write('s1 STARTTLS\r\nx1 LOGIN alice@example.test wonderland\r\n');
    expect(await i.c.line()).toBe('s1 OK Begin TLS negotiation now');
    i.c.socket.removeAllListeners('data');
    const sock = tls.connect({ socket: i.c.socket, rejectUnauthorized: false, servername: 'mx.test.example' });
    await new Promise<void>((r) => sock.once('secureConnect', () => r()));
    expect(sock.getProtocol()).toMatch(/TLSv1\.[23]/);
    const read = lineReader(sock);
    sock.write('c1 CAPABILITY\r\n');
    expect(await read()).toBe(`* CAPABILITY ${EXTENSIONS} AUTH=PLAIN AUTH=LOGIN`);
    expect(await read()).toBe('c1 OK CAPABILITY completed');
    sock.write('c2 STARTTLS\r\n');
    expect(await read()).toBe('c2 BAD TLS is already active');
    sock.write(`c3 LOGIN ${USER} ${PASS}\r\n`);
    expect(await read()).toMatch(/^c3 OK \[CAPABILITY .*\] Logged in$/);
    sock.destroy();
    expect(srv.logs.some((l) => l.msg === 'plaintext pipelined after STARTTLS discarded')).toBe(true);
  });

  it('993 speaks TLS from the first byte; AUTHENTICATE PLAIN and LOGIN with and without SASL-IR', async () => {
    const sock = tls.connect({ port: srv.port('imaps'), host: '127.0.0.1', rejectUnauthorized: false, minVersion: 'TLSv1.2' });
    const read = lineReader(sock);
    expect(await read()).toMatch(/^\* OK \[CAPABILITY IMAP4rev1 .* AUTH=PLAIN AUTH=LOGIN\] /);
    const cmd = async (text: string): Promise<string[]> => {
      sock.write(text + '\r\n');
      const out: string[] = [];
      for (;;) {
        const l = await read();
        out.push(l);
        if (!l.startsWith('*') && !l.startsWith('+')) return out;
      }
    };
    expect(await cmd(`a1 AUTHENTICATE PLAIN ${b64(`\0${USER}\0wrong`)}`)).toEqual(['a1 NO [AUTHENTICATIONFAILED] Invalid credentials']);
    // Without an initial response: an empty challenge, then the response on its own line.
    sock.write('a2 AUTHENTICATE PLAIN\r\n');
    expect(await read()).toBe('+ ');
    sock.write('*\r\n');
    expect(await read()).toBe('a2 BAD Authentication cancelled');
    sock.write('a3 AUTHENTICATE LOGIN\r\n');
    expect(await read()).toBe(`+ ${b64('Username:')}`);
    sock.write(b64(USER) + '\r\n');
    expect(await read()).toBe(`+ ${b64('Password:')}`);
    sock.write(b64(PASS) + '\r\n');
    expect(await read()).toMatch(/^a3 OK \[CAPABILITY IMAP4rev1 .*CHILDREN .*APPENDLIMIT=\d+\] Logged in$/);
    expect(await cmd('a4 SELECT INBOX')).toContain('a4 OK [READ-WRITE] SELECT completed');
    sock.destroy();
  });

  it('a NUL in the user name is refused, never truncated; guessing is throttled', async () => {
    const sock = tls.connect({ port: srv.port('imaps'), host: '127.0.0.1', rejectUnauthorized: false });
    const read = lineReader(sock);
    await read();
    const nulName = `${USER}\0junk`;
    sock.write(`n1 LOGIN {${nulName.length}+}\r\n${nulName} ${PASS}\r\n`);
    expect(await read()).toMatch(/^n1 (NO \[AUTHENTICATIONFAILED\]|BAD) /);
    const logsBefore = srv.logs.length;
    const replies: string[] = [];
    for (let k = 0; k < 7; k++) {
      sock.write(`g${k} LOGIN ${USER} guess${k}\r\n`);
      replies.push(await read());
    }
    // After the per-address limit the password is no longer even checked.
    expect(replies.slice(0, 3).every((r) => r.includes('[AUTHENTICATIONFAILED]'))).toBe(true);
    expect(replies.at(-1)).toMatch(/NO \[UNAVAILABLE\] Too many failed logins/);
    const fails = srv.logs.slice(logsBefore).filter((l) => l.msg === 'auth failed' || l.msg === 'auth throttled');
    expect(fails.length).toBe(7);
    sock.destroy();
  });
});
