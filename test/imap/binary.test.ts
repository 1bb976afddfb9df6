// BINARY (RFC 3516): exact decoded bytes of a base64 image-like part (with NUL, so a
// literal8) and of a quoted-printable Shift_JIS part (the charset untouched), partials,
// BINARY.SIZE, UNKNOWN-CTE, \Seen, APPEND with literal8; then imapflow's download, which
// uses BINARY.PEEK when the server offers it; and the same bytes from Dovecot 2.3.
import iconv from 'iconv-lite';
import { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from '../helpers/app.js';
import { dovecotAvailable, startDovecot, type Dovecot } from '../helpers/dovecot.js';
import { ImapWire } from '../helpers/imap-wire.js';
import { toIso2022jp } from '../helpers/messages.js';
import { PASS, startImapServer, USER } from './client.js';

let srv: TestServer;
let w: ImapWire;

// A PNG-like binary with NUL and high bytes, longer than one base64 line.
const image = Buffer.concat([Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'), Buffer.from(Array.from({ length: 300 }, (_, k) => (k * 37) % 256))]);
const sjis = iconv.encode('見積書を送付いたします。\r\nよろしくお願いいたします。= 100%\r\n', 'Shift_JIS');
const jis = toIso2022jp('お世話になっております。\r\n');

/** Quoted-printable (RFC 2045 6.7) with soft breaks every 60 characters. */
function qp(b: Buffer): string {
  let out = '';
  let line = '';
  for (let k = 0; k < b.length; k++) {
    const c = b[k]!;
    if (c === 0x0d && b[k + 1] === 0x0a) {
      out += line + '\r\n';
      line = '';
      k++;
      continue;
    }
    const enc = c >= 0x21 && c <= 0x7e && c !== 0x3d ? String.fromCharCode(c) : `=${c.toString(16).toUpperCase().padStart(2, '0')}`;
    if (line.length + enc.length > 60) {
      out += line + '=\r\n';
      line = '';
    }
    line += enc;
  }
  return out + line;
}

function b64lines(b: Buffer): string {
  return (b.toString('base64').match(/.{1,76}/g) ?? []).join('\r\n');
}

const msg = Buffer.from(
  [
    'From: Sales <sales@example.jp>',
    'To: alice@example.test',
    'Subject: binary',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="BB"',
    '',
    '--BB',
    'Content-Type: text/plain; charset=Shift_JIS',
    'Content-Transfer-Encoding: quoted-printable',
    '',
    qp(sjis),
    '--BB',
    'Content-Type: image/png; name="x.png"',
    'Content-Transfer-Encoding: base64',
    '',
    b64lines(image),
    '--BB',
    'Content-Type: text/plain; charset=ISO-2022-JP',
    'Content-Transfer-Encoding: 7bit',
    '',
    jis.toString('latin1').replace(/\r\n$/, ''),
    '--BB',
    'Content-Type: application/octet-stream',
    'Content-Transfer-Encoding: x-uuencode',
    '',
    'begin 644 x',
    '--BB--',
    '',
  ].join('\r\n'),
  'latin1',
);

beforeAll(async () => {
  srv = await startImapServer();
  w = await ImapWire.connect(srv.port('imap'), 'latin1');
  expect((await w.command(`LOGIN ${USER} ${PASS}`)).tagged).toMatch(/ OK /);
  expect((await w.command(`APPEND INBOX {${msg.length}+}\r\n`, msg)).tagged).toMatch(/ OK /);
  expect((await w.command('SELECT INBOX')).tagged).toMatch(/ OK /);
});
afterAll(async () => {
  w?.close();
  await srv?.stop();
});

describe('BINARY', () => {
  it('is announced', async () => {
    expect((await w.command('CAPABILITY')).untagged[0]!.split(' ')).toContain('BINARY');
  });

  it('BINARY.SIZE is the decoded size', async () => {
    const r = await w.command('FETCH 1 (BINARY.SIZE[1] BINARY.SIZE[2] BINARY.SIZE[3])');
    // The ISO-2022-JP part ends before the CRLF that belongs to the boundary (RFC 2046 5.1.1).
    expect(r.untagged).toEqual([`* 1 FETCH (BINARY.SIZE[1] ${sjis.length} BINARY.SIZE[2] ${image.length} BINARY.SIZE[3] ${jis.length - 2})`]);
  });

  it('base64 part with NUL comes as a literal8 of the exact bytes; partials cut the decoded bytes', async () => {
    const r = await w.command('FETCH 1 (BINARY.PEEK[2])');
    expect(r.untagged).toEqual([`* 1 FETCH (BINARY[2] ~{${image.length}})`]);
    expect(r.literals[0]!.equals(image)).toBe(true);
    const p = await w.command('FETCH 1 (BINARY.PEEK[2]<4.12>)');
    expect(p.untagged).toEqual(['* 1 FETCH (BINARY[2]<4> ~{12})']);
    expect(p.literals[0]!.equals(image.subarray(4, 16))).toBe(true);
    // Past the end: empty (RFC 3501 6.4.5, as for BODY[]).
    expect((await w.command(`FETCH 1 (BINARY.PEEK[2]<${image.length}.5>)`)).untagged).toEqual([`* 1 FETCH (BINARY[2]<${image.length}> "")`]);
  });

  it('quoted-printable Shift_JIS and 7bit ISO-2022-JP: transfer encoding undone, charset bytes untouched', async () => {
    const r = await w.command('FETCH 1 (BINARY.PEEK[1] BINARY.PEEK[3])');
    expect(r.untagged).toEqual([`* 1 FETCH (BINARY[1] {${sjis.length}} BINARY[3] {${jis.length - 2}})`]);
    expect(r.literals[0]!.equals(sjis)).toBe(true);
    expect(r.literals[1]!.equals(jis.subarray(0, jis.length - 2))).toBe(true);
  });

  it('unknown transfer encoding is NO [UNKNOWN-CTE]; BINARY without PEEK sets \\Seen', async () => {
    expect((await w.command('FETCH 1 (BINARY.PEEK[4])')).tagged).toMatch(/^T\d+ NO \[UNKNOWN-CTE\] Cannot decode Content-Transfer-Encoding x-uuencode$/);
    const r = await w.command('FETCH 1 (BINARY[3]<0.5>)');
    expect(r.untagged).toEqual(['* 1 FETCH (BINARY[3]<0> {5} FLAGS (\\Seen \\Recent))']);
  });

  it('APPEND takes a literal8 with NUL; BINARY[] of it is a literal8 again', async () => {
    const raw = Buffer.from('Subject: nul\r\nContent-Transfer-Encoding: binary\r\n\r\na\0b\r\n', 'latin1');
    const a = await w.command(`APPEND INBOX ~{${raw.length}+}\r\n`, raw);
    expect(a.tagged).toMatch(/ OK \[APPENDUID \d+ 2\] APPEND completed$/);
    const r = await w.command('UID FETCH 2 (BINARY.PEEK[1] BINARY.PEEK[])');
    expect(r.untagged).toEqual([`* 2 FETCH (UID 2 BINARY[1] ~{5} BINARY[] ~{${raw.length}})`]);
    expect(r.literals[0]!.toString('latin1')).toBe('a\0b\r\n');
    expect(r.literals[1]!.equals(raw)).toBe(true);
  });
});

describe('imapflow', () => {
  it('downloads the decoded attachment and text part with BINARY.PEEK', async () => {
    const client = new ImapFlow({ host: '127.0.0.1', port: srv.port('imap'), secure: false, tls: { rejectUnauthorized: false }, auth: { user: USER, pass: PASS }, logger: false });
    await client.connect();
    const lock = await client.getMailboxLock('INBOX');
    try {
      const read = async (part: string): Promise<Buffer> => {
        const { content } = await client.download('1', part, { uid: true });
        const chunks: Buffer[] = [];
        for await (const c of content!) chunks.push(c as Buffer);
        return Buffer.concat(chunks);
      };
      expect((await read('2')).equals(image)).toBe(true);
      // imapflow converts text parts to UTF-8 itself; the charset survived the server untouched.
      expect((await read('1')).toString('utf8')).toBe('見積書を送付いたします。\r\nよろしくお願いいたします。= 100%\r\n');
    } finally {
      lock.release();
    }
    await client.logout();
  });
});

const haveDovecot = await dovecotAvailable();

describe.skipIf(!haveDovecot)('the same bytes as Dovecot 2.3', () => {
  let dovecot: Dovecot;
  beforeAll(async () => {
    dovecot = await startDovecot({ separator: '.' });
  });
  afterAll(async () => {
    await dovecot?.stop();
  });

  it('BINARY sections, partials and UNKNOWN-CTE', async () => {
    const d = await ImapWire.connect(dovecot.imapPort, 'latin1');
    expect((await d.command(`LOGIN ${dovecot.user} ${dovecot.password}`)).tagged).toMatch(/ OK /);
    expect((await d.command(`APPEND INBOX {${msg.length}+}\r\n`, msg)).tagged).toMatch(/ OK /);
    expect((await d.command('EXAMINE INBOX')).tagged).toMatch(/ OK /);
    expect((await w.command('EXAMINE INBOX')).tagged).toMatch(/ OK /);
    // Dovecot sends every decoded section as a literal8; we only when it holds NUL (RFC 3516
    // 4.3 requires it then). BINARY.SIZE is not compared: Dovecot refuses it for every part of
    // a message that has any part with an unknown encoding; we answer per part.
    const literal8 = (lines: string[]): string[] => lines.map((l) => l.replace(/~\{/g, '{'));
    for (const items of ['BINARY.PEEK[1]', 'BINARY.PEEK[2]', 'BINARY.PEEK[3]', 'BINARY.PEEK[2]<4.12>', 'BINARY.PEEK[1]<10.20>', 'BINARY.PEEK[1] BINARY.PEEK[2]']) {
      const [theirs, ours] = [await d.command(`FETCH 1 (${items})`), await w.command(`FETCH 1 (${items})`)];
      expect(literal8(ours.untagged), items).toEqual(literal8(theirs.untagged));
      expect(ours.literals, items).toEqual(theirs.literals);
    }
    const [theirs, ours] = [await d.command('FETCH 1 (BINARY.PEEK[4])'), await w.command('FETCH 1 (BINARY.PEEK[4])')];
    expect(ours.tagged.split(' ').slice(1, 3)).toEqual(theirs.tagged.split(' ').slice(1, 3)); // NO [UNKNOWN-CTE]
    d.close();
  });
});
