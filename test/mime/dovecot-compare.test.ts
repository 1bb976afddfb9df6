// Our ENVELOPE, BODY, BODYSTRUCTURE, body sections, partials and RFC822.SIZE against Dovecot
// 2.3's for the whole torture set, message by message. Dovecot reads the same stored bytes
// (LF form) from a Maildir, so both serve the same CRLF form.
//
// Differences we keep on purpose are listed in KNOWN_DIFFERENCES with the reason.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { dovecotAvailable, type Dovecot, type ImapClient } from '../helpers/dovecot.js';
import { startDovecotInbox, uidsByMarker } from '../helpers/dovecot-inbox.js';
import { requirePeer } from '../helpers/peers.js';
import { buildFetchItems, type MessageLoader } from '../../src/imap/fetch.js';
import type { FetchAttr } from '../../src/imap/proto/types.js';
import { scanBuffer } from '../../src/mime/scanner.js';
import type { MimePart, SectionSpec } from '../../src/mime/types.js';
import { loadFixtures, type Fixture } from './fixtures.js';
import { parseResponse, toTree, type Tree } from './imap-values.js';

/** fixture → item → why we differ from Dovecot on purpose. */
const KNOWN_DIFFERENCES: Record<string, Record<string, string>> = {
  'rfc822-base64.eml': {
    // Dovecot answers "" for HEADER.FIELDS of a base64-encoded message/rfc822 while it
    // serves its HEADER; we answer the (empty) field selection plus the empty line, as for
    // any other message. No client depends on this corner.
    'BODY.PEEK[1.HEADER.FIELDS (Subject)]': 'empty selection of a base64 message/rfc822',
  },
};

const fixtures = loadFixtures();
const run = (await dovecotAvailable()) && requirePeer('doveadm', 'MIME vs Dovecot');

function sectionsFor(root: MimePart): Array<{ label: string; spec: SectionSpec; partial?: { origin: number; count: number } }> {
  const out: Array<{ label: string; spec: SectionSpec; partial?: { origin: number; count: number } }> = [
    { label: '', spec: { part: [] } },
    { label: 'HEADER', spec: { part: [], text: 'HEADER' } },
    { label: 'TEXT', spec: { part: [], text: 'TEXT' } },
    { label: 'HEADER.FIELDS (From Subject X-Missing)', spec: { part: [], text: 'HEADER.FIELDS', fields: ['From', 'Subject', 'X-Missing'] } },
    { label: 'HEADER.FIELDS.NOT (Subject)', spec: { part: [], text: 'HEADER.FIELDS.NOT', fields: ['Subject'] } },
    { label: '', spec: { part: [] }, partial: { origin: 5, count: 10 } },
    { label: 'TEXT', spec: { part: [], text: 'TEXT' }, partial: { origin: 0, count: 3 } },
    { label: '1', spec: { part: [1] }, partial: { origin: 100000, count: 5 } },
    { label: '99', spec: { part: [99] } },
    { label: '1.99', spec: { part: [1, 99] } },
  ];
  const walk = (p: MimePart, numbered: number[], isMsg: boolean): void => {
    if (p.contentType.type === 'multipart') {
      p.children.forEach((c, i) => visit(c, [...numbered, i + 1]));
    } else if (isMsg) visit(p, [...numbered, 1], true);
  };
  const visit = (p: MimePart, num: number[], bodyOfMsg = false): void => {
    const l = num.join('.');
    out.push({ label: l, spec: { part: num } }, { label: `${l}.MIME`, spec: { part: num, text: 'MIME' } });
    if (p.message && !bodyOfMsg) {
      out.push({ label: `${l}.HEADER`, spec: { part: num, text: 'HEADER' } }, { label: `${l}.TEXT`, spec: { part: num, text: 'TEXT' } });
      out.push({ label: `${l}.HEADER.FIELDS (Subject)`, spec: { part: num, text: 'HEADER.FIELDS', fields: ['Subject'] } });
      walk(p.message, num, true);
    } else if (p.message && bodyOfMsg) {
      walk(p.message, num, true);
    } else if (p.contentType.type === 'multipart') walk(p, num, false);
  };
  walk(root, [], true);
  if (out.length > 60) out.length = 60;
  return out;
}

function loaderFor(f: Fixture): MessageLoader {
  return { open: async () => Readable.from([f.stored]), structure: async () => scanBuffer(f.stored) };
}

describe.runIf(run)('MIME output compared with Dovecot 2.3', () => {
  let dc: Dovecot;
  let client: ImapClient;
  const uidOf = new Map<string, number>();

  beforeAll(async () => {
    let uidlist: string;
    ({ dc, client, uidlist } = await startDovecotInbox(
      fixtures.map((f, i) => ({ name: `new/${1700000000 + i}.fixture-${String(i).padStart(2, '0')}.host`, data: f.stored })),
    ));
    for (const [i, uid] of uidsByMarker(uidlist, 'fixture-')) uidOf.set(fixtures[i]!.name, uid);
  });
  afterAll(async () => {
    await client?.close();
    await dc?.stop();
  });

  async function dovecotItems(uid: number, items: string): Promise<Tree[]> {
    const res = await client.command(`UID FETCH ${uid} (${items})`);
    const line = res.untagged.find((l) => /^\* \d+ FETCH /.test(l));
    if (!line) return [];
    const list = parseResponse(line.replace(/^\* \d+ FETCH /, ''), res.literals);
    // Drop the UID pair that UID FETCH adds.
    const out: Tree[] = [];
    for (let i = 0; i < list.length; i += 2) {
      const name = list[i] as { atom: string };
      if (name.atom === 'UID' && !/\bUID\b/.test(items)) continue;
      out.push(list[i]!, list[i + 1]!);
    }
    return out;
  }

  it.each(fixtures.map((f) => [f.name, f] as const))('%s', async (name, f) => {
    const uid = uidOf.get(name);
    expect(uid, `Dovecot saw ${name}`).toBeDefined();
    const known = KNOWN_DIFFERENCES[name] ?? {};
    const diffs: string[] = [];
    const compare = async (item: string, attrs: FetchAttr[]): Promise<void> => {
      const theirs = await dovecotItems(uid!, item);
      const ours = await Promise.all((await buildFetchItems(attrs, { seq: 1, uid: uid!, flags: [], internalDate: new Date(), size: -1 }, loaderFor(f))).map(toTree));
      if (known[item]) return;
      // Item names: compare case-insensitively (Dovecot echoes its own spelling).
      const norm = (t: Tree[]): string => JSON.stringify(t.map((x, i) => (i % 2 === 0 ? JSON.stringify(x).toUpperCase() : x)));
      if (norm(theirs) !== norm(ours)) diffs.push(`${item}\n  dovecot: ${JSON.stringify(theirs)}\n  ours:    ${JSON.stringify(ours)}`);
    };
    await compare('BODYSTRUCTURE', [{ kind: 'BODYSTRUCTURE' }]);
    await compare('BODY', [{ kind: 'BODY' }]);
    await compare('ENVELOPE', [{ kind: 'ENVELOPE' }]);
    // RFC822.SIZE: ours comes from the store's W= count; the scan must agree with Dovecot's.
    const size = await dovecotItems(uid!, 'RFC822.SIZE');
    const root = scanBuffer(f.stored);
    if (size[1] !== root.bodyStart + root.bodyLength) diffs.push(`RFC822.SIZE dovecot ${JSON.stringify(size[1])} ours ${root.bodyStart + root.bodyLength}`);
    for (const s of sectionsFor(root)) {
      const partial = s.partial ? `<${s.partial.origin}.${s.partial.count}>` : '';
      await compare(`BODY.PEEK[${s.label}]${partial}`, [{ kind: 'BODY[]', peek: true, section: s.spec, partial: s.partial, label: s.label }]);
    }
    // MIME_DIFF_FILE=path collects every difference (vitest shows only the first failures).
    if (diffs.length && process.env.MIME_DIFF_FILE) await appendFile(process.env.MIME_DIFF_FILE, `## ${name}\n${diffs.join('\n')}\n`);
    expect(diffs.join('\n')).toBe('');
  });
});
