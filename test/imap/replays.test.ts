// The opening sequences real clients send, replayed byte for byte over a raw socket (with our
// own inflater/deflater once COMPRESS is on), each reply checked: the tagged status and the
// untagged lines the client acts on. Where each sequence comes from is cited at its test.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import zlib from 'node:zlib';
import type { TestServer } from '../helpers/app.js';
import { DeflateWire, type WireResponse } from '../helpers/deflate-wire.js';
import { LineClient } from '../helpers/line-client.js';
import { japaneseMessage } from '../helpers/messages.js';
import { encodeMutf7 } from '../../src/maildir/utf7.js';
import { append, Imap, message, PASS, startImapServer, USER } from './client.js';

/** A folder with a non-ASCII name: UTF-8 on the wire once UTF8=ACCEPT is on (RFC 6855 3). */
const JP_FOLDER = '請求書';

let srv: TestServer;
beforeAll(async () => {
  srv = await startImapServer();
  // The user's account as these clients find it: the default folders (Drafts, Sent, Junk,
  // Trash, Archive, subscribed, with their special use), a few messages, one subscribed
  // folder with a Japanese name.
  const i = await Imap.login(srv);
  expect((await i.cmd(`CREATE ${encodeMutf7(JP_FOLDER)}`)).at(-1)).toMatch(/ OK /);
  expect((await i.cmd(`SUBSCRIBE ${encodeMutf7(JP_FOLDER)}`)).at(-1)).toMatch(/ OK /);
  for (const s of ['first', 'second', 'third']) await append(i, 'INBOX', message(s));
  await append(i, 'INBOX', japaneseMessage({ id: 'jp-1' }).toString('latin1'), '\\Seen');
  await append(i, 'Sent', message('sent one'), '\\Seen');
  i.close();
});
afterAll(async () => {
  await srv?.stop();
});

const b64 = (s: string) => Buffer.from(s).toString('base64');

/** `* LIST (attrs) "delim" name` lines → name → attributes (names unquoted). */
function listed(r: WireResponse): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const l of r.untagged) {
    const m = /^\* LIST \(([^)]*)\) (?:"(.)"|NIL) (?:"((?:[^"\\]|\\.)*)"|(\S+))$/.exec(l);
    if (!m) continue;
    // Lines are read as latin1; names with UTF-8 (after ENABLE UTF8=ACCEPT) are decoded here.
    out.set(Buffer.from(m[3] ?? m[4]!, 'latin1').toString('utf8'), new Set(m[1]!.split(' ').filter(Boolean)));
  }
  return out;
}

/** `* STATUS name (K V ...)` → map of items. */
function statusItems(line: string | undefined): Record<string, number> {
  const m = /\(([^)]*)\)$/.exec(line ?? '');
  const parts = m?.[1]?.split(' ') ?? [];
  const out: Record<string, number> = {};
  for (let i = 0; i + 1 < parts.length; i += 2) out[parts[i]!] = Number(parts[i + 1]);
  return out;
}

/** SASL PLAIN without SASL-IR: the command, the `+ ` continuation, then the credentials. */
async function authenticatePlain(c: DeflateWire, tag: string, command = 'AUTHENTICATE PLAIN'): Promise<WireResponse> {
  c.send(`${tag} ${command}\r\n`);
  expect(await c.line()).toBe('+ ');
  c.send(`${b64(`\0${USER}\0${PASS}`)}\r\n`);
  return c.response(tag);
}

async function deliver(subject: string): Promise<void> {
  const lmtp = await LineClient.connect(srv.lmtpPort);
  await lmtp.reply();
  await lmtp.command('LHLO replay.test');
  await lmtp.command('MAIL FROM:<bob@example.test>');
  await lmtp.command(`RCPT TO:<${USER}>`);
  await lmtp.command('DATA');
  lmtp.write(message(subject) + '\r\n.\r\n');
  expect((await lmtp.reply())[0]).toMatch(/^250 /);
  lmtp.close();
}

const DEFAULT_FOLDERS: Array<[string, string]> = [
  ['Drafts', '\\Drafts'],
  ['Sent', '\\Sent'],
  ['Junk', '\\Junk'],
  ['Trash', '\\Trash'],
  ['Archive', '\\Archive'],
];

describe('client opening replays', () => {
  // Thunderbird 115 (desktop) on 993. The sequence and its lower-case spelling are from
  // Thunderbird's IMAP logs in stalwartlabs/stalwart#234 (115.7.0: `authenticate PLAIN`
  // answered `+`, then `ID ("name" "Thunderbird" "version" "115.7.0")`, `ENABLE UTF8=ACCEPT`)
  // and mjl-/mox#66 (115.2.2: `list (subscribed) "" "*" return (special-use)`). Thunderbird
  // uses no SASL-IR for PLAIN. Its folder poll is `STATUS "<name>" (UIDNEXT MESSAGES UNSEEN
  // RECENT)` (Thunderbird's nsImapProtocol, quoted in several server test suites).
  it('Thunderbird: capability, authenticate PLAIN, ID, ENABLE UTF8=ACCEPT, LIST-EXTENDED, namespace, STATUS polling', async () => {
    const c = await DeflateWire.connect(srv.port('imaps'), { tls: true });
    expect(c.greeting).toMatch(/^\* OK \[CAPABILITY IMAP4rev1 .*\] /);

    const cap = await c.tagged('1', 'capability');
    expect(cap.tagged).toBe('1 OK CAPABILITY completed');
    const caps = cap.untagged[0]!.split(' ');
    for (const want of ['IMAP4rev1', 'ID', 'ENABLE', 'UTF8=ACCEPT', 'LIST-EXTENDED', 'SPECIAL-USE', 'IDLE', 'NAMESPACE', 'MOVE', 'UIDPLUS', 'COMPRESS=DEFLATE', 'AUTH=PLAIN']) {
      expect(caps).toContain(want);
    }

    const auth = await authenticatePlain(c, '2', 'authenticate PLAIN');
    expect(auth.untagged).toEqual([]);
    expect(auth.tagged).toMatch(/^2 OK \[CAPABILITY IMAP4rev1 [^\]]*\] Logged in$/);

    const id = await c.tagged('3', 'ID ("name" "Thunderbird" "version" "115.7.0")');
    expect(id.untagged).toEqual(['* ID ("name" "mailserver" "vendor" "mailserver")']);
    expect(id.tagged).toBe('3 OK ID completed');

    // RFC 6855 3: the server says what it enabled.
    const en = await c.tagged('4', 'ENABLE UTF8=ACCEPT');
    expect(en.untagged).toEqual(['* ENABLED UTF8=ACCEPT']);
    expect(en.tagged).toMatch(/^4 OK /);

    // RFC 5258 3.1 + RFC 6154 5.1: subscribed folders, each marked \Subscribed, with its
    // special use; after UTF8=ACCEPT the Japanese name comes as UTF-8, not modified UTF-7.
    const list = await c.tagged('5', 'list (subscribed) "" "*" return (special-use)');
    expect(list.tagged).toMatch(/^5 OK /);
    const folders = listed(list);
    expect([...folders.keys()].sort()).toEqual(['Archive', 'Drafts', 'INBOX', 'Junk', 'Sent', 'Trash', JP_FOLDER].sort());
    for (const [name, attrs] of folders) expect([name, attrs.has('\\Subscribed')]).toEqual([name, true]);
    for (const [name, use] of DEFAULT_FOLDERS) expect([name, folders.get(name)?.has(use)]).toEqual([name, true]);
    expect(list.untagged.some((l) => l.includes(encodeMutf7(JP_FOLDER)))).toBe(false);

    const ns = await c.tagged('6', 'namespace');
    expect(ns.untagged).toEqual(['* NAMESPACE (("" ".")) NIL NIL']);
    expect(ns.tagged).toBe('6 OK NAMESPACE completed');

    const sel = await c.tagged('7', 'select "INBOX"');
    expect(sel.tagged).toBe('7 OK [READ-WRITE] SELECT completed');
    expect(sel.untagged).toContain('* 4 EXISTS');
    expect(sel.untagged.some((l) => /^\* OK \[UIDVALIDITY \d+\]/.test(l))).toBe(true);
    expect(sel.untagged.some((l) => /^\* OK \[UIDNEXT 5\]/.test(l))).toBe(true);

    const flags = await c.tagged('8', 'UID fetch 1:* (FLAGS)');
    expect(flags.untagged).toEqual([
      '* 1 FETCH (UID 1 FLAGS (\\Recent))',
      '* 2 FETCH (UID 2 FLAGS (\\Recent))',
      '* 3 FETCH (UID 3 FLAGS (\\Recent))',
      '* 4 FETCH (UID 4 FLAGS (\\Seen \\Recent))',
    ]);
    expect(flags.tagged).toBe('8 OK UID FETCH completed');

    // The poll of every other folder, with the items Thunderbird asks for.
    const sent = await c.tagged('9', 'STATUS "Sent" (UIDNEXT MESSAGES UNSEEN RECENT)');
    expect(sent.tagged).toBe('9 OK STATUS completed');
    expect(sent.untagged[0]).toMatch(/^\* STATUS "?Sent"? \(/);
    expect(statusItems(sent.untagged[0])).toEqual({ UIDNEXT: 2, MESSAGES: 1, UNSEEN: 0, RECENT: 1 });
    // After ENABLE UTF8=ACCEPT Thunderbird names folders in UTF-8 (RFC 6855 3).
    const jp = await c.tagged('10', `STATUS "${JP_FOLDER}" (UIDNEXT MESSAGES UNSEEN RECENT UIDVALIDITY)`);
    expect(jp.tagged).toBe('10 OK STATUS completed');
    expect(Buffer.from(jp.untagged[0]!, 'latin1').toString('utf8')).toMatch(new RegExp(`^\\* STATUS "${JP_FOLDER}" \\(`));
    expect(statusItems(jp.untagged[0])).toMatchObject({ UIDNEXT: 1, MESSAGES: 0, UNSEEN: 0, RECENT: 0 });
    expect(statusItems(jp.untagged[0]).UIDVALIDITY).toBeGreaterThan(0);

    const bye = await c.tagged('11', 'logout');
    expect(bye.untagged).toEqual(['* BYE Logging out']);
    expect(bye.tagged).toBe('11 OK LOGOUT completed');
    c.close();
  });

  // Thunderbird for Android / K-9 Mail with "STARTTLS" and compression on, as its
  // RealImapConnection.open() runs (thunderbird/thunderbird-android,
  // mail/protocols/imap/.../RealImapConnection.kt): greeting capabilities, STARTTLS then
  // CAPABILITY again (RFC 2595 3.1), AUTHENTICATE PLAIN waiting for the continuation (its
  // saslAuthPlain(); SASL-IR is used only for OAuth), COMPRESS DEFLATE with a JZlib
  // compressor at Z_BEST_SPEED flushing with Z_PARTIAL_FLUSH, ID, `ENABLE UTF8=ACCEPT`
  // (Commands.kt), NAMESPACE; then RealImapStore's `LIST "" "*" RETURN (SPECIAL-USE)`,
  // RealImapFolder's `SELECT "INBOX"`, and the idler's IDLE. Log excerpt of the same start:
  // thunderbird/thunderbird-android#4426 (`3 COMPRESS DEFLATE` right after authentication).
  it('K-9 / Thunderbird for Android: STARTTLS, AUTHENTICATE PLAIN, COMPRESS, ID, ENABLE, NAMESPACE, LIST, SELECT, IDLE with a delivery', async () => {
    const c = await DeflateWire.connect(srv.port('imap'));
    expect(c.greeting).toMatch(/^\* OK \[CAPABILITY IMAP4rev1 .*STARTTLS.*\] /);
    expect(await c.starttls('1')).toBe('1 OK Begin TLS negotiation now');
    expect(c.tlsProtocol).toMatch(/^TLSv1\.[23]$/);
    const cap = await c.tagged('2', 'CAPABILITY');
    expect(cap.untagged[0]).toMatch(/^\* CAPABILITY IMAP4rev1 .*AUTH=PLAIN/);
    expect(cap.untagged[0]).not.toContain('STARTTLS');
    const auth = await authenticatePlain(c, '3');
    expect(auth.tagged).toMatch(/^3 OK \[CAPABILITY [^\]]*COMPRESS=DEFLATE[^\]]*\] Logged in$/);

    c.flushMode = zlib.constants.Z_PARTIAL_FLUSH;
    c.deflateLevel = 1;
    expect(await c.compress([], '4')).toBe('4 OK DEFLATE active');

    const id = await c.tagged('5', 'ID ("name" "Thunderbird for Android" "version" "11.0")');
    expect(id.tagged).toBe('5 OK ID completed');
    expect(id.untagged).toEqual(['* ID ("name" "mailserver" "vendor" "mailserver")']);
    const en = await c.tagged('6', 'ENABLE UTF8=ACCEPT');
    expect(en.untagged).toEqual(['* ENABLED UTF8=ACCEPT']);
    expect(en.tagged).toMatch(/^6 OK /);
    const ns = await c.tagged('7', 'NAMESPACE');
    expect(ns.untagged).toEqual(['* NAMESPACE (("" ".")) NIL NIL']);

    const list = await c.tagged('8', 'LIST "" "*" RETURN (SPECIAL-USE)');
    expect(list.tagged).toBe('8 OK LIST completed');
    const folders = listed(list);
    expect([...folders.keys()].sort()).toEqual(['Archive', 'Drafts', 'INBOX', 'Junk', 'Sent', 'Trash', JP_FOLDER].sort());
    for (const [name, use] of DEFAULT_FOLDERS) expect([name, folders.get(name)?.has(use)]).toEqual([name, true]);
    for (const attrs of folders.values()) expect(attrs.has('\\Noselect') || attrs.has('\\NonExistent')).toBe(false);

    const sel = await c.tagged('9', 'SELECT "INBOX"');
    expect(sel.tagged).toBe('9 OK [READ-WRITE] SELECT completed');
    const exists = Number(/^\* (\d+) EXISTS$/m.exec(sel.untagged.join('\n'))![1]);
    const uidNext = Number(/UIDNEXT (\d+)/.exec(sel.untagged.join('\n'))![1]);

    c.send('10 IDLE\r\n');
    expect(await c.line()).toBe('+ idling');
    await deliver('for the phone');
    // Each push is flushed at once through the compressor (RFC 4978 4).
    expect(await c.line(5000)).toBe(`* ${exists + 1} EXISTS`);
    expect(await c.line(5000)).toMatch(/^\* \d+ RECENT$/);
    c.send('DONE\r\n');
    expect((await c.response('10')).tagged).toBe('10 OK IDLE terminated');
    // What K-9 does next: fetch the new message's flags and headers by UID.
    const f = await c.tagged('11', `UID FETCH ${uidNext} (UID FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (SUBJECT)])`);
    expect(f.tagged).toBe('11 OK UID FETCH completed');
    expect(f.untagged[0]).toMatch(new RegExp(`^\\* ${exists + 1} FETCH \\(UID ${uidNext} FLAGS \\(\\\\Recent\\) RFC822\\.SIZE \\d+ BODY\\[HEADER\\.FIELDS \\(SUBJECT\\)\\] \\{\\d+\\}`));
    expect(f.literals[0]!.toString()).toBe('Subject: for the phone\r\n\r\n');
    c.close();
  });

  // iOS Mail (iPhone Mail) on 993. From server traces: iOS 26 starts `1 CAPABILITY`,
  // `2 AUTHENTICATE PLAIN` answered `+`, then the credentials (zone-eu/wildduck#869); iOS 18
  // pipelines `NAMESPACE` and `LIST "" "*" RETURN (SPECIAL-USE)` in one segment and opens the
  // inbox with `SELECT "INBOX" (CONDSTORE)` (stalwartlabs/stalwart#765). Its ID follows the
  // authentication, and its COMPRESS is the one other servers had to switch off over inflate
  // errors (zone-eu/wildduck#115): here its first compressed commands ride in the same
  // segment as the COMPRESS line. Deleting moves to Trash with UID MOVE.
  it('iOS Mail: CAPABILITY, AUTHENTICATE PLAIN, ID, COMPRESS with pipelined commands, SELECT (CONDSTORE), UID FETCH, UID MOVE to Trash', async () => {
    const c = await DeflateWire.connect(srv.port('imaps'), { tls: true });
    const cap = await c.tagged('1', 'CAPABILITY');
    expect(cap.tagged).toBe('1 OK CAPABILITY completed');
    const auth = await authenticatePlain(c, '2');
    expect(auth.tagged).toMatch(/^2 OK \[CAPABILITY [^\]]*\] Logged in$/);
    const id = await c.tagged('3', 'ID ("name" "iPhone Mail" "version" "22A3354" "os" "iOS" "os-version" "18.0 (22A3354)")');
    expect(id.tagged).toBe('3 OK ID completed');
    expect(srv.logs.some((l) => l.msg === 'client id' && (l.client as Record<string, string>)?.name === 'iPhone Mail')).toBe(true);

    expect(await c.compress(['5 NAMESPACE\r\n', '6 LIST "" "*" RETURN (SPECIAL-USE)\r\n'], '4')).toBe('4 OK DEFLATE active');
    const ns = await c.response('5');
    expect(ns.untagged).toEqual(['* NAMESPACE (("" ".")) NIL NIL']);
    expect(ns.tagged).toBe('5 OK NAMESPACE completed');
    const list = await c.response('6');
    expect(list.tagged).toBe('6 OK LIST completed');
    expect(listed(list).get('Trash')?.has('\\Trash')).toBe(true);

    // RFC 7162 3.1.8: SELECT with the CONDSTORE parameter enables it and reports HIGHESTMODSEQ.
    const sel = await c.tagged('7', 'SELECT "INBOX" (CONDSTORE)');
    expect(sel.tagged).toBe('7 OK [READ-WRITE] SELECT completed');
    expect(sel.untagged.some((l) => /^\* OK \[HIGHESTMODSEQ \d+\]/.test(l))).toBe(true);
    const exists = Number(/^\* (\d+) EXISTS$/m.exec(sel.untagged.join('\n'))![1]);
    expect(exists).toBeGreaterThanOrEqual(4);

    // CONDSTORE is on: every FETCH reply carries MODSEQ (RFC 7162 3.1.4.1).
    const all = await c.tagged('8', 'UID FETCH 1:* (UID FLAGS)');
    expect(all.tagged).toBe('8 OK UID FETCH completed');
    expect(all.untagged).toHaveLength(exists);
    for (const l of all.untagged) expect(l).toMatch(/^\* \d+ FETCH \(UID \d+ FLAGS \([^)]*\) MODSEQ \(\d+\)\)$/);

    // The Japanese message (UID 4): its body, as iOS downloads it.
    const body = await c.tagged('9', 'UID FETCH 4 (UID RFC822.SIZE BODY.PEEK[])');
    expect(body.tagged).toBe('9 OK UID FETCH completed');
    expect(createHash('sha256').update(body.literals[0]!).digest('hex')).toBe(createHash('sha256').update(japaneseMessage({ id: 'jp-1' })).digest('hex'));

    // Delete = move to Trash (RFC 6851 3.3: COPYUID first, then the EXPUNGE).
    const trash = await c.tagged('10', 'STATUS "Trash" (UIDNEXT UIDVALIDITY)');
    const t = statusItems(trash.untagged[0]);
    const mv = await c.tagged('11', 'UID MOVE 2 "Trash"');
    expect(mv.untagged).toEqual([`* OK [COPYUID ${t.UIDVALIDITY} 2 ${t.UIDNEXT}] Moved`, '* 2 EXPUNGE']);
    expect(mv.tagged).toMatch(/^11 OK /);
    const after = await c.tagged('12', 'UID FETCH 1:* (UID)');
    expect(after.untagged.map((l) => /UID (\d+)/.exec(l)![1])).not.toContain('2');
    const inTrash = await c.tagged('13', 'STATUS "Trash" (MESSAGES)');
    expect(statusItems(inTrash.untagged[0])).toEqual({ MESSAGES: 1 });
    const bye = await c.tagged('14', 'LOGOUT');
    expect(bye.untagged).toEqual(['* BYE Logging out']);
    c.close();
  });
});
