// Pure POP3 protocol pieces: the line receiver and the multi-line encoder give the same
// output whatever the chunking (every size 1..64), the command grammar on a table, and a
// fuzz pass that asserts nothing throws.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { LineReceiver, type ReceivedLine } from '../../src/pop3/proto/receiver.js';
import { parseCommand } from '../../src/pop3/proto/command.js';
import { MultilineEncoder } from '../../src/pop3/proto/encoder.js';
import { uidlOf } from '../../src/pop3/proto/uidl.js';

function chunks(buf: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) out.push(buf.subarray(i, i + size));
  return out;
}

function receive(input: Buffer, size: number, max = 16): Array<string | null> {
  const r = new LineReceiver(max);
  const out: ReceivedLine[] = [];
  for (const c of chunks(input, size)) out.push(...r.push(c));
  return out.map((l) => (l.kind === 'line' ? l.text : null)); // null = overlong
}

describe('LineReceiver', () => {
  const cases: Array<[string, string, Array<string | null>]> = [
    ['CRLF lines', 'USER a\r\nPASS b c\r\n', ['USER a', 'PASS b c']],
    ['bare LF accepted', 'STAT\nLIST\r\n', ['STAT', 'LIST']],
    ['unfinished line held back', 'QUIT\r\nRE', ['QUIT']],
    ['empty line', '\r\nNOOP\r\n', ['', 'NOOP']],
    ['exactly at the limit (16) passes', `${'x'.repeat(16)}\r\nSTAT\r\n`, ['x'.repeat(16), 'STAT']],
    ['one over the limit is refused, the next line is fine', `${'x'.repeat(17)}\r\nSTAT\r\n`, [null, 'STAT']],
    ['a very long line is one refusal', `${'y'.repeat(500)}\r\nNOOP\r\n`, [null, 'NOOP']],
    ['UTF-8 text', 'USER j\u00f6rg\r\n', ['USER j\u00f6rg']],
  ];
  for (const [name, input, want] of cases) {
    it(`${name} (chunk sizes 1..64)`, () => {
      for (let size = 1; size <= 64; size++) expect(receive(Buffer.from(input), size), `chunk ${size}`).toEqual(want);
    });
  }

  it('reset drops what was buffered (STLS discards pipelined plaintext)', () => {
    const r = new LineReceiver(100);
    expect(r.push(Buffer.from('STLS\r\nUSER evil'))).toEqual([{ kind: 'line', text: 'STLS' }]);
    r.reset();
    expect(r.push(Buffer.from('CAPA\r\n'))).toEqual([{ kind: 'line', text: 'CAPA' }]);
  });
});

describe('parseCommand', () => {
  const ok: Array<[string, unknown]> = [
    ['user alice@example.test', { name: 'USER', user: 'alice@example.test' }],
    ['PASS with spaces  inside', { name: 'PASS', password: 'with spaces  inside' }],
    ['STAT', { name: 'STAT' }],
    ['list', { name: 'LIST' }],
    ['LIST 3', { name: 'LIST', msg: 3 }],
    ['UIDL 12', { name: 'UIDL', msg: 12 }],
    ['RETR 1', { name: 'RETR', msg: 1 }],
    ['RETR 0', { name: 'RETR', msg: 0 }],
    ['Top 2 0', { name: 'TOP', msg: 2, lines: 0 }],
    ['DELE 7', { name: 'DELE', msg: 7 }],
    ['AUTH', { name: 'AUTH' }],
    ['AUTH plain', { name: 'AUTH', mechanism: 'PLAIN' }],
    ['AUTH PLAIN AGFsaWNlAHNlY3JldA==', { name: 'AUTH', mechanism: 'PLAIN', initialResponse: 'AGFsaWNlAHNlY3JldA==' }],
    ['CAPA', { name: 'CAPA' }],
    ['STLS', { name: 'STLS' }],
    ['QUIT', { name: 'QUIT' }],
  ];
  for (const [line, command] of ok) it(`parses ${JSON.stringify(line)}`, () => expect(parseCommand(line)).toEqual({ ok: true, command }));

  const bad: Array<[string, 'unknown' | 'syntax']> = [
    ['APOP alice 1234', 'unknown'],
    ['XYZZY', 'unknown'],
    ['', 'unknown'],
    ['RETR', 'syntax'],
    ['RETR x', 'syntax'],
    ['RETR -1', 'syntax'],
    ['RETR 1 2', 'syntax'],
    ['RETR 1e3', 'syntax'],
    ['RETR 99999999999', 'syntax'],
    ['TOP 1', 'syntax'],
    ['TOP 1 -2', 'syntax'],
    ['STAT 1', 'syntax'],
    ['USER', 'syntax'],
    ['PASS', 'syntax'],
    ['LIST a', 'syntax'],
    ['AUTH PLAIN a b', 'syntax'],
  ];
  for (const [line, error] of bad) {
    it(`refuses ${JSON.stringify(line)} as ${error}`, () => expect(parseCommand(line)).toMatchObject({ ok: false, error }));
  }

  it('never echoes a long or binary verb back whole', () => {
    const r = parseCommand('\u0000\u0001' + 'A'.repeat(300));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.verb.length).toBeLessThanOrEqual(16);
  });
});

function encode(input: Buffer, size: number, bodyLines?: number): string {
  const e = new MultilineEncoder(bodyLines);
  const out: Buffer[] = [];
  for (const c of chunks(input, size)) {
    out.push(e.push(c));
    if (e.done) break;
  }
  out.push(e.end());
  return Buffer.concat(out).toString('latin1');
}

describe('MultilineEncoder', () => {
  const msg = 'Subject: x\n.hidden: header\n\nline 1\n.dot line\n..two dots\nline 4\n.\nlast';
  const cases: Array<[string, string, number | undefined, string]> = [
    ['LF to CRLF, byte-stuffing, unterminated last line closed', msg, undefined,
      'Subject: x\r\n..hidden: header\r\n\r\nline 1\r\n..dot line\r\n...two dots\r\nline 4\r\n..\r\nlast\r\n'],
    ['CRLF input kept as is', 'A: b\r\n\r\n.x\r\ny\r\n', undefined, 'A: b\r\n\r\n..x\r\ny\r\n'],
    ['TOP 0: header and the blank line', msg, 0, 'Subject: x\r\n..hidden: header\r\n\r\n'],
    ['TOP 2', msg, 2, 'Subject: x\r\n..hidden: header\r\n\r\nline 1\r\n..dot line\r\n'],
    ['TOP with more lines than the body has', 'A: b\n\nonly\n', 10, 'A: b\r\n\r\nonly\r\n'],
    ['TOP on CRLF input', 'A: b\r\n\r\n1\r\n2\r\n3\r\n', 1, 'A: b\r\n\r\n1\r\n'],
    ['bare CR inside a line is left alone', 'A: b\n\nx\ry\n', undefined, 'A: b\r\n\r\nx\ry\r\n'],
    ['trailing CR completed', 'A: b\n\nx\r', undefined, 'A: b\r\n\r\nx\r\n'],
    ['empty message', '', undefined, ''],
  ];
  for (const [name, input, lines, want] of cases) {
    it(`${name} (chunk sizes 1..64)`, () => {
      for (let size = 1; size <= 64; size++) expect(encode(Buffer.from(input, 'latin1'), size, lines), `chunk ${size}`).toBe(want);
    });
  }

  it('survives random bytes at random chunkings (fuzz) and always ends on CRLF', () => {
    for (let i = 0; i < 300; i++) {
      const input = randomBytes(1 + (i % 200));
      const a = encode(input, 1 + (i % 64));
      const b = encode(input, 7);
      expect(a).toBe(b);
      expect(a.endsWith('\r\n')).toBe(true);
      // No line of the output is a lone "." (that would end the transfer early).
      expect(a.split('\r\n').slice(0, -1)).not.toContain('.');
    }
  });
});

describe('UIDL', () => {
  it('is Dovecot\'s %08Xu%08Xv: lower-case hex UID then UIDVALIDITY', () => {
    expect(uidlOf(1, 1700000000)).toBe('000000016553f100');
    expect(uidlOf(0xabcdef, 0xffffffff)).toBe('00abcdefffffffff');
  });
});

describe('fuzz: parser and receiver never throw', () => {
  it('handles 2000 random lines', () => {
    const r = new LineReceiver(64);
    for (let i = 0; i < 2000; i++) {
      for (const l of r.push(randomBytes(1 + (i % 90)))) if (l.kind === 'line') parseCommand(l.text);
    }
  });
});
