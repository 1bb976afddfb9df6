// The scanner on its own: identical results at every chunk size, CRLF coordinates that
// agree with the CRLF form byte for byte, the section streamer cutting exact ranges, and
// the resource caps.
import { describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { CrlfEncoder, MAX_DEPTH, MimeScanner, scanBuffer } from '../../src/mime/scanner.js';
import { scanStream, sectionStream } from '../../src/mime/load.js';
import { findPart, resolveSection } from '../../src/mime/section.js';
import { decodeStructure, encodeStructure } from '../../src/mime/cache.js';
import { bodyStructure } from '../../src/mime/imap-structure.js';
import type { MimePart } from '../../src/mime/types.js';
import { crlfForm, loadFixtures } from './fixtures.js';

const fixtures = loadFixtures();

function scanChunked(buf: Buffer, size: number): MimePart {
  const s = new MimeScanner();
  for (let i = 0; i < buf.length; i += size) s.push(buf.subarray(i, i + size));
  return s.end();
}

async function readAll(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** A stream of `buf` in pieces of `size` bytes (what a file read with a small buffer gives). */
function chunked(buf: Buffer, size: number): Readable {
  const pieces: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) pieces.push(buf.subarray(i, i + size));
  return Readable.from(pieces);
}

describe('MimeScanner', () => {
  it.each(fixtures.map((f) => [f.name, f] as const))('%s: same structure at every chunk size 1..512', (_name, f) => {
    const whole = JSON.stringify(scanBuffer(f.stored));
    for (let size = 1; size <= 512; size++) {
      const got = JSON.stringify(scanChunked(f.stored, size));
      if (got !== whole) expect.fail(`chunk size ${size} differs`);
    }
  });

  it.each(fixtures.map((f) => [f.name, f] as const))('%s: offsets are CRLF-form offsets', async (_name, f) => {
    const crlf = crlfForm(f.stored);
    const root = scanBuffer(f.stored);
    expect(root.bodyStart + root.bodyLength).toBe(crlf.length);
    // The HEADER section is the bytes up to and including the first empty line.
    const hdr = crlf.subarray(root.headerStart, root.headerStart + root.headerLength).toString('latin1');
    const blank = crlf.toString('latin1').indexOf('\r\n\r\n');
    if (root.headerTerminated) expect(hdr.length).toBe(blank + 4);
    // Every range streams exactly, from a source cut into odd pieces.
    const check = async (start: number, length: number): Promise<void> => {
      for (const size of [1, 7, 4096]) {
        const got = await readAll(sectionStream(async () => chunked(f.stored, size), start, length));
        expect(got.equals(crlf.subarray(start, start + length))).toBe(true);
      }
    };
    const walk = async (p: MimePart): Promise<void> => {
      await check(p.headerStart, p.headerLength);
      await check(p.bodyStart, p.bodyLength);
      for (const c of p.children) await walk(c);
      if (p.message) await walk(p.message);
    };
    await walk(root);
    expect((await scanStream(chunked(f.stored, 3))).bodyLength).toBe(root.bodyLength);
  });

  it('CrlfEncoder: LF → CRLF across chunk splits, existing CRLF and lone CR kept', () => {
    const stored = Buffer.from('a\nb\r\nc\rd\n\ne\r');
    for (let size = 1; size <= stored.length; size++) {
      const enc = new CrlfEncoder();
      const out: Buffer[] = [];
      for (let i = 0; i < stored.length; i += size) out.push(enc.push(stored.subarray(i, i + size)));
      out.push(enc.end());
      expect(Buffer.concat(out).toString()).toBe('a\r\nb\r\nc\rd\r\n\r\ne\r');
    }
  });

  it('sectionStream pads with spaces when the file is shorter than announced (literal length is sacred)', async () => {
    const got = await readAll(sectionStream(async () => Readable.from([Buffer.from('abc')]), 1, 5));
    expect(got.toString()).toBe('bc   ');
  });

  it('caps nesting: deeper multiparts become opaque, and nothing throws', () => {
    const depth = MAX_DEPTH + 20;
    let msg = 'Content-Type: multipart/mixed; boundary=b0\n\n';
    for (let i = 0; i < depth; i++) msg += `--b${i}\nContent-Type: multipart/mixed; boundary=b${i + 1}\n\n`;
    msg += 'text\n';
    const root = scanBuffer(Buffer.from(msg));
    let levels = 0;
    for (let p: MimePart | undefined = root; p && p.children.length; p = p.children[0]) levels++;
    expect(levels).toBe(MAX_DEPTH);
    expect(root.bodyStart + root.bodyLength).toBe(crlfForm(Buffer.from(msg)).length);
  });

  it('keeps header memory bounded: a 1 MB header field is scanned, not kept', () => {
    const big = Buffer.concat([Buffer.from('X-Big: '), Buffer.alloc(1 << 20, 0x61), Buffer.from('\nSubject: after\n\nbody\n')]);
    const root = scanBuffer(big);
    expect(root.headers.reduce((n, h) => n + h.raw.length, 0)).toBeLessThanOrEqual(64 * 1024);
    expect(root.headers.map((h) => h.name)).toEqual(['Subject']); // the big field dropped, not cut
    expect(root.bodyLength).toBe(6);
    // Folded: the continuation lines of a too-big field go with it.
    const folded = Buffer.concat([Buffer.from('X-Fold: a\n '), Buffer.alloc(70_000, 0x62), Buffer.from('\n c\nTo: x@y\n\n')]);
    expect(scanBuffer(folded).headers.map((h) => h.value)).toEqual(['x@y']);
  });

  it('part numbers: a non-multipart message has part 1 (its body); 2.1 inside message/rfc822', () => {
    const nested = fixtures.find((f) => f.name === 'nested.eml')!;
    const root = scanBuffer(nested.stored);
    expect(findPart(root, [2])?.contentType).toMatchObject({ type: 'message', subtype: 'rfc822' });
    expect(findPart(root, [2, 1])?.contentType).toMatchObject({ type: 'text', subtype: 'plain' });
    expect(findPart(root, [2, 2, 1])?.contentType).toMatchObject({ type: 'text', subtype: 'plain' });
    expect(findPart(root, [1, 2, 2])?.contentType).toMatchObject({ type: 'image', subtype: 'png' });
    expect(findPart(root, [3, 1])).toBe(findPart(root, [3])); // a leaf is its own part 1 (Dovecot)
    expect(findPart(root, [3, 2])).toBeNull();
    expect(findPart(root, [3, 1, 1])).toBeNull();
    expect(findPart(root, [0])).toBeNull();
    const simple = scanBuffer(fixtures.find((f) => f.name === 'simple-lf.eml')!.stored);
    expect(resolveSection(simple, { part: [1] })).toEqual({ kind: 'range', start: simple.bodyStart, length: simple.bodyLength });
    expect(resolveSection(simple, { part: [2] })).toBeNull();
    expect(resolveSection(simple, { part: [1], text: 'HEADER' })).toBeNull(); // not message/rfc822
    expect(resolveSection(simple, { part: [], text: 'MIME' })).toBeNull();
    const hf = resolveSection(root, { part: [2], text: 'HEADER.FIELDS', fields: ['SUBJECT'] });
    expect(hf).toEqual({ kind: 'bytes', data: Buffer.from('Subject: inner message\r\n\r\n') });
  });
});

describe('structure cache codec', () => {
  it.each(fixtures.map((f) => [f.name, f] as const))('%s round-trips', (_name, f) => {
    const root = scanBuffer(f.stored);
    const back = decodeStructure(encodeStructure(root));
    expect(back).toEqual(root);
    expect(JSON.stringify(bodyStructure(back!, true))).toBe(JSON.stringify(bodyStructure(root, true)));
  });
  it('another version or damage reads as missing', () => {
    expect(decodeStructure('[0,[]]')).toBeNull();
    expect(decodeStructure('{')).toBeNull();
  });
});
