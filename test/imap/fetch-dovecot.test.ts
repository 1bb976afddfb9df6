// End to end against Dovecot 2.3: the torture set APPENDed to our daemon and to Dovecot,
// then the same FETCH and SEARCH commands sent to both over the wire. The answers must be
// the same data (quoting style aside: a quoted string and a literal carry the same bytes).
// This drives the whole path: parser, session, store, scanner, item building, serializer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dovecotAvailable, startDovecot, type Dovecot } from '../helpers/dovecot.js';
import { requirePeer } from '../helpers/peers.js';
import type { TestServer } from '../helpers/app.js';
import { PASS, USER, startImapServer } from './client.js';
import { ImapWire, type ImapResponse } from '../helpers/imap-wire.js';
import { scanBuffer } from '../../src/mime/scanner.js';
import type { MimePart } from '../../src/mime/types.js';
import { crlfForm, loadFixtures } from '../mime/fixtures.js';
import { parseResponse, type Tree } from '../mime/imap-values.js';

const fixtures = loadFixtures();
const run = (await dovecotAvailable()) && requirePeer('doveadm', 'FETCH vs Dovecot');

/** Section labels for every part of a message, as a client walking BODYSTRUCTURE asks. */
function sections(root: MimePart): string[] {
  const out = ['', 'HEADER', 'TEXT', 'HEADER.FIELDS (FROM SUBJECT)', 'HEADER.FIELDS.NOT (SUBJECT)', '1', '1.MIME', '2.MIME', '3.1', '1.1.1', '3.1.MIME', '2.1.HEADER', '4'];
  const walk = (p: MimePart, num: number[]): void => {
    const kids = p.message ? [p.message] : [];
    if (p.contentType.type === 'multipart') {
      p.children.forEach((c, i) => {
        const n = [...num, i + 1].join('.');
        out.push(n, `${n}.MIME`);
        if (c.message) out.push(`${n}.HEADER`, `${n}.TEXT`);
        walk(c, [...num, i + 1]);
      });
    }
    for (const m of kids) walk(m, num);
  };
  walk(root, []);
  return [...new Set(out)].slice(0, 40);
}

/** `* n FETCH (...)` → its item list; names upper-cased. */
function items(res: ImapResponse): Tree[] {
  const line = res.untagged.find((l) => /^\* \d+ FETCH /.test(l));
  if (!line) return [];
  // Literal markers count from this line only.
  const before = res.untagged.slice(0, res.untagged.indexOf(line)).join('').match(/\{\d+\}/g)?.length ?? 0;
  const list = parseResponse(line.replace(/^\* \d+ FETCH /, ''), res.literals.slice(before));
  return list.map((x, i) => (i % 2 === 0 && x && typeof x === 'object' && 'atom' in x ? { atom: x.atom.toUpperCase() } : x));
}

describe.runIf(run)('FETCH and SEARCH on the wire: ours vs Dovecot 2.3', () => {
  let srv: TestServer;
  let dc: Dovecot;
  let ours: ImapWire;
  let theirs: ImapWire;
  const appended: string[] = [];

  async function both(...cmd: Array<string | Buffer>): Promise<[ImapResponse, ImapResponse]> {
    return [await ours.command(...cmd), await theirs.command(...cmd)];
  }

  beforeAll(async () => {
    [srv, dc] = await Promise.all([startImapServer({ auth: { loopbackIsSecure: true } } as never), startDovecot()]);
    ours = await ImapWire.connect(srv.port('imap'), 'latin1');
    theirs = await ImapWire.connect(dc.imapPort, 'latin1');
    expect((await ours.command(`LOGIN ${USER} ${PASS}`)).tagged).toMatch(/OK/);
    expect((await theirs.command(`LOGIN ${dc.user} ${dc.password}`)).tagged).toMatch(/OK/);
    for (const f of fixtures) {
      const data = crlfForm(f.stored);
      const [a, b] = await both(`APPEND INBOX (\\Seen) "22-Nov-2026 10:00:00 +0000" {${data.length}+}\r\n`, data);
      // Both accept or both refuse (an empty message): the comparison needs equal numbering.
      expect(a.tagged.split(' ')[1], `${f.name}: ours ${a.tagged} / dovecot ${b.tagged}`).toBe(b.tagged.split(' ')[1]);
      if (/^\S+ OK/.test(a.tagged)) appended.push(f.name);
    }
    await both('SELECT INBOX');
  });
  afterAll(async () => {
    ours?.close();
    theirs?.close();
    await Promise.all([srv?.stop(), dc?.stop()]);
  });

  it('every fixture: FLAGS, INTERNALDATE, RFC822.SIZE, ENVELOPE, BODY, BODYSTRUCTURE and body sections agree', async () => {
    const diffs: string[] = [];
    for (const [i, name] of appended.entries()) {
      const seq = i + 1;
      const f = fixtures.find((x) => x.name === name)!;
      const cmds = [
        'FLAGS INTERNALDATE RFC822.SIZE',
        'ENVELOPE',
        'BODY',
        'BODYSTRUCTURE',
        'RFC822.HEADER',
        'BODY.PEEK[]<0.20>',
        'BODY.PEEK[TEXT]<4.1000000>',
        ...sections(scanBuffer(f.stored)).map((s) => `BODY.PEEK[${s}]`),
      ];
      for (const c of cmds) {
        const [a, b] = await both(`FETCH ${seq} (${c})`);
        const x = JSON.stringify(items(a));
        const y = JSON.stringify(items(b));
        if (x !== y) diffs.push(`${name} FETCH ${c}\n  ours:    ${x.slice(0, 600)}\n  dovecot: ${y.slice(0, 600)}`);
      }
    }
    expect(diffs.join('\n')).toBe('');
  });

  it('a non-PEEK body fetch sets \\Seen and reports FLAGS in the same response, like Dovecot', async () => {
    const seq = appended.indexOf('simple-lf.eml') + 1;
    await both(`STORE ${seq} -FLAGS.SILENT (\\Seen)`);
    const [a, b] = await both(`FETCH ${seq} (BODY[1])`);
    // Same items; their order is free (RFC 3501 7.4.2): Dovecot puts FLAGS first.
    const pairs = (t: Tree[]): string[] => t.flatMap((x, i) => (i % 2 === 0 ? [JSON.stringify([x, t[i + 1]])] : [])).sort();
    expect(pairs(items(a))).toEqual(pairs(items(b)));
    expect(JSON.stringify(items(a))).toContain('\\\\Seen');
  });

  it.each([
    'BODY "inner text"',
    'SUBJECT rfc2231',
    'HEADER Content-Type multipart',
    'TEXT epilogue',
    'LARGER 2000',
    'NOT BODY the',
    'OR SUBJECT deep SUBJECT digest',
    'HEADER X-Folded ""',
  ])('SEARCH %s gives the same messages', async (criteria) => {
    const [a, b] = await both(`SEARCH ${criteria}`);
    expect(a.untagged.find((l) => l.startsWith('* SEARCH'))).toBe(b.untagged.find((l) => l.startsWith('* SEARCH')));
  });
});
