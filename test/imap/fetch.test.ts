// buildFetchItems on its own: item names, partial ranges, exact stream lengths, what needs
// the file, \Seen rules, and raw 8-bit header bytes kept as bytes.
import { describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { buildFetchItems, formatInternalDate, impliesSeen, needsContent, type MessageLoader } from '../../src/imap/fetch.js';
import type { FetchAttr } from '../../src/imap/proto/types.js';
import type { ImapValue } from '../../src/imap/proto/values.js';
import { scanBuffer } from '../../src/mime/scanner.js';
import { crlfForm, loadFixtures } from '../mime/fixtures.js';

const nested = loadFixtures().find((f) => f.name === 'nested.eml')!.stored;
const sjis = loadFixtures().find((f) => f.name === 'sjis-8bit.eml')!.stored;
const msg = { seq: 3, uid: 42, flags: ['\\Seen', '$Work'], internalDate: new Date('2026-11-22T10:00:00Z'), size: crlfForm(nested).length };

function loader(stored: Buffer, counts = { open: 0, structure: 0 }): MessageLoader {
  return {
    open: async () => {
      counts.open++;
      return Readable.from([stored.subarray(0, 5), stored.subarray(5)]);
    },
    structure: async () => {
      counts.structure++;
      return scanBuffer(stored);
    },
  };
}

async function bytes(v: ImapValue): Promise<Buffer> {
  if (v.t === 'stream') {
    const chunks: Buffer[] = [];
    for await (const c of await v.open()) chunks.push(c as Buffer);
    const b = Buffer.concat(chunks);
    expect(b.length).toBe(v.length); // the literal's announced length is what is sent
    return b;
  }
  if (v.t === 'string' || v.t === 'literal') return Buffer.from(v.v);
  throw new Error(`not a body value: ${v.t}`);
}

const body = (label: string, part: number[], text?: 'HEADER' | 'TEXT' | 'MIME', partial?: { origin: number; count: number }): FetchAttr => ({
  kind: 'BODY[]',
  peek: true,
  section: { part, text },
  label,
  partial,
});

describe('buildFetchItems', () => {
  it('metadata items never touch the file', async () => {
    const counts = { open: 0, structure: 0 };
    const attrs: FetchAttr[] = [{ kind: 'UID' }, { kind: 'FLAGS' }, { kind: 'INTERNALDATE' }, { kind: 'RFC822.SIZE' }];
    const items = await buildFetchItems(attrs, msg, loader(nested, counts));
    expect(counts).toEqual({ open: 0, structure: 0 });
    expect(needsContent(attrs)).toBe(false);
    expect(items.slice(0, 4)).toEqual([
      { t: 'atom', v: 'UID' },
      { t: 'number', v: 42 },
      { t: 'atom', v: 'FLAGS' },
      { t: 'list', v: [{ t: 'atom', v: '\\Seen' }, { t: 'atom', v: '$Work' }] },
    ]);
    expect(items[7]).toEqual({ t: 'number', v: msg.size });
  });

  it('INTERNALDATE is RFC 3501 date-time in the server zone', () => {
    const s = formatInternalDate(msg.internalDate);
    expect(s).toMatch(/^\d{2}-(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)-\d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}$/);
    const off = -msg.internalDate.getTimezoneOffset();
    const back = new Date(`${s.slice(7, 11)}-11-${s.slice(0, 2)}T${s.slice(12, 20)}Z`).getTime() - off * 60_000;
    expect(back).toBe(msg.internalDate.getTime());
  });

  it('partials: item named BODY[section]<origin>, at most count bytes, empty past the end', async () => {
    const crlf = crlfForm(nested);
    const root = scanBuffer(nested);
    const items = await buildFetchItems(
      [body('TEXT', [], 'TEXT', { origin: 4, count: 10 }), body('', [], undefined, { origin: 100, count: 1_000_000 }), body('1.1', [1, 1], undefined, { origin: 1_000_000, count: 5 })],
      msg,
      loader(nested),
    );
    expect(items[0]).toEqual({ t: 'raw', v: 'BODY[TEXT]<4>' });
    expect((await bytes(items[1]!)).equals(crlf.subarray(root.bodyStart + 4, root.bodyStart + 14))).toBe(true);
    expect(items[2]).toEqual({ t: 'raw', v: 'BODY[]<100>' });
    expect((await bytes(items[3]!)).equals(crlf.subarray(100))).toBe(true);
    expect(items[4]).toEqual({ t: 'raw', v: 'BODY[1.1]<1000000>' });
    expect(items[5]).toEqual({ t: 'string', v: '' });
  });

  it('RFC822, RFC822.HEADER, RFC822.TEXT and a missing section', async () => {
    const crlf = crlfForm(nested);
    const items = await buildFetchItems([{ kind: 'RFC822' }, { kind: 'RFC822.HEADER' }, { kind: 'RFC822.TEXT' }, body('9.9', [9, 9])], msg, loader(nested));
    expect(items.filter((_, i) => i % 2 === 0)).toEqual([
      { t: 'atom', v: 'RFC822' },
      { t: 'atom', v: 'RFC822.HEADER' },
      { t: 'atom', v: 'RFC822.TEXT' },
      { t: 'raw', v: 'BODY[9.9]' },
    ]);
    const [all, head, text] = [await bytes(items[1]!), await bytes(items[3]!), await bytes(items[5]!)];
    expect(all.equals(crlf)).toBe(true);
    expect(Buffer.concat([head, text]).equals(crlf)).toBe(true);
    expect(items[7]).toEqual({ t: 'string', v: '' }); // as Dovecot: an empty string, not NIL
  });

  it('ENVELOPE keeps raw 8-bit header bytes (strings travel as bytes)', async () => {
    const [, env] = await buildFetchItems([{ kind: 'ENVELOPE' }], msg, loader(sjis));
    const subject = (env as { t: 'list'; v: ImapValue[] }).v[1] as { t: 'string'; v: Buffer };
    expect(Buffer.isBuffer(subject.v)).toBe(true);
    expect(subject.v.equals(Buffer.from('見積書の件', 'utf8'))).toBe(false);
    expect(subject.v.toString('latin1')).toBe(scanBuffer(sjis).headers.find((h) => h.key === 'subject')!.value);
  });

  it('BINARY (RFC 3516) of a missing part reads as empty, as BODY[] does; the wire tests are in binary.test.ts', async () => {
    const items = await buildFetchItems([{ kind: 'BINARY[]', peek: true, section: [9, 9] }], msg, loader(nested));
    expect(items).toEqual([{ t: 'raw', v: 'BINARY[9.9]' }, { t: 'string', v: '' }]);
  });

  it.each([
    [[{ kind: 'RFC822' }], true, true],
    [[{ kind: 'RFC822.HEADER' }], false, true],
    [[{ kind: 'RFC822.TEXT' }], true, true],
    [[body('1', [1])], false, true],
    [[{ ...body('1', [1]), peek: false }], true, true],
    [[{ kind: 'BODYSTRUCTURE' }], false, true],
    [[{ kind: 'ENVELOPE' }, { kind: 'FLAGS' }], false, true],
    [[{ kind: 'FLAGS' }, { kind: 'MODSEQ' }], false, false],
  ] as Array<[FetchAttr[], boolean, boolean]>)('impliesSeen/needsContent %j', (attrs, seen, content) => {
    expect(impliesSeen(attrs)).toBe(seen);
    expect(needsContent(attrs)).toBe(content);
  });
});
