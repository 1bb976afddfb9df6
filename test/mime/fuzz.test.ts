// Random and mutated messages through the scanner, ENVELOPE, BODYSTRUCTURE, sections and
// the SEARCH text path: nothing throws, every range lies inside the message and inside its
// parent, and chunking never changes the result. Seeded, so a failure is reproducible.
import { describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { MimeScanner, scanBuffer } from '../../src/mime/scanner.js';
import { bodyStructure, envelope } from '../../src/mime/imap-structure.js';
import { resolveSection } from '../../src/mime/section.js';
import { findInBody, foldText } from '../../src/mime/text-search.js';
import { decodeHeaderValue, parseDate } from '../../src/mime/decode.js';
import { parseAddressList } from '../../src/mime/address.js';
import type { MimePart, SectionSpec } from '../../src/mime/types.js';
import { crlfForm, loadFixtures } from './fixtures.js';
import { mulberry32 } from '../helpers/fuzz.js';

const SNIPPETS = ['\n', '\r\n', '\r', '--', '--b\n', '--outer--\n', '\n\n', 'Content-Type: multipart/mixed; boundary=b\n', 'Content-Type: message/rfc822\n\n', ': ', '=?UTF-8?B?', '?=', '"', '(', '<', '>', '\x00', '\xff', ' \t', 'boundary="', "*0*=utf-8''%"];

function mutate(base: Buffer, r: () => number): Buffer {
  let b = Buffer.from(base);
  const n = 1 + Math.floor(r() * 8);
  for (let i = 0; i < n; i++) {
    const at = Math.floor(r() * (b.length + 1));
    const op = r();
    if (op < 0.3) b = Buffer.concat([b.subarray(0, at), Buffer.from(SNIPPETS[Math.floor(r() * SNIPPETS.length)]!, 'latin1'), b.subarray(at)]);
    else if (op < 0.5) b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + Math.floor(r() * 40)))]);
    else if (op < 0.7 && b.length) b[Math.min(at, b.length - 1)] = Math.floor(r() * 256);
    else if (op < 0.8) b = b.subarray(0, at); // truncation
    else b = Buffer.concat([b.subarray(0, at), b.subarray(Math.floor(r() * b.length), Math.floor(r() * b.length))]); // splice
  }
  return b;
}

function checkTree(p: MimePart, lo: number, hi: number, path: string): void {
  const where = `${path} [${lo},${hi}) header ${p.headerStart}+${p.headerLength} body ${p.bodyStart}+${p.bodyLength}`;
  if (!(p.headerStart >= lo && p.headerStart + p.headerLength <= p.bodyStart && p.bodyStart + p.bodyLength <= hi)) throw new Error(`range outside: ${where}`);
  if (p.headerLength < 0 || p.bodyLength < 0 || p.bodyLines < 0 || p.bodyLines > p.bodyLength) throw new Error(`bad sizes: ${where}`);
  p.children.forEach((c, i) => checkTree(c, p.bodyStart, p.bodyStart + p.bodyLength, `${path}.${i + 1}`));
  if (p.message) checkTree(p.message, p.bodyStart, p.bodyStart + p.bodyLength, `${path}.msg`);
}

function specs(root: MimePart, r: () => number): SectionSpec[] {
  const out: SectionSpec[] = [{ part: [] }, { part: [], text: 'HEADER' }, { part: [], text: 'TEXT' }, { part: [], text: 'HEADER.FIELDS', fields: ['subject'] }];
  for (let i = 0; i < 12; i++) {
    const part = Array.from({ length: 1 + Math.floor(r() * 4) }, () => Math.floor(r() * 4));
    const texts = [undefined, 'MIME', 'HEADER', 'TEXT', 'HEADER.FIELDS.NOT'] as const;
    out.push({ part, text: texts[Math.floor(r() * texts.length)], fields: ['From'] });
  }
  void root;
  return out;
}

describe('MIME fuzz', () => {
  const bases = loadFixtures().map((f) => f.stored);
  it('3000 mutated messages: no exception, ranges nested and inside the message, chunking-invariant', async () => {
    const r = mulberry32(20261123);
    for (let iter = 0; iter < 3000; iter++) {
      const msg = r() < 0.1 ? Buffer.from(Array.from({ length: Math.floor(r() * 300) }, () => Math.floor(r() * 256))) : mutate(bases[Math.floor(r() * bases.length)]!, r);
      const ctx = `iteration ${iter}: ${JSON.stringify(msg.toString('latin1').slice(0, 200))}`;
      try {
        const root = scanBuffer(msg);
        const total = crlfForm(msg).length;
        expect(root.bodyStart + root.bodyLength, ctx).toBe(total);
        checkTree(root, 0, total, 'root');
        const size = 1 + Math.floor(r() * 64);
        const s = new MimeScanner();
        for (let i = 0; i < msg.length; i += size) s.push(msg.subarray(i, i + size));
        expect(JSON.stringify(s.end()), ctx).toBe(JSON.stringify(root));
        bodyStructure(root, true);
        bodyStructure(root, false);
        envelope(root);
        for (const h of root.headers) {
          decodeHeaderValue(h.value);
          parseDate(h.value);
          parseAddressList(h.value);
        }
        for (const spec of specs(root, r)) {
          const src = resolveSection(root, spec);
          if (src?.kind === 'range' && (src.start < 0 || src.length < 0 || src.start + src.length > total)) throw new Error(`section out of range ${JSON.stringify(spec)}`);
        }
        if (iter % 10 === 0) await findInBody(async () => Readable.from([msg]), root, ['a', 'é', '見']);
        if (iter % 3 === 0) {
          // The whole-buffer path (decoding from the stored LF bytes) finds what the stream
          // path (through the CRLF form, in small chunks) finds.
          const needles = [...new Set(Array.from({ length: 6 }, () => {
            const at = Math.floor(r() * msg.length);
            return foldText(msg.subarray(at, at + 1 + Math.floor(r() * 6)).toString('latin1').replace(/[\r\n]/g, ''));
          }))];
          const chunked = (): Readable => Readable.from(Array.from({ length: Math.ceil(msg.length / 7) }, (_, i) => msg.subarray(i * 7, i * 7 + 7)));
          const viaStream = await findInBody(async () => chunked(), root, needles);
          const viaBuffer = await findInBody(async () => msg, root, needles);
          expect([...viaBuffer].sort(), ctx).toEqual([...viaStream].sort());
        }
      } catch (err) {
        throw new Error(`${ctx}\n${(err as Error).stack}`);
      }
    }
  });
});
