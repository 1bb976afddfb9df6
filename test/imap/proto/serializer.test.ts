// Serializer: exact bytes on the wire.
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  atom,
  continuation,
  list,
  literal,
  mailbox,
  nil,
  nstr,
  num,
  raw,
  serialize,
  str,
  tagged,
  untagged,
  untaggedStatus,
} from '../../../src/imap/proto/serializer.js';
import type { ImapValue, WireChunk } from '../../../src/imap/proto/values.js';

function text(chunks: WireChunk[]): string {
  return chunks.map((c) => (Buffer.isBuffer(c) ? c.toString('utf8') : `<stream ${c.length}>`)).join('');
}
const s = (values: ImapValue[], utf8 = false) => text(serialize(values, { utf8 }));

describe('serializer', () => {
  it('atoms, numbers (incl. bigint), NIL, nested lists, separated by single spaces', () => {
    expect(s([num(12), atom('FETCH'), list([atom('FLAGS'), list([atom('\\Seen'), atom('$Junk')]), atom('UID'), num(4294967295)])])).toBe(
      '12 FETCH (FLAGS (\\Seen $Junk) UID 4294967295)',
    );
    expect(s([atom('MODSEQ'), list([num(18446744073709551615n)])])).toBe('MODSEQ (18446744073709551615)');
    expect(s([list([]), nil, nstr(null), nstr('x')])).toBe('() NIL NIL "x"');
    expect(s([raw('BODY[HEADER.FIELDS (FROM)]<0>'), str('x')])).toBe('BODY[HEADER.FIELDS (FROM)]<0> "x"');
  });

  it('quoted strings escape " and \\; the empty string is ""', () => {
    expect(s([str('a "b" \\c')])).toBe('"a \\"b\\" \\\\c"');
    expect(s([str('')])).toBe('""');
    expect(s([str(Buffer.from('plain'))])).toBe('"plain"');
  });

  it('CR, LF, NUL, other controls and 8-bit bytes make a literal', () => {
    expect(s([str('a\r\nb')])).toBe('{4}\r\na\r\nb');
    expect(s([str(Buffer.from([0x61, 0, 0x62]))])).toBe('{3}\r\na\0b');
    expect(s([str('tab\there')])).toBe('{8}\r\ntab\there');
    expect(s([str('日本')])).toBe('{6}\r\n日本');
    expect(s([str('x'.repeat(1025))])).toBe(`{1025}\r\n${'x'.repeat(1025)}`);
    expect(s([literal(Buffer.from('abc'))])).toBe('{3}\r\nabc');
  });

  it('UTF-8 goes quoted only when UTF8=ACCEPT is on, and only if it is valid UTF-8', () => {
    expect(s([str('日本')], true)).toBe('"日本"');
    const broken = serialize([str(Buffer.from([0x22, 0xc3]))], { utf8: true });
    expect(Buffer.concat(broken as Buffer[])).toEqual(Buffer.from([0x7b, 0x32, 0x7d, 0x0d, 0x0a, 0x22, 0xc3]));
  });

  it('a stream value: the {n} prefix in the bytes, then a chunk to pipe, then the rest', async () => {
    const open = () => Readable.from([Buffer.from('hello')]);
    const chunks = untagged([num(1), atom('FETCH'), list([atom('UID'), num(9), raw('BODY[]'), { t: 'stream', length: 5, open }])]);
    expect(chunks).toHaveLength(3);
    expect(chunks[0]).toEqual(Buffer.from('* 1 FETCH (UID 9 BODY[] {5}\r\n'));
    const mid = chunks[1]!;
    if (Buffer.isBuffer(mid)) throw new Error('expected a stream chunk');
    expect(mid.length).toBe(5);
    let body = '';
    for await (const b of await mid.open()) body += String(b);
    expect(body).toBe('hello');
    expect(chunks[2]).toEqual(Buffer.from(')\r\n'));
  });

  it('mailbox names are written in modified UTF-7', () => {
    expect(s([mailbox('日本語/Tom&Jerry')])).toBe('"&ZeVnLIqe-/Tom&-Jerry"');
    expect(s([mailbox('INBOX')])).toBe('"INBOX"');
  });

  it('status lines: tagged, untagged (no tag), codes, text kept on one line', () => {
    expect(tagged('a1', 'OK', 'LOGIN completed').toString()).toBe('a1 OK LOGIN completed\r\n');
    expect(tagged('a2', 'NO', 'TRYCREATE', 'No such mailbox').toString()).toBe('a2 NO [TRYCREATE] No such mailbox\r\n');
    expect(tagged(null, 'BAD', 'Invalid tag').toString()).toBe('* BAD Invalid tag\r\n');
    expect(tagged('a3', 'BAD', 'x\r\na4 OK injected').toString()).toBe('a3 BAD x a4 OK injected\r\n');
    expect(untaggedStatus('OK', 'UIDVALIDITY 3857529045', 'UIDs valid').toString()).toBe('* OK [UIDVALIDITY 3857529045] UIDs valid\r\n');
    expect(untaggedStatus('BYE', null, 'Logging out').toString()).toBe('* BYE Logging out\r\n');
    expect(continuation().toString()).toBe('+ Ready for literal data\r\n');
    expect(continuation('').toString()).toBe('+ \r\n');
    expect(text(untagged([num(3), atom('EXISTS')]))).toBe('* 3 EXISTS\r\n');
  });

  it('refuses values that would break the line structure', () => {
    expect(() => serialize([atom('a b')])).toThrow(TypeError);
    expect(() => serialize([raw('x\r\ny')])).toThrow(TypeError);
    expect(() => serialize([num(-1)])).toThrow(TypeError);
    expect(() => serialize([num(1.5)])).toThrow(TypeError);
  });
});
