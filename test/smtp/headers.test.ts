// The pure helpers of the submission intake, replayed at every chunk size from 1 to 64
// bytes: the line-ending normaliser (smuggling defence) and the header parser.
import { describe, expect, it } from 'vitest';
import { headerAddresses, headerEnd, LineEndNormalizer, parseHeaderFields } from '../../src/smtp/headers.js';

function normalise(input: Buffer, size: number): { out: string; nul: boolean; bare: boolean } {
  const n = new LineEndNormalizer();
  const parts: Buffer[] = [];
  for (let i = 0; i < input.length; i += size) parts.push(n.push(input.subarray(i, i + size)));
  parts.push(n.end());
  return { out: Buffer.concat(parts).toString('latin1'), nul: n.sawNul, bare: n.sawBareEol };
}

const cases: Array<[string, string, boolean]> = [
  ['a\r\nb\r\n', 'a\r\nb\r\n', false],
  ['a\nb\n', 'a\r\nb\r\n', true],
  ['a\rb\r', 'a\r\nb\r\n', true],
  ['x\n.\ny\r\n', 'x\r\n.\r\ny\r\n', true],
  ['x\r.\ry\r\n', 'x\r\n.\r\ny\r\n', true],
  ['x\n.\r\ny\r\n', 'x\r\n.\r\ny\r\n', true],
  ['x\r\n.\ny\r\n', 'x\r\n.\r\ny\r\n', true],
  ['x\r\r\ny', 'x\r\n\r\ny', true],
  ['\r', '\r\n', true],
  ['\r\n\r\n', '\r\n\r\n', false],
  ['', '', false],
];

describe('LineEndNormalizer', () => {
  it.each(cases)('%j → %j at every chunk size', (input, expected, bare) => {
    for (let size = 1; size <= 64; size++) {
      const r = normalise(Buffer.from(input, 'latin1'), size);
      expect(r.out, `chunk size ${size}`).toBe(expected);
      expect(r.bare).toBe(bare);
      expect(r.nul).toBe(false);
    }
  });

  it('notes NUL without dropping it, in chunks with and without line ends', () => {
    for (let size = 1; size <= 8; size++) {
      const r = normalise(Buffer.from('ab\r\nc\0d\r\n', 'latin1'), size);
      expect(r.nul, `chunk size ${size}`).toBe(true);
      expect(r.out).toBe('ab\r\nc\0d\r\n');
    }
  });

  it('leaves no bare CR or LF in random input', () => {
    let x = 12345;
    const rnd = () => ((x = (x * 1103515245 + 12345) & 0x7fffffff), x);
    const alphabet = ['\r', '\n', '.', 'a', '\r\n'];
    for (let t = 0; t < 200; t++) {
      const input = Array.from({ length: 40 }, () => alphabet[rnd() % alphabet.length]).join('');
      const out = normalise(Buffer.from(input, 'latin1'), 1 + (rnd() % 7)).out;
      expect(out.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
    }
  });
});

describe('header helpers', () => {
  it('finds the end of the header section', () => {
    expect(headerEnd(Buffer.from('A: b\r\n\r\nbody'))).toBe(8);
    expect(headerEnd(Buffer.from('\r\nbody'))).toBe(2);
    expect(headerEnd(Buffer.from('A: b\r\n'))).toBe(-1);
  });

  it('unfolds fields and reads From: addresses, group syntax and encoded names included', () => {
    const f = parseHeaderFields(Buffer.from('From: =?utf-8?q?J=C3=BCrgen?= <j@example.org>,\r\n\t"Doe, J" <d@example.org>\r\nSubject: a\r\n b\r\n\r\n'));
    expect(f.map((x) => x.name)).toEqual(['from', 'subject']);
    expect(f[1]!.value).toBe('a b');
    expect(headerAddresses(f[0]!.value)).toEqual(['j@example.org', 'd@example.org']);
    expect(headerAddresses('undisclosed:;')).toEqual([]);
    expect(headerAddresses('team: a@x.test, b@x.test;')).toEqual(['a@x.test', 'b@x.test']);
  });
});
