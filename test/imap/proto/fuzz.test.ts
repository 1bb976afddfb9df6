// Fuzz: seeded random and mutated input through receiver + parser. Asserts no exception,
// bounded buffered memory, well-formed events, nothing after a fatal error, and the same
// events whatever the chunking. Deterministic (fixed seeds) and fast.
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { Receiver, type ReceiverEvent, type ReceiverLimits } from '../../../src/imap/proto/receiver.js';
import { mulberry32 } from '../../helpers/fuzz.js';

const LIMITS: ReceiverLimits = { maxLineBytes: 256, maxLiteralBytes: 512, maxArgs: 8 };
const MAX_REQUEST = LIMITS.maxLiteralBytes + 4 * LIMITS.maxLineBytes;
/** Seeds per run; raise it locally (IMAP_FUZZ_SEEDS=50000) for a longer hunt. */
const SEEDS = Number(process.env.IMAP_FUZZ_SEEDS ?? 3000);

const CORPUS = [
  'a LOGIN {3}\r\nbob {2+}\r\npw\r\n',
  'b SELECT "&ZeVnLIqe-"\r\n',
  'c FETCH 1:*,*:3 (FLAGS BODY.PEEK[1.2.HEADER.FIELDS.NOT (X-A "x-b" {3}\r\nx-c)]<0.100>)\r\n',
  'd UID SEARCH CHARSET UTF-8 OR (FROM a NOT SEEN) UID 1:*,5 TEXT {4+}\r\n\xc3\xa4x\r\n',
  'e APPEND INBOX (\\Seen) " 7-Jul-1996 02:44:25 -0700" {5+}\r\nhello\r\n',
  'f IDLE\r\nDONE\r\n',
  'g AUTHENTICATE PLAIN\r\nAGJvYgBwdw==\r\n',
  'h STORE 1 +FLAGS.SILENT (\\Deleted $Junk)\r\n',
  'i ID ("name" "x" "version" NIL)\r\n',
  'j LIST "" %/*\r\n',
  'k STATUS INBOX (MESSAGES UIDNEXT)\r\n',
  'l UID MOVE 4294967295 Trash\r\n',
  'm APPEND INBOX ~{3}\r\na\0b\r\n',
  'n STARTTLS\r\n',
];

const NASTY = ['\0', '\r', '\n', '{', '}', '{0}', '{5}', '{7+}', '~{3}', '{4294967296+}', '{99999999999999999999}', '"', '\\', '(', ')', '[', ']', '*', ' ', '\xff'];

function mutate(r: () => number, input: Buffer): Buffer {
  let b = Buffer.from(input);
  const rounds = 1 + Math.floor(r() * 4);
  for (let k = 0; k < rounds; k++) {
    const at = Math.floor(r() * (b.length + 1));
    const op = Math.floor(r() * 6);
    if (op === 0 && b.length > 0) b[Math.min(at, b.length - 1)] = Math.floor(r() * 256);
    else if (op === 1) b = Buffer.concat([b.subarray(0, at), Buffer.from(NASTY[Math.floor(r() * NASTY.length)]!, 'latin1'), b.subarray(at)]);
    else if (op === 2) b = b.subarray(0, at); // truncated
    else if (op === 3) b = Buffer.concat([b, b.subarray(at)]);
    else if (op === 4) b = Buffer.concat([b.subarray(0, at), Buffer.from(`{${Math.floor(r() * 1200)}${r() < 0.5 ? '+' : ''}}\r\n`), b.subarray(at)]);
    else b = Buffer.concat([b.subarray(0, at), Buffer.from('x'.repeat(Math.floor(r() * 600))), b.subarray(at)]);
  }
  return b;
}

function garbage(r: () => number): Buffer {
  const n = Math.floor(r() * 800);
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = r() < 0.1 ? 0x0a : Math.floor(r() * 256);
  return b;
}

const TAG = /^[\x21-\x7e]+$/;
const BREAK = /[\r\n\0]/;

/** Why an event is malformed, or null. (Plain checks: expect() per event would dominate the run time.) */
function malformed(e: ReceiverEvent): string | null {
  switch (e.type) {
    case 'request': {
      const q = e.request;
      if (q.tag !== null && !TAG.test(q.tag)) return 'bad tag';
      if (q.ok) return typeof q.command.name === 'string' ? null : 'no command name';
      // The text goes into a BAD reply: it must be one short line.
      if (q.error.length === 0 || q.error.length >= 200 || BREAK.test(q.error)) return 'bad error text';
      return null;
    }
    case 'continue':
      return TAG.test(e.tag) ? null : 'bad continuation tag';
    case 'line':
      return e.line.includes(0x0a) || e.line.length > LIMITS.maxLineBytes + 1 ? 'bad raw line' : null;
    case 'error':
      if (e.tag !== null && !TAG.test(e.tag)) return 'bad tag';
      if (e.text.length === 0 || BREAK.test(e.text) || typeof e.fatal !== 'boolean') return 'bad error';
      return null;
    default:
      return 'unknown event type';
  }
}

/** Feed as a session would; check memory and event shapes after every push. */
function run(input: Buffer, chunkSizes: () => number): ReceiverEvent[] {
  const r = new Receiver(LIMITS);
  const out: ReceiverEvent[] = [];
  let fatal = false;
  const take = (events: ReceiverEvent[], chunk: number) => {
    if (fatal && events.length > 0) throw new Error(`events after a fatal error: ${JSON.stringify(events)}`);
    for (const e of events) {
      const why = malformed(e);
      if (why) throw new Error(`${why}: ${JSON.stringify(e)} for ${JSON.stringify(input.toString('latin1'))}`);
      out.push(e);
      if (e.type === 'error' && e.fatal) fatal = true;
    }
    const bound = LIMITS.maxLineBytes + 1 + LIMITS.maxLiteralBytes + MAX_REQUEST + 112 + chunk;
    if (r.bufferedBytes > bound) throw new Error(`buffered ${r.bufferedBytes} > ${bound}`);
  };
  for (let i = 0; i < input.length; ) {
    const n = chunkSizes();
    take(r.push(input.subarray(i, i + n)), n);
    i += n;
    while (r.isPaused) {
      const last = out[out.length - 1];
      if (last?.type === 'request' && last.request.ok && ['IDLE', 'AUTHENTICATE'].includes(last.request.command.name)) r.expectRawLine();
      take(r.push(Buffer.alloc(0)), input.length);
    }
  }
  return out;
}

describe('receiver + parser fuzz', () => {
  it('mutated commands and garbage: no exception, bounded memory, well-formed events, chunking-independent', () => {
    let events = 0;
    for (let seed = 1; seed <= SEEDS; seed++) {
      const r = mulberry32(seed);
      const parts: Buffer[] = [];
      const n = 1 + Math.floor(r() * 4);
      for (let k = 0; k < n; k++) {
        const base = Buffer.from(CORPUS[Math.floor(r() * CORPUS.length)]!, 'latin1');
        parts.push(r() < 0.15 ? garbage(r) : r() < 0.8 ? mutate(r, base) : base);
      }
      const input = Buffer.concat(parts);
      const whole = run(input, () => input.length || 1);
      const cr = mulberry32(seed * 7919);
      const chunked = run(input, () => 1 + Math.floor(cr() * 40));
      if (!isDeepStrictEqual(chunked, whole)) expect(chunked, `seed ${seed}`).toEqual(whole);
      events += whole.length;
    }
    expect(events).toBeGreaterThan(SEEDS); // the corpus does produce events, not just silence
  });

  it('token soup: random command words and grammar tokens reach deep parser paths without a throw', () => {
    const words = ['FETCH', 'UID', 'SEARCH', 'STORE', 'APPEND', 'LIST', 'STATUS', 'ID', 'LOGIN', 'AUTHENTICATE', 'ENABLE', 'COPY', 'MOVE', 'SELECT', 'RENAME', 'CREATE', 'LSUB', 'GETQUOTAROOT', 'GETQUOTA', 'SETQUOTA'];
    const toks = [
      'BODY[', 'BODY.PEEK[', 'BINARY[', 'BINARY.SIZE[', ']', '<', '>', '.', '0', '1', '4294967295', '4294967296', '*', ':', ',', '(', ')', 'HEADER',
      'HEADER.FIELDS', 'HEADER.FIELDS.NOT', 'MIME', 'TEXT', 'NOT', 'OR', 'CHARSET', 'UTF-8', 'FROM', 'SINCE', '1-Jan-2020', 'FLAGS', '+FLAGS.SILENT',
      '\\Seen', '\\', 'NIL', '""', '"a\\"b"', '{3+}\r\nabc', '{0}\r\n', '~{1}\r\nx', 'RETURN', 'SPECIAL-USE', '%', '&-', '&Jjo-', 'INBOX',
      '" 7-Jul-1996 02:44:25 -0700"', 'ALL', 'FAST', 'UNSEEN', 'LARGER', '$', '=', 'AGJvYg==', ' ', '  ',
      // Part 2 grammar: LIST-EXTENDED/LIST-STATUS, CREATE-SPECIAL-USE, ESEARCH, QUOTA, APPEND UTF8.
      'SUBSCRIBED', 'RECURSIVEMATCH', 'REMOTE', 'CHILDREN', 'STATUS', 'SIZE', 'APPENDLIMIT', 'USE', '\\Archive', 'MIN', 'MAX', 'COUNT', 'STORAGE', 'UTF8', 'UTF8=ACCEPT',
    ];
    for (let seed = 1; seed <= SEEDS; seed++) {
      const r = mulberry32(seed + 100000);
      let line = `t${seed} ${words[Math.floor(r() * words.length)]}`;
      const n = Math.floor(r() * 14);
      for (let k = 0; k < n; k++) line += (r() < 0.6 ? ' ' : '') + toks[Math.floor(r() * toks.length)];
      const events = run(Buffer.from(`${line}\r\n`, 'latin1'), () => 1 << 16);
      if (events.length === 0 && !/\{\d+\+?\}\r\n$|~\{\d+\}\r\n$/.test(line)) throw new Error(`no event for ${JSON.stringify(line)}`);
    }
  });

  it('a long stream without line ends stays within the line cap', () => {
    const r = new Receiver(LIMITS);
    const chunk = Buffer.alloc(4096, 0x41);
    for (let i = 0; i < 256; i++) {
      expect(r.push(chunk)).toEqual([]);
      expect(r.bufferedBytes).toBeLessThanOrEqual(LIMITS.maxLineBytes + 1 + 112);
    }
    expect(r.push(Buffer.from('\r\nz NOOP\r\n'))).toEqual([
      { type: 'error', tag: null, code: 'TOOBIG', text: 'Command line too long', fatal: false },
      { type: 'request', request: { tag: 'z', ok: true, command: { name: 'NOOP' } } },
    ]);
  });
});
