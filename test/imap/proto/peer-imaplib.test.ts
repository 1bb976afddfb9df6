// The grammar against a real client: Python's imaplib talks to a small loopback responder
// built from the receiver and serializer alone (no session, no store), and every command it
// sends must parse to the typed command we expect. This pins the bytes a real client writes
// (its quoting, literals, APPEND date format, UID forms) rather than our idea of them.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Receiver } from '../../../src/imap/proto/receiver.js';
import { continuation, tagged, untaggedStatus } from '../../../src/imap/proto/serializer.js';
import type { Command, Request } from '../../../src/imap/proto/types.js';
import { requirePeer, runPeer } from '../../helpers/peers.js';

const CAPS = 'IMAP4rev1 LITERAL+ SASL-IR IDLE UIDPLUS MOVE UNSELECT NAMESPACE ID ENABLE AUTH=PLAIN';

/** Answers OK to everything; records what the parser made of each request. */
function responder(seen: Request[]): net.Server {
  return net.createServer((sock) => {
    const rx = new Receiver({ maxLineBytes: 8192, maxLiteralBytes: 1 << 20 });
    let saslTag: string | null = null;
    sock.write(untaggedStatus('OK', `CAPABILITY ${CAPS}`, 'ready'));
    const onData = (chunk: Buffer): void => {
      for (const ev of rx.push(chunk)) {
        if (ev.type === 'continue') sock.write(continuation());
        else if (ev.type === 'error') sock.write(tagged(ev.tag, 'BAD', ev.text));
        else if (ev.type === 'line') {
          sock.write(tagged(saslTag, 'OK', `raw line ${ev.line.toString('latin1')}`));
          saslTag = null;
        } else {
          const req = ev.request;
          seen.push(req);
          if (!req.ok) {
            sock.write(tagged(req.tag, 'BAD', req.error));
            continue;
          }
          const name = req.command.name;
          if (name === 'CAPABILITY') sock.write(`* CAPABILITY ${CAPS}\r\n`);
          if (name === 'AUTHENTICATE' && req.command.initial === undefined) {
            saslTag = req.tag;
            rx.expectRawLine();
            sock.write(continuation(''));
            continue;
          }
          if (name === 'LOGOUT') sock.write(untaggedStatus('BYE', null, 'bye'));
          sock.write(tagged(req.tag, 'OK', `${name} done`));
          if (name === 'LOGOUT') sock.end();
        }
      }
      if (rx.isPaused) queueMicrotask(() => onData(Buffer.alloc(0)));
    };
    sock.on('data', onData);
    sock.on('error', () => {});
  });
}

const SCRIPT = String.raw`
import imaplib, sys
A = imaplib.IMAP4('127.0.0.1', int(sys.argv[1]))
A.authenticate('PLAIN', lambda _: b'\0bob\0pw')
A.logout()
M = imaplib.IMAP4('127.0.0.1', int(sys.argv[1]))
M.login('bob@example.com', 'p a"s\\s')
M.select('INBOX')
M.create('&ZeVnLIqe-')
M.rename('old', '"new name"')
M.list('""', '*')
M.lsub('""', '%')
M.status('INBOX', '(MESSAGES UIDNEXT)')
M.append('Sent', r'(\Seen)', '"07-Jul-1996 02:44:25 -0700"', b'Subject: hi\r\n\r\nbody\r\n')
M.uid('FETCH', '1:*', '(UID FLAGS BODY.PEEK[HEADER.FIELDS (FROM TO)])')
M.fetch('2,4:*', '(RFC822.SIZE BODY[1.MIME]<0.512>)')
M.literal = 'Grüße'.encode()
M.search('UTF-8', 'TEXT')
M.uid('SEARCH', 'OR', 'UNSEEN', 'FROM', '"a b"')
M.store('1:3', '+FLAGS.SILENT', r'(\Deleted)')
M.copy('1', 'Trash')
M.uid('MOVE', '5', 'Archive')
M.expunge()
M.unselect()
M.logout()
`;

const expected: Command[] = [
  { name: 'CAPABILITY' },
  { name: 'AUTHENTICATE', mechanism: 'PLAIN' },
  { name: 'LOGOUT' },
  { name: 'CAPABILITY' },
  { name: 'LOGIN', username: 'bob@example.com', password: 'p a"s\\s' },
  { name: 'SELECT', mailbox: 'INBOX' },
  { name: 'CREATE', mailbox: '日本語' },
  { name: 'RENAME', from: 'old', to: 'new name' },
  { name: 'LIST', reference: '', patterns: ['*'] },
  { name: 'LSUB', reference: '', patterns: ['%'] },
  { name: 'STATUS', mailbox: 'INBOX', items: ['MESSAGES', 'UIDNEXT'] },
  { name: 'APPEND', mailbox: 'Sent', flags: ['\\Seen'], internalDate: new Date('1996-07-07T09:44:25Z'), message: Buffer.from('Subject: hi\r\n\r\nbody\r\n') },
  {
    name: 'FETCH',
    uid: true,
    set: [{ from: 1, to: '*' }],
    attrs: [
      { kind: 'UID' },
      { kind: 'FLAGS' },
      { kind: 'BODY[]', peek: true, section: { part: [], text: 'HEADER.FIELDS', fields: ['FROM', 'TO'] }, label: 'HEADER.FIELDS (FROM TO)' },
    ],
  },
  {
    name: 'FETCH',
    uid: false,
    set: [{ from: 2, to: 2 }, { from: 4, to: '*' }],
    attrs: [{ kind: 'RFC822.SIZE' }, { kind: 'BODY[]', peek: false, section: { part: [1], text: 'MIME' }, label: '1.MIME', partial: { origin: 0, count: 512 } }],
  },
  { name: 'SEARCH', uid: false, charset: 'UTF-8', key: { kind: 'and', keys: [{ kind: 'text', value: 'Grüße' }] } },
  {
    name: 'SEARCH',
    uid: true,
    key: { kind: 'and', keys: [{ kind: 'or', a: { kind: 'flag', flag: '\\Seen', set: false }, b: { kind: 'header', field: 'from', value: 'a b' } }] },
  },
  { name: 'STORE', uid: false, set: [{ from: 1, to: 3 }], op: 'add', silent: true, flags: ['\\Deleted'] },
  { name: 'COPY', uid: false, set: [{ from: 1, to: 1 }], mailbox: 'Trash' },
  { name: 'MOVE', uid: true, set: [{ from: 5, to: 5 }], mailbox: 'Archive' },
  { name: 'EXPUNGE' },
  { name: 'UNSELECT' },
  { name: 'LOGOUT' },
];

describe.runIf(requirePeer('python3', 'IMAP grammar vs imaplib'))('IMAP grammar vs Python imaplib', () => {
  const seen: Request[] = [];
  let server: net.Server;
  let port = 0;

  beforeAll(async () => {
    server = responder(seen);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as net.AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('every command imaplib sends parses to the expected typed command', async () => {
    const run = await runPeer('python3', ['-c', SCRIPT, String(port)]);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    for (const r of seen) if (!r.ok) throw new Error(`BAD ${r.error}`);
    expect(seen.map((r) => (r.ok ? r.command : null))).toEqual(expected);
  });
});
