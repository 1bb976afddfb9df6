// The grammar and the serializer against imapflow's own code, both directions, without a
// server in between:
// - imapflow's command modules (fetch, search, store, append, ...) build their arguments
//   and its compiler writes the bytes it would send; our receiver must parse them into the
//   typed command we expect. This pins how a real client encodes dates, search strings
//   with 8-bit text (as LITERAL+ literals), header lists and mailbox names.
// - our serializer's output goes through imapflow's response reader (ImapStream) and
//   parser, which must read back the values we wrote (quoting, escapes, literals, NIL).
// The command modules are imapflow internals reached through its `lib/*` export; the
// version is pinned by package-lock.json.
import { Readable } from 'node:stream';
import { parser, compiler } from 'imapflow/lib/handler/imap-handler.js';
import { ImapStream } from 'imapflow/lib/handler/imap-stream.js';
import appendCmd from 'imapflow/lib/commands/append.js';
import copyCmd from 'imapflow/lib/commands/copy.js';
import fetchCmd from 'imapflow/lib/commands/fetch.js';
import loginCmd from 'imapflow/lib/commands/login.js';
import moveCmd from 'imapflow/lib/commands/move.js';
import searchCmd from 'imapflow/lib/commands/search.js';
import statusCmd from 'imapflow/lib/commands/status.js';
import storeCmd from 'imapflow/lib/commands/store.js';
import { describe, expect, it } from 'vitest';
import { Receiver } from '../../../src/imap/proto/receiver.js';
import { atom, list, literal, mailbox, nil, num, raw, serialize, str, tagged, untagged } from '../../../src/imap/proto/serializer.js';
import type { Command } from '../../../src/imap/proto/types.js';
import type { ImapValue, WireChunk } from '../../../src/imap/proto/values.js';

const noop = (): void => {};

/** Just enough of an ImapFlow connection for its command modules to build and "send" a command. */
function fakeConnection(state: 'notAuthenticated' | 'selected') {
  const sent: Buffer[] = [];
  const states = { NOT_AUTHENTICATED: 1, AUTHENTICATED: 2, SELECTED: 3, LOGOUT: 4 };
  const conn = {
    capabilities: new Map<string, boolean>(['IMAP4rev1', 'LITERAL+', 'UIDPLUS', 'MOVE', 'SASL-IR', 'ID', 'ENABLE'].map((c) => [c, true])),
    authCapabilities: new Map<string, boolean>(),
    enabled: new Set<string>(),
    states,
    state: state === 'selected' ? states.SELECTED : states.NOT_AUTHENTICATED,
    mailbox: { path: 'INBOX', delimiter: '/' },
    namespace: { delimiter: '/', prefix: '' },
    folders: new Map(),
    id: 'test',
    log: { debug: noop, info: noop, warn: noop, error: noop, trace: noop },
    exec: async (command: string, attributes: unknown[]) => {
      sent.push(compiler({ tag: 'A1', command, attributes } as never, { literalPlus: true }));
      return { next: noop, response: { attributes: [] } };
    },
    createNoMailboxError: () => new Error('no mailbox'),
  };
  return { conn: conn as never, sent };
}

/** What our receiver makes of the bytes imapflow sent. */
function parsed(sent: Buffer[]): Command[] {
  return sent.map((bytes) => {
    const rx = new Receiver({ maxLineBytes: 65536, maxLiteralBytes: 1 << 20 });
    const events = rx.push(Buffer.concat([bytes, Buffer.from('\r\n')]));
    const req = events.find((e) => e.type === 'request');
    if (!req || req.type !== 'request') throw new Error(`no request for ${JSON.stringify(bytes.toString('latin1'))}: ${JSON.stringify(events)}`);
    if (!req.request.ok) throw new Error(`BAD ${req.request.error} for ${JSON.stringify(bytes.toString('latin1'))}`);
    return req.request.command;
  });
}

describe('imapflow → our grammar', () => {
  it('commands as imapflow builds and compiles them parse to the expected typed commands', async () => {
    const { conn, sent } = fakeConnection('selected');
    await fetchCmd(
      conn,
      '1:*',
      { uid: true, flags: true, envelope: true, bodyStructure: true, internalDate: true, size: true, headers: ['from', 'x-spam'], bodyParts: ['1.2', 'text', '2.mime'], source: { start: 0, maxLength: 100 } },
      { uid: true },
    );
    await searchCmd(
      conn,
      { or: [{ from: 'a b' }, { seen: false }], since: new Date('2024-02-01T00:00:00Z'), body: 'Grüße', larger: 100, uid: '1:*', header: { 'x-foo': 'bar' }, not: { deleted: true } },
      { uid: true },
    );
    await storeCmd(conn, '1:3', ['\\Seen', '$Junk'], { uid: true, operation: 'add', silent: true });
    await appendCmd(conn, 'Sent Items', Buffer.from('Subject: x\r\n\r\nhi\r\n'), ['\\Seen'], new Date('2024-01-02T03:04:05Z'));
    await statusCmd(conn, 'INBOX', { messages: true, uidNext: true, unseen: true });
    await copyCmd(conn, '1,2', 'Trash', { uid: true });
    await moveCmd(conn, '5', 'Archive/2024', { uid: true });
    const login = fakeConnection('notAuthenticated');
    await loginCmd(login.conn, 'bob@example.com', 'p "w\\ {3} ä');

    expect(parsed([...sent, ...login.sent])).toEqual([
      {
        name: 'FETCH',
        uid: true,
        set: [{ from: 1, to: '*' }],
        attrs: [
          { kind: 'UID' },
          { kind: 'FLAGS' },
          { kind: 'BODYSTRUCTURE' },
          { kind: 'ENVELOPE' },
          { kind: 'INTERNALDATE' },
          { kind: 'RFC822.SIZE' },
          { kind: 'BODY[]', peek: true, section: { part: [] }, label: '', partial: { origin: 0, count: 100 } },
          { kind: 'BODY[]', peek: true, section: { part: [], text: 'HEADER.FIELDS', fields: ['from', 'x-spam'] }, label: 'HEADER.FIELDS (from x-spam)' },
          { kind: 'BODY[]', peek: true, section: { part: [1, 2] }, label: '1.2' },
          { kind: 'BODY[]', peek: true, section: { part: [], text: 'TEXT' }, label: 'TEXT' },
          { kind: 'BODY[]', peek: true, section: { part: [2], text: 'MIME' }, label: '2.MIME' },
        ],
      },
      {
        name: 'SEARCH',
        uid: true,
        charset: 'UTF-8',
        key: {
          kind: 'and',
          keys: [
            { kind: 'or', a: { kind: 'header', field: 'from', value: 'a b' }, b: { kind: 'flag', flag: '\\Seen', set: false } },
            { kind: 'internaldate', op: 'since', date: '2024-02-01' },
            { kind: 'body', value: 'Grüße' },
            { kind: 'size', op: 'larger', n: 100 },
            { kind: 'uid', set: [{ from: 1, to: '*' }] },
            { kind: 'header', field: 'x-foo', value: 'bar' },
            { kind: 'not', key: { kind: 'flag', flag: '\\Deleted', set: true } },
          ],
        },
      },
      { name: 'STORE', uid: true, set: [{ from: 1, to: 3 }], op: 'add', silent: true, flags: ['\\Seen', '$Junk'] },
      {
        name: 'APPEND',
        mailbox: 'Sent Items',
        flags: ['\\Seen'],
        internalDate: new Date('2024-01-02T03:04:05Z'),
        message: Buffer.from('Subject: x\r\n\r\nhi\r\n'),
      },
      { name: 'STATUS', mailbox: 'INBOX', items: ['MESSAGES', 'UIDNEXT', 'UNSEEN'] },
      { name: 'COPY', uid: true, set: [{ from: 1, to: 1 }, { from: 2, to: 2 }], mailbox: 'Trash' },
      { name: 'MOVE', uid: true, set: [{ from: 5, to: 5 }], mailbox: 'Archive/2024' },
      { name: 'LOGIN', username: 'bob@example.com', password: 'p "w\\ {3} ä' },
    ]);
  });
});

type Plain = string | null | Plain[];

/** imapflow's parsed attributes as plain values: atoms and strings as text, NIL as null. */
function plain(node: unknown): Plain {
  if (node === null) return null;
  if (Array.isArray(node)) return node.map(plain);
  const n = node as { type: string; value: unknown; section?: unknown[] };
  return Buffer.isBuffer(n.value) ? n.value.toString('utf8') : String(n.value);
}

async function resolveStreams(chunks: WireChunk[]): Promise<Buffer> {
  const out: Buffer[] = [];
  for (const c of chunks) {
    if (Buffer.isBuffer(c)) out.push(c);
    else for await (const b of (await c.open()) as Readable) out.push(Buffer.from(b as Buffer));
  }
  return Buffer.concat(out);
}

/** Every response in `bytes`, as imapflow's reader and parser see it. */
async function readResponses(bytes: Buffer): Promise<Array<{ tag: string | undefined; command: string | undefined; attributes: Plain }>> {
  const s = new ImapStream({ logger: false });
  s.end(bytes);
  const out = [];
  for await (const item of s as AsyncIterable<{ payload: Buffer; literals: Buffer[]; next: () => void }>) {
    const r = await parser(item.payload, { literals: item.literals });
    out.push({ tag: r.tag, command: r.command, attributes: plain(r.attributes ?? []) });
    item.next();
  }
  return out;
}

describe('our serializer → imapflow', () => {
  it('imapflow reads back quoted strings, escapes, literals, NIL, nested lists and a streamed body', async () => {
    const tricky = ['plain', 'a "q" \\ b', '', '日本語', 'x\r\ny', 'tab\there', 'x'.repeat(2000), '{5}', ')(', 'NIL'];
    const envelope: ImapValue[] = tricky.map((t) => str(t));
    const body = Buffer.from('Subject: hi\r\n\r\nbody with "quotes" and 8-bit é\r\n');
    const fetch = untagged([
      num(7),
      atom('FETCH'),
      list([
        atom('UID'),
        num(42),
        atom('FLAGS'),
        list([atom('\\Seen'), atom('$Junk')]),
        atom('ENVELOPE'),
        list([...envelope, nil, list([list([str('Bob'), nil, str('bob'), str('example.com')])])]),
        raw('BODY[]'),
        { t: 'stream', length: body.length, open: () => Readable.from([body]) },
        atom('RFC822.HEADER'),
        literal(Buffer.from('X: y\r\n\r\n')),
      ]),
    ]);
    const listLine = untagged([atom('LIST'), list([atom('\\HasNoChildren')]), str('/'), mailbox('日本語/"quoted" \\name')]);
    const bytes = Buffer.concat([await resolveStreams(fetch), await resolveStreams(listLine), tagged('A1', 'OK', 'FETCH completed')]);
    const got = await readResponses(bytes);
    expect(got).toEqual([
      {
        tag: '*',
        command: '7',
        attributes: [
          'FETCH',
          [
            'UID',
            '42',
            'FLAGS',
            ['\\Seen', '$Junk'],
            'ENVELOPE',
            [...tricky, null, [['Bob', null, 'bob', 'example.com']]],
            'BODY',
            body.toString('utf8'),
            'RFC822.HEADER',
            'X: y\r\n\r\n',
          ],
        ],
      },
      // imapflow hands mailbox names back still in modified UTF-7; it decodes them later.
      { tag: '*', command: 'LIST', attributes: [['\\HasNoChildren'], '/', '&ZeVnLIqe-/"quoted" \\name'] },
      { tag: 'A1', command: 'OK', attributes: ['FETCH completed'] },
    ]);
    // With UTF8=ACCEPT the same UTF-8 text goes quoted, and imapflow reads it the same.
    const utf8 = await readResponses(Buffer.concat([...(serialize([atom('*'), atom('X'), str('日本語')], { utf8: true }) as Buffer[]), Buffer.from('\r\n')]));
    expect(utf8).toEqual([{ tag: '*', command: 'X', attributes: ['日本語'] }]);
  });
});
