// POP3 against the running daemon, checked on the wire: the RFC 1939 state machine,
// numbering, deletion only at QUIT, the maildrop lock, IMAP-side expunges, and bad input
// (wrong state, unknown or deleted messages, overlong lines, drops without QUIT).
import { Readable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/app.js';
import type { StoreChange } from '../../src/maildir/types.js';
import { Pop3Wire } from './wire-client.js';

const ALICE = 'alice@example.test';
const PW = 'correct horse battery';
const user = { domain: 'example.test', localPart: 'alice' };

let srv: TestServer;

async function deliver(text: string): Promise<number> {
  const r = await srv.app.store.deliver(user, 'INBOX', { open: () => Readable.from([Buffer.from(text, 'latin1')]) });
  return r.uid;
}

async function inboxUids(): Promise<number[]> {
  return (await srv.app.store.listMessages(user, 'INBOX')).messages.map((m) => m.uid);
}

async function emptyInbox(): Promise<void> {
  await srv.app.store.expunge(user, 'INBOX', await inboxUids());
}

async function loggedIn(): Promise<Pop3Wire> {
  const c = await Pop3Wire.connect(srv.port('pop3'));
  expect(await c.line()).toMatch(/^\+OK /);
  expect(await c.login(ALICE, PW)).toMatch(/^\+OK /);
  return c;
}

function logsSince(n: number): Array<Record<string, unknown>> {
  return srv.logs.slice(n);
}

const MSG1 = 'From: a@example.org\nSubject: one\n\nfirst body\n.starts with a dot\n..two dots\n.\nend\n';
const MSG2 = 'From: b@example.org\nSubject: two\n\nline 1\nline 2\nline 3\n';

beforeAll(async () => {
  srv = await startTestServer({ auth: { failureDelayMs: 1, maxFailureDelayMs: 5, maxFailuresPerIp: 50 } });
  await srv.app.directory.addDomain('example.test');
  await srv.addUser(ALICE, PW);
});
afterAll(async () => srv?.stop());
beforeEach(emptyInbox);

describe('POP3 session', () => {
  it('greets, lists capabilities, and refuses transaction commands before login', async () => {
    const c = await Pop3Wire.connect(srv.port('pop3'));
    expect(await c.line()).toBe('+OK mx.test.example POP3 ready');
    c.send('CAPA');
    expect(await c.line()).toBe('+OK Capability list follows');
    const caps = await c.multiline();
    // Loopback counts as secure by default, so USER and SASL are offered before TLS.
    expect(caps).toEqual(['TOP', 'UIDL', 'RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING', 'STLS', 'USER', 'SASL PLAIN LOGIN', 'IMPLEMENTATION mailserver']);
    const mark = srv.logs.length;
    for (const cmd of ['STAT', 'LIST', 'RETR 1', 'DELE 1', 'UIDL', 'TOP 1 1', 'RSET', 'NOOP']) {
      expect(await c.cmd(cmd)).toMatch(/^-ERR \w+ is only valid after login$/);
    }
    expect(await c.cmd('PASS nouser')).toBe('-ERR Send USER first');
    expect(await c.cmd('XYZZY')).toBe('-ERR Unknown command: XYZZY');
    expect(await c.cmd('APOP alice abc')).toBe('-ERR Unknown command: APOP');
    const refused = logsSince(mark).filter((l) => l.msg === 'command refused');
    expect(refused.map((l) => l.cmd)).toEqual(['STAT', 'LIST', 'RETR', 'DELE', 'UIDL', 'TOP', 'RSET', 'NOOP', 'PASS', 'XYZZY', 'APOP']);
    expect(refused.every((l) => l.svc === 'pop3' && typeof l.sid === 'string')).toBe(true);
    expect(await c.cmd('QUIT')).toBe('+OK Logging out');
    expect(await c.line()).toBeNull();
  });

  it('answers STAT, LIST, UIDL, RETR (byte-stuffed, CRLF) and TOP from the INBOX', async () => {
    const uid1 = await deliver(MSG1);
    const uid2 = await deliver(MSG2);
    const { uidValidity, messages } = await srv.app.store.listMessages(user, 'INBOX');
    const [v1, v2] = messages.map((m) => m.vsize);
    const c = await loggedIn();
    expect(await c.cmd('STAT')).toBe(`+OK 2 ${v1! + v2!}`);
    expect(await c.cmd('LIST')).toMatch(/^\+OK 2 messages/);
    expect(await c.multiline()).toEqual([`1 ${v1}`, `2 ${v2}`]);
    expect(await c.cmd('LIST 2')).toBe(`+OK 2 ${v2}`);
    const hex = (n: number) => n.toString(16).padStart(8, '0');
    expect(await c.cmd('UIDL')).toBe('+OK');
    expect(await c.multiline()).toEqual([`1 ${hex(uid1)}${hex(uidValidity)}`, `2 ${hex(uid2)}${hex(uidValidity)}`]);
    expect(await c.cmd('UIDL 1')).toBe(`+OK 1 ${hex(uid1)}${hex(uidValidity)}`);

    expect(await c.cmd('RETR 1')).toBe(`+OK ${v1} octets`);
    const raw = (await c.rawMultiline()).toString('latin1');
    expect(raw).toBe(
      'From: a@example.org\r\nSubject: one\r\n\r\nfirst body\r\n..starts with a dot\r\n...two dots\r\n..\r\nend\r\n.\r\n',
    );
    // The size announced is the size of the message with CRLF, before byte-stuffing.
    expect(raw.length - 3 - 3).toBe(v1); // minus terminator, minus the three stuffed dots

    expect(await c.cmd('TOP 2 1')).toBe('+OK');
    expect(await c.multiline()).toEqual(['From: b@example.org', 'Subject: two', '', 'line 1']);
    expect(await c.cmd('TOP 2 0')).toBe('+OK');
    expect(await c.multiline()).toEqual(['From: b@example.org', 'Subject: two', '']);
    expect(await c.cmd('NOOP')).toBe('+OK');
    // Commands that belong before login are refused after it.
    expect(await c.cmd('USER x')).toBe('-ERR USER is not valid after login');
    expect(await c.cmd('STLS')).toBe('-ERR STLS is not valid after login');
    expect(await c.cmd('QUIT')).toMatch(/^\+OK Logging out, 0 deleted/);
    // RETR marks the message \Seen (as Dovecot does); TOP does not.
    const after = await srv.app.store.listMessages(user, 'INBOX');
    expect(after.messages.map((m) => m.flags.includes('\\Seen'))).toEqual([true, false]);
  });

  it('refuses bad message numbers, deleted messages and overlong lines, and keeps going', async () => {
    await deliver(MSG1);
    await deliver(MSG2);
    const c = await loggedIn();
    const mark = srv.logs.length;
    expect(await c.cmd('RETR 3')).toBe('-ERR There is no message 3');
    expect(await c.cmd('RETR 0')).toBe('-ERR There is no message 0');
    expect(await c.cmd('LIST 99')).toBe('-ERR There is no message 99');
    expect(await c.cmd('TOP 5 1')).toBe('-ERR There is no message 5');
    expect(await c.cmd('RETR abc')).toBe('-ERR Invalid message number');
    expect(await c.cmd('DELE')).toBe('-ERR DELE needs a message number');
    expect(await c.cmd('DELE 9')).toBe('-ERR There is no message 9');
    expect(await c.cmd('DELE 1')).toBe('+OK Message 1 marked for deletion');
    expect(await c.cmd('DELE 1')).toBe('-ERR Message 1 is already deleted');
    expect(await c.cmd('RETR 1')).toBe('-ERR Message 1 is already deleted');
    expect(await c.cmd('LIST 1')).toBe('-ERR Message 1 is already deleted');
    expect(await c.cmd('UIDL 1')).toBe('-ERR Message 1 is already deleted');
    expect(await c.cmd('STAT')).toMatch(/^\+OK 1 \d+$/);
    expect(await c.cmd('LIST')).toMatch(/^\+OK 1 messages/);
    expect((await c.multiline())[0]).toMatch(/^2 \d+$/); // numbering is fixed: 2 stays 2
    c.send(`NOOP ${'x'.repeat(5000)}`);
    expect(await c.line()).toBe('-ERR Line too long (limit 4096 octets)');
    expect(await c.cmd('RSET')).toMatch(/^\+OK 2 messages/);
    expect(await c.cmd('RETR 1')).toMatch(/^\+OK \d+ octets$/);
    await c.rawMultiline();
    const refused = logsSince(mark).filter((l) => l.msg === 'command refused');
    expect(refused.length).toBe(12);
    await drop(c);
  });

  it('applies deletions only at QUIT, and the expunge reaches other sessions as a change record', async () => {
    const [a, b] = [await deliver(MSG1), await deliver(MSG2)];
    const changes: StoreChange[] = [];
    const off = srv.app.store.onChange((ch) => changes.push(ch));
    try {
      // A client that drops without QUIT: nothing is deleted.
      let c = await loggedIn();
      expect(await c.cmd('DELE 1')).toMatch(/^\+OK/);
      expect(await c.cmd('DELE 2')).toMatch(/^\+OK/);
      const mark = srv.logs.length;
      await drop(c);
      expect(logsSince(mark).some((l) => l.msg === 'connection ended without QUIT; no messages deleted' && l.marked === 2)).toBe(true);
      expect(await inboxUids()).toEqual([a, b]);
      expect(changes.filter((ch) => ch.type === 'expunge')).toEqual([]);

      // The lock was released with the dropped connection; this time QUIT applies DELE 1.
      c = await loggedIn();
      expect(await c.cmd('DELE 1')).toMatch(/^\+OK/);
      expect(await inboxUids()).toEqual([a, b]); // still there before QUIT
      expect(await c.cmd('QUIT')).toBe('+OK Logging out, 1 deleted');
      expect(await inboxUids()).toEqual([b]);
      expect(changes).toContainEqual({ type: 'expunge', user, mailbox: 'INBOX', uids: [a], modseq: expect.any(Number) });
    } finally {
      off();
    }
  });

  it('locks the maildrop: a second POP3 session gets [IN-USE] until the first ends', async () => {
    await deliver(MSG1);
    const first = await loggedIn();
    const second = await Pop3Wire.connect(srv.port('pop3s'), { tls: true });
    expect(await second.line()).toMatch(/^\+OK/);
    expect(await second.login(ALICE, PW)).toBe('-ERR [IN-USE] Mailbox locked by another POP3 session');
    expect(await first.cmd('QUIT')).toMatch(/^\+OK/);
    await waitFor(() => srv.logs.some((l) => l.msg === 'update'));
    expect(await second.login(ALICE, PW)).toMatch(/^\+OK Logged in/);
    await drop(second);
  });

  it('keeps the numbering when IMAP expunges a message meanwhile; RETR fails cleanly', async () => {
    const a = await deliver(MSG1);
    await deliver(MSG2);
    const c = await loggedIn();
    const before = await c.cmd('STAT');
    await srv.app.store.expunge(user, 'INBOX', [a]); // as an IMAP session would
    expect(await c.cmd('STAT')).toBe(before);
    expect(await c.cmd('RETR 1')).toBe('-ERR Message 1 was removed by another session');
    expect(await c.cmd('TOP 1 0')).toBe('-ERR Message 1 was removed by another session');
    expect(await c.cmd('RETR 2')).toMatch(/^\+OK/);
    await c.rawMultiline();
    expect(await c.cmd('DELE 1')).toMatch(/^\+OK/);
    expect(await c.cmd('QUIT')).toMatch(/^\+OK Logging out, 0 deleted/);
  });

  it('answers pipelined commands in order (RFC 2449 PIPELINING)', async () => {
    await deliver(MSG2);
    const c = await Pop3Wire.connect(srv.port('pop3'));
    await c.line();
    c.write(`USER ${ALICE}\r\nPASS ${PW}\r\nSTAT\r\nTOP 1 0\r\nUIDL 1\r\nDELE 1\r\nRSET\r\nQUIT\r\n`);
    expect(await c.line()).toMatch(/^\+OK/);
    expect(await c.line()).toMatch(/^\+OK Logged in, 1 message/);
    expect(await c.line()).toMatch(/^\+OK 1 \d+$/);
    expect(await c.line()).toBe('+OK');
    expect(await c.multiline()).toEqual(['From: b@example.org', 'Subject: two', '']);
    expect(await c.line()).toMatch(/^\+OK 1 [0-9a-f]{16}$/);
    expect(await c.line()).toMatch(/^\+OK Message 1/);
    expect(await c.line()).toMatch(/^\+OK 1 messages/);
    expect(await c.line()).toBe('+OK Logging out, 0 deleted');
    expect(await c.line()).toBeNull();
  });

  it('authenticates with AUTH PLAIN and AUTH LOGIN, and cancels with *', async () => {
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    let c = await Pop3Wire.connect(srv.port('pop3'));
    await c.line();
    expect(await c.cmd('AUTH')).toBe('+OK');
    expect(await c.multiline()).toEqual(['PLAIN', 'LOGIN']);
    expect(await c.cmd('AUTH CRAM-MD5')).toBe('-ERR Unsupported authentication mechanism CRAM-MD5');
    expect(await c.cmd('AUTH PLAIN')).toBe('+ ');
    expect(await c.cmd('*')).toBe('-ERR Authentication cancelled');
    expect(await c.cmd('AUTH PLAIN !!notbase64')).toMatch(/^-ERR Invalid SASL response/);
    expect(await c.cmd(`AUTH PLAIN ${b64(`\0${ALICE}\0wrong`)}`)).toBe('-ERR [AUTH] Authentication failed');
    expect(await c.cmd(`AUTH PLAIN ${b64(`\0${ALICE}\0${PW}`)}`)).toMatch(/^\+OK Logged in/);
    await drop(c);

    c = await Pop3Wire.connect(srv.port('pop3'));
    await c.line();
    expect(await c.cmd('AUTH LOGIN')).toBe('+ VXNlcm5hbWU6');
    expect(await c.cmd(b64(ALICE))).toBe('+ UGFzc3dvcmQ6');
    expect(await c.cmd(b64(PW))).toMatch(/^\+OK Logged in/);
    expect(await c.cmd('QUIT')).toMatch(/^\+OK/);
  });

  it('disconnects a client that never logs in', async () => {
    const c = await Pop3Wire.connect(srv.port('pop3'));
    await c.line();
    const limit = srv.app.config.pop3.maxCommandsBeforeLogin;
    for (let i = 0; i < limit; i++) {
      expect(await c.cmd('CAPA')).toMatch(/^\+OK/);
      await c.multiline();
    }
    expect(await c.cmd('CAPA')).toBe('-ERR Too many commands before login, closing connection');
    expect(await c.line()).toBeNull();
    expect(srv.logs.some((l) => l.level === 'warn' && l.reply === '-ERR Too many commands before login, closing connection')).toBe(true);
  });

  it('disconnects a client that sends too many bad commands', async () => {
    const c = await Pop3Wire.connect(srv.port('pop3'));
    await c.line();
    const limit = srv.app.config.pop3.maxBadCommands;
    for (let i = 1; i < limit; i++) expect(await c.cmd(`BOGUS${i}`)).toBe(`-ERR Unknown command: BOGUS${i}`);
    expect(await c.cmd('BOGUS')).toBe('-ERR Too many invalid commands, closing connection');
    expect(await c.line()).toBeNull();
  });
});

/** Closes without QUIT and waits until the server has noticed (the lock is released then). */
async function drop(c: Pop3Wire): Promise<void> {
  const mark = srv.logs.length;
  c.close();
  await waitFor(() => logsSince(mark).some((l) => l.msg === 'disconnect'));
}

async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
