// Receiver: literals, limits, smuggling, raw lines and pausing. Each input is replayed at
// chunk sizes 1..512 (replay.ts) so the state machine is checked at every split point.
import { describe, expect, it } from 'vitest';
import { Receiver, type ReceiverLimits } from '../../../src/imap/proto/receiver.js';
import { feed, replay } from './replay.js';

const SMALL: ReceiverLimits = { maxLineBytes: 100, maxLiteralBytes: 100 };

const tooBig = (tag: string | null, text: string, fatal = false) => ({ type: 'error', tag, code: 'TOOBIG', text, fatal });
const noop = (tag: string) => ({ type: 'request', request: { tag, ok: true, command: { name: 'NOOP' } } });

describe('Receiver', () => {
  it('an overlong line is answered and skipped without buffering it; the next command runs', () => {
    const input = `a NOOP ${'x'.repeat(5000)}\r\nb NOOP\r\n`;
    expect(replay(input, SMALL)).toEqual([tooBig('a', 'Command line too long'), noop('b')]);
    const r = new Receiver(SMALL);
    let peak = 0;
    for (let i = 0; i < input.length; i += 7) {
      r.push(Buffer.from(input.slice(i, i + 7)));
      peak = Math.max(peak, r.bufferedBytes);
    }
    expect(peak).toBeLessThanOrEqual(SMALL.maxLineBytes + 1 + 80 + 32 + 7);
  });

  it('a line of exactly maxLineBytes is accepted, one more byte is not', () => {
    const line = (n: number) => `a NOOP${' '.repeat(n - 6)}`;
    expect(replay(`${line(100)}\r\n`, SMALL)[0]).toMatchObject({ type: 'request', request: { ok: false } });
    expect(replay(`${line(101)}\r\n`, SMALL)).toEqual([tooBig('a', 'Command line too long')]);
    expect(replay(`${line(100)}\n`, SMALL)[0]).toMatchObject({ type: 'request', request: { ok: false } });
    expect(replay(`${line(101)}\n`, SMALL)).toEqual([tooBig('a', 'Command line too long')]);
  });

  it('an overlong line ending in a LITERAL+ announcement still has its literal consumed as data', () => {
    const smuggled = 'b LOGOUT\r\nc CREATE x'; // 20 bytes that must never run
    const input = `a LOGIN ${'x'.repeat(500)} {20+}\r\n${smuggled}\r\nd NOOP\r\n`;
    expect(replay(input, SMALL)).toEqual([tooBig('a', 'Command line too long'), noop('d')]);
    // The limit is crossed within the announcement itself: at some chunk sizes the crossing
    // piece holds only its last bytes (a fuzz finding).
    const near = `a LOGIN ${'x'.repeat(89)} {20+}\r\n${smuggled}\r\nd NOOP\r\n`;
    expect(replay(near, SMALL)).toEqual([tooBig('a', 'Command line too long'), noop('d')]);
  });

  it('an overlong line whose literal announcement cannot be read whole is fatal, not run', () => {
    const input = `a LOGIN ${'x'.repeat(500)} {${'0'.repeat(40)}10+}\r\nb LOGOUT\r\n\r\nc NOOP\r\n`;
    expect(replay(input, SMALL)).toEqual([tooBig('a', 'Literal too large', true)]);
    // Leading zeros in a line within limits are just a number.
    expect(replay(`a LOGIN {${'0'.repeat(40)}3+}\r\nbob pw\r\n`, SMALL)).toEqual([
      { type: 'request', request: { tag: 'a', ok: true, command: { name: 'LOGIN', username: 'bob', password: 'pw' } } },
    ]);
  });

  it('a synchronising literal over the limit is refused before it is sent; no continuation', () => {
    expect(replay('a APPEND INBOX {101}\r\nb NOOP\r\n', SMALL)).toEqual([tooBig('a', 'Literal too large'), noop('b')]);
    expect(replay('a APPEND INBOX {100}\r\n', SMALL)).toEqual([{ type: 'continue', tag: 'a' }]);
  });

  it('only APPEND may carry a message-sized literal; other commands get the smaller cap', () => {
    const lim: ReceiverLimits = { maxLineBytes: 100, maxLiteralBytes: 1000, maxCommandLiteralBytes: 10 };
    expect(replay('a LOGIN {11}\r\nb NOOP\r\n', lim)).toEqual([tooBig('a', 'Literal too large'), noop('b')]);
    expect(replay('a LOGIN {10}\r\n', lim)).toEqual([{ type: 'continue', tag: 'a' }]);
    expect(replay('a append INBOX {1000}\r\n', lim)).toEqual([{ type: 'continue', tag: 'a' }]);
    expect(replay('a APPEND INBOX {1001}\r\n', lim)).toEqual([tooBig('a', 'Literal too large')]);
    // The default for other commands is min(maxLiteralBytes, 1 MiB).
    const big: ReceiverLimits = { maxLineBytes: 100, maxLiteralBytes: 4 << 20 };
    expect(replay(`a SEARCH TEXT {${(1 << 20) + 1}}\r\n`, big)).toEqual([tooBig('a', 'Literal too large')]);
    expect(replay(`a APPEND INBOX {${4 << 20}}\r\n`, big)).toEqual([{ type: 'continue', tag: 'a' }]);
  });

  it('a LITERAL+ literal over the limit is counted down, never run, then refused', () => {
    const body = `x LOGOUT\r\n${'y'.repeat(140)}`; // 150 bytes
    expect(replay(`a APPEND INBOX {150+}\r\n${body}\r\nb NOOP\r\n`, SMALL)).toEqual([tooBig('a', 'Literal too large'), noop('b')]);
    const r = new Receiver(SMALL);
    r.push(Buffer.from('a APPEND INBOX {150+}\r\n'));
    r.push(Buffer.from(body));
    expect(r.bufferedBytes).toBe(0); // skipped bytes are not kept
  });

  it('an absurd LITERAL+ announcement is fatal and the receiver then ignores everything', () => {
    const r = new Receiver(SMALL);
    expect(r.push(Buffer.from('a APPEND INBOX {99999999999999999999+}\r\nb NOOP\r\n'))).toEqual([tooBig('a', 'Literal too large', true)]);
    expect(r.push(Buffer.from('c NOOP\r\n'))).toEqual([]);
    expect(feed(Buffer.from('a APPEND INBOX {201+}\r\n'), 3, SMALL)).toEqual([tooBig('a', 'Literal too large', true)]);
    expect(feed(Buffer.from(`a APPEND INBOX {200+}\r\n${'z'.repeat(200)}\r\nb NOOP\r\n`), 3, SMALL)).toEqual([tooBig('a', 'Literal too large'), noop('b')]);
  });

  it('a malformed command announcing LITERAL+ literals: their bytes are data, never commands', () => {
    const input = 'a FOO {10+}\r\nb LOGOUT\r\n {12+}\r\nc DELETE x\r\n\r\nd NOOP\r\n';
    expect(replay(input)).toEqual([{ type: 'request', request: { tag: 'a', ok: false, error: 'Unknown command FOO' } }, noop('d')]);
  });

  it('NUL in a command line is BAD; announced literals after it are still skipped', () => {
    const nul = (tag: string) => ({ type: 'error', tag, code: 'PARSE', text: 'NUL in command line', fatal: false });
    expect(replay('a NO\0OP\r\nb NOOP\r\n')).toEqual([nul('a'), noop('b')]);
    expect(replay('a LOGIN \0 {10+}\r\nb LOGOUT\r\n\r\nc NOOP\r\n')).toEqual([nul('a'), noop('c')]);
    // A synchronising literal after the NUL: answered at once, the client will not send it.
    expect(replay('a LOGIN \0 {3}\r\n')).toEqual([nul('a')]);
  });

  it('a CR without LF stays in the line and makes it BAD', () => {
    expect(replay('a NO\rOP\r\nb NOOP\r\n')).toEqual([
      { type: 'request', request: { tag: 'a', ok: false, error: 'Unknown command NO' } },
      noop('b'),
    ]);
  });

  it('caps literals per request (maxArgs) and bytes per request (maxRequestBytes)', () => {
    const lim: ReceiverLimits = { ...SMALL, maxArgs: 2, maxRequestBytes: 150 };
    expect(replay('a LOGIN {1+}\r\na {1+}\r\nb {1+}\r\nc\r\nb NOOP\r\n', lim)).toEqual([tooBig('a', 'Too many literals'), noop('b')]);
    expect(replay(`a LOGIN {90+}\r\n${'u'.repeat(90)} {90+}\r\n${'p'.repeat(90)}\r\nb NOOP\r\n`, lim)).toEqual([
      tooBig('a', 'Command too long'),
      noop('b'),
    ]);
  });

  it('maxArgs also caps atoms and strings in the parsed command; sequence sets count as one', () => {
    const lim: ReceiverLimits = { maxLineBytes: 65536, maxLiteralBytes: 100, maxArgs: 16 };
    const flags = Array.from({ length: 20 }, (_, i) => `k${i}`).join(' ');
    expect(replay(`a STORE 1 +FLAGS (${flags})\r\n`, lim)).toEqual([
      { type: 'request', request: { tag: 'a', ok: false, error: 'Error in IMAP command STORE: Too many arguments' } },
    ]);
    const set = Array.from({ length: 2000 }, (_, i) => 2 * i + 1).join(',');
    // (fed whole: replaying 10 KB at 512 chunk sizes adds nothing the other rows do not cover)
    const long = Buffer.from(`a UID STORE ${set} +FLAGS (\\Seen)\r\n`);
    expect(feed(long, long.length, lim)[0]).toMatchObject({ type: 'request', request: { ok: true } });
  });

  it('a synchronising literal: continuation first, then the request once its bytes arrive', () => {
    const r = new Receiver(SMALL);
    expect(r.push(Buffer.from('a LOGIN {3}\r\n'))).toEqual([{ type: 'continue', tag: 'a' }]);
    expect(r.push(Buffer.from('bob {0}\r\n'))).toEqual([{ type: 'continue', tag: 'a' }]);
    expect(r.push(Buffer.from('\r\n'))).toEqual([{ type: 'request', request: { tag: 'a', ok: true, command: { name: 'LOGIN', username: 'bob', password: '' } } }]);
  });

  it('IDLE pauses the receiver; DONE comes out as a raw line, then commands again', () => {
    const r = new Receiver(SMALL);
    const ev = r.push(Buffer.from('a IDLE\r\nDONE\r\nb NOOP\r\n'));
    expect(ev).toEqual([{ type: 'request', request: { tag: 'a', ok: true, command: { name: 'IDLE' } } }]);
    expect(r.isPaused).toBe(true);
    expect(r.bufferedBytes).toBe('DONE\r\nb NOOP\r\n'.length);
    r.expectRawLine();
    expect(r.push(Buffer.alloc(0))).toEqual([{ type: 'line', line: Buffer.from('DONE') }, noop('b')]);
  });

  it('AUTHENTICATE: raw SASL lines, literal-looking text included; an overlong one is refused', () => {
    const r = new Receiver(SMALL);
    expect(r.push(Buffer.from('a AUTHENTICATE PLAIN\r\n'))).toHaveLength(1);
    r.expectRawLine();
    expect(r.push(Buffer.from('AGJvYgBw {5}\r\n'))).toEqual([{ type: 'line', line: Buffer.from('AGJvYgBw {5}') }]);
    expect(r.push(Buffer.from('b AUTHENTICATE PLAIN\r\n'))).toHaveLength(1);
    r.expectRawLine();
    expect(r.push(Buffer.from(`${'A'.repeat(300)}\r\nc NOOP\r\n`))).toEqual([tooBig(null, 'Line too long'), noop('c')]);
  });

  it('AUTHENTICATE refused at once: the session just pushes on and commands continue', () => {
    const r = new Receiver(SMALL);
    expect(r.push(Buffer.from('a AUTHENTICATE FOO\r\nb NOOP\r\n'))).toHaveLength(1);
    expect(r.push(Buffer.alloc(0))).toEqual([noop('b')]);
  });

  it('STARTTLS: plaintext pipelined after it stays buffered, so the session can see and drop it', () => {
    const r = new Receiver(SMALL);
    expect(r.push(Buffer.from('a STARTTLS\r\nb LOGIN x y\r\n'))).toEqual([
      { type: 'request', request: { tag: 'a', ok: true, command: { name: 'STARTTLS' } } },
    ]);
    expect(r.bufferedBytes).toBe('b LOGIN x y\r\n'.length);
  });

  it('empty lines between commands are ignored', () => {
    expect(replay('\r\n\n\r\na NOOP\r\n\r\n', SMALL)).toEqual([noop('a')]);
  });
});
