// Bad input against the running daemon (issue 3's list): every case gets a clear reply and a
// log line, and the process keeps serving.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from '../helpers/app.js';
import { append, Imap, message, startImapServer } from './client.js';

let srv: TestServer;
beforeAll(async () => {
  // Info level: the flood test sends tens of thousands of commands, each a debug line.
  const level = process.env.TEST_LOG_LEVEL;
  process.env.TEST_LOG_LEVEL = 'info';
  srv = await startImapServer({ imap: { maxLiteralBytes: 64 * 1024, maxLineBytes: 8192, maxConnectionsPerIp: 20 } });
  if (level === undefined) delete process.env.TEST_LOG_LEVEL;
  else process.env.TEST_LOG_LEVEL = level;
});
afterAll(async () => {
  await srv?.stop();
});

/** Until the server has closed the sessions of sockets a test destroyed. */
async function waitForFreeSlots(): Promise<void> {
  for (let k = 0; k < 100; k++) {
    const open = srv.logs.filter((l) => l.msg === 'connect' && l.svc === 'imap').length - srv.logs.filter((l) => l.msg === 'disconnect' && l.svc === 'imap').length;
    if (open <= 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

const noErrors = () => expect(srv.logs.filter((l) => l.level === 'error' || l.level === 'fatal')).toEqual([]);

describe('IMAP bad input', () => {
  it('malformed commands, garbage and binary bytes get BAD, never a crash', async () => {
    const i = await Imap.connect(srv.port('imap'));
    expect(await i.run('FROB')).toEqual([expect.stringMatching(/^T BAD /)]);
    expect(await i.run('LOGIN')).toEqual([expect.stringMatching(/^T BAD /)]);
    expect(await i.run('LOGIN "unterminated')).toEqual([expect.stringMatching(/^T BAD /)]);
    expect(await i.run('SELECT (INBOX')).toEqual([expect.stringMatching(/^T BAD /)]);
    i.c.write(Buffer.from([0x00, 0xff, 0xfe, 0x0d, 0x0a]));
    expect(await i.c.line()).toMatch(/^(\*|\S+) BAD /);
    i.c.write('\x01\x02\x03 NOOP\r\n');
    expect(await i.c.line()).toMatch(/BAD/);
    expect(await i.run('NOOP')).toEqual(['T OK NOOP completed']);
    expect(srv.logs.some((l) => l.msg === 'bad command' || l.msg === 'bad input')).toBe(true);
    i.close();
  });

  it('an oversized literal is refused before it is read; an overlong line is refused', async () => {
    const i = await Imap.login(srv);
    expect(await i.run('APPEND INBOX {100000000}')).toEqual(['T NO [TOOBIG] Literal too large']);
    // The client got no "+", so it sends no literal: the next command works.
    expect(await i.run('NOOP')).toEqual(['T OK NOOP completed']);
    expect(await i.run(`NOOP ${'x'.repeat(20_000)}`)).toEqual([expect.stringMatching(/^T BAD \[TOOBIG\] /)]);
    expect(await i.run('NOOP')).toEqual(['T OK NOOP completed']);
    // The same inside IDLE: the overlong line ends IDLE with BAD, the session goes on.
    i.c.send('i1 IDLE');
    expect(await i.c.line()).toBe('+ idling');
    i.c.send('x'.repeat(20_000));
    expect(await i.c.line()).toBe('i1 BAD Expected DONE');
    expect(await i.run('NOOP')).toEqual(['T OK NOOP completed']);
    i.close();
  });

  it('a rejected command carrying a LITERAL+ literal: the literal is consumed, never run', async () => {
    const i = await Imap.connect(srv.port('imap'));
    const smuggled = 'x2 LOGIN alice@example.test wonderland\r\n';
    i.c.write(`x1 FROB {${smuggled.length}+}\r\n${smuggled}\r\n`);
    expect(await i.c.line()).toMatch(/^x1 BAD /);
    expect(await i.run('SELECT INBOX')).toEqual(['T BAD SELECT not allowed before login']);
    // Too large for the literal limit: refused, and its bytes are skipped as data.
    const big = `x4 LOGIN alice@example.test wonderland\r\n`.repeat(2000);
    i.c.write(`x3 APPEND INBOX {${big.length}+}\r\n${big}\r\n`);
    expect(await i.c.line()).toMatch(/^x3 (NO|BAD) \[TOOBIG\]/);
    expect(await i.run('SELECT INBOX')).toEqual(['T BAD SELECT not allowed before login']);
    i.close();
  });

  it('an unterminated literal or a client that vanishes mid-command leaves the server serving', async () => {
    const i = await Imap.login(srv);
    i.c.write('u1 APPEND INBOX {50}\r\n');
    expect(await i.c.line()).toBe('+ Ready for literal data');
    i.c.write('only a few bytes');
    i.close();
    const j = await Imap.login(srv);
    expect(await j.run('NOOP')).toEqual(['T OK NOOP completed']);
    j.close();
  });

  it('invalid sequence sets and numbers at and past 4294967295', async () => {
    const i = await Imap.login(srv);
    await append(i, 'INBOX', message('seq'));
    await i.cmd('SELECT INBOX');
    expect(await i.run('FETCH 0 FLAGS')).toEqual([expect.stringMatching(/^T BAD /)]);
    expect(await i.run('FETCH 1:x FLAGS')).toEqual([expect.stringMatching(/^T BAD /)]);
    expect(await i.run('FETCH 4294967296 FLAGS')).toEqual([expect.stringMatching(/^T BAD /)]);
    expect(await i.run('FETCH 4294967295 FLAGS')).toEqual([expect.stringMatching(/^T BAD Invalid message sequence number 4294967295/)]);
    expect(await i.run('UID FETCH 4294967295 FLAGS')).toEqual(['T OK UID FETCH completed']);
    expect(await i.run('UID FETCH 4294967295:* UID')).toEqual(['* 1 FETCH (UID 1)', 'T OK UID FETCH completed']);
    expect(await i.run('UID STORE 4294967295 +FLAGS (\\Seen)')).toEqual(['T OK STORE completed']);
    expect(await i.run('UID FETCH 18446744073709551616 UID')).toEqual([expect.stringMatching(/^T BAD /)]);
    expect(await i.run('STORE 1 +FLAGS (\\Bogus)')).toEqual([expect.stringMatching(/^T BAD .*Invalid system flag/)]);
    // 26 keyword letters per Maildir (as Dovecot): the 27th is refused, not silently lost.
    const kws = Array.from({ length: 27 }, (_, k) => `kw${k}`).join(' ');
    expect((await i.run(`STORE 1 +FLAGS.SILENT (${kws})`)).at(-1)).toBe('T NO [LIMIT] Too many keywords in this mailbox (26 at most)');
    // With all 26 letters taken, PERMANENTFLAGS no longer offers \\* (new keywords).
    const perm = (await i.run('SELECT INBOX')).find((l) => l.includes('PERMANENTFLAGS'))!;
    expect(perm).toMatch(/ kw9\)\] Flags permitted$/);
    expect(perm).not.toContain('\\*');
    i.close();
  });

  it('bad mailbox names: .., leading or doubled delimiter, wildcards, invalid modified UTF-7, NUL, escaping the root', async () => {
    const i = await Imap.login(srv);
    const refused = /^T (NO \[CANNOT\]|BAD) /;
    for (const name of ['..', '.Hidden', 'a..b', '*', 'a%', '"a*b"', '&Jjo', '&AGE-', '"../../etc"', '"a/b"', '""']) {
      const r = await i.run(`CREATE ${name}`);
      expect(r, name).toEqual([expect.stringMatching(refused)]);
    }
    const nul = 'bad\0name';
    expect(await i.run(`CREATE {${nul.length}+}\r\n${nul}`)).toEqual([expect.stringMatching(refused)]);
    expect(await i.run('SELECT "../../../etc"')).toEqual([expect.stringMatching(refused)]);
    expect(await i.run('RENAME INBOX ..')).toEqual([expect.stringMatching(refused)]);
    expect(await i.run('LIST "" *')).not.toContainEqual(expect.stringContaining('etc'));
    i.close();
    noErrors();
  });

  it('a client that floods commands without reading makes the server stop reading, not buffer', async () => {
    const i = await Imap.login(srv);
    i.c.socket.pause();
    // Each CAPABILITY answer is several times bigger than the command.
    const batch = 1000;
    const cmd = Buffer.from('c CAPABILITY\r\n'.repeat(batch));
    let written = 0;
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && i.c.socket.writableLength < 512 * 1024) {
      i.c.socket.write(cmd);
      written += batch;
      await new Promise((r) => setImmediate(r));
    }
    // Once the server stops reading, our own send buffer backs up instead of its memory.
    expect(i.c.socket.writableLength).toBeGreaterThanOrEqual(512 * 1024);
    expect(srv.logs.some((l) => l.msg === 'output backlog; input paused')).toBe(true);
    // Reading again lets everything through: every command is answered, nothing lost.
    let oks = 0;
    i.c.socket.resume();
    while (oks < written) {
      const l = await i.c.line(30_000);
      if (l === null) break;
      if (l === 'c OK CAPABILITY completed') oks++;
    }
    expect(oks).toBe(written);
    i.close();
  }, 120_000);

  it('200 connections from one address: the per-address cap answers BYE, the server keeps serving', async () => {
    const socks: net.Socket[] = [];
    const firstLines: Array<Promise<string>> = [];
    for (let k = 0; k < 200; k++) {
      const s = net.connect({ port: srv.port('imap'), host: '127.0.0.1' });
      s.on('error', () => {});
      socks.push(s);
      firstLines.push(
        new Promise((resolve) => {
          let buf = '';
          s.on('data', (d) => {
            buf += d.toString('latin1');
            const n = buf.indexOf('\r\n');
            if (n >= 0) resolve(buf.slice(0, n));
          });
          s.on('close', () => resolve(buf || '(closed)'));
        }),
      );
    }
    const lines = await Promise.all(firstLines);
    const ok = lines.filter((l) => l.startsWith('* OK '));
    const bye = lines.filter((l) => l === '* BYE Too many connections from your address');
    // Connections of earlier tests may still be closing on the server side.
    expect(ok.length).toBeLessThanOrEqual(20);
    expect(ok.length).toBeGreaterThanOrEqual(15);
    expect(ok.length + bye.length).toBe(200);
    for (const s of socks) s.destroy();
    await waitForFreeSlots();
    const i = await Imap.login(srv);
    expect(await i.run('NOOP')).toEqual(['T OK NOOP completed']);
    i.close();
    expect(srv.logs.some((l) => l.msg === 'connection refused: too many from this address')).toBe(true);
  });

  it('too many commands before login end in BYE', async () => {
    await waitForFreeSlots();
    const i = await Imap.connect(srv.port('imap'));
    for (let k = 0; k < 20; k++) await i.cmd('NOOP');
    i.c.send('z NOOP');
    expect(await i.c.line()).toBe('* BYE Too many commands before login');
    expect(await i.c.line()).toBeNull();
    noErrors();
  });
});
