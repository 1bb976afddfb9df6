// Table tests: the commands other than FETCH and SEARCH. Every row is replayed through the
// receiver at chunk sizes 1..512 (replay.ts), so a row also checks literal handling.
import { describe, expect, it } from 'vitest';
import type { Command } from '../../../src/imap/proto/types.js';
import { bad, command, replay, requests } from './replay.js';

const ok: Array<[string, Command]> = [
  // Any state; command names are case-insensitive (RFC 3501 9: ABNF strings).
  ['a CAPABILITY', { name: 'CAPABILITY' }],
  ['a noop', { name: 'NOOP' }],
  ['a LoGoUt', { name: 'LOGOUT' }],
  ['a ID NIL', { name: 'ID', params: null }],
  ['a ID ()', { name: 'ID', params: [] }],
  ['a ID ("name" "mutt" "version" NIL)', { name: 'ID', params: [['name', 'mutt'], ['version', null]] }],
  ['a ID ({4+}\r\nname {3+}\r\nimf)', { name: 'ID', params: [['name', 'imf']] }],
  ['a ENABLE CONDSTORE utf8=accept', { name: 'ENABLE', capabilities: ['CONDSTORE', 'UTF8=ACCEPT'] }],
  // Not authenticated
  ['a STARTTLS', { name: 'STARTTLS' }],
  ['a AUTHENTICATE plain', { name: 'AUTHENTICATE', mechanism: 'PLAIN' }],
  ['a AUTHENTICATE PLAIN AGJvYgBzZWNyZXQ=', { name: 'AUTHENTICATE', mechanism: 'PLAIN', initial: 'AGJvYgBzZWNyZXQ=' }],
  ['a AUTHENTICATE PLAIN =', { name: 'AUTHENTICATE', mechanism: 'PLAIN', initial: '=' }],
  ['a LOGIN bob secret', { name: 'LOGIN', username: 'bob', password: 'secret' }],
  ['a LOGIN "bob@example.com" "p a\\"s\\\\s"', { name: 'LOGIN', username: 'bob@example.com', password: 'p a"s\\s' }],
  ['a LOGIN "" ""', { name: 'LOGIN', username: '', password: '' }],
  ['a LOGIN {3}\r\nbob {6+}\r\nsec"et', { name: 'LOGIN', username: 'bob', password: 'sec"et' }],
  ['a LOGIN b]ob {5}\r\npäss', { name: 'LOGIN', username: 'b]ob', password: 'päss' }],
  // Authenticated: mailbox names (INBOX case-insensitive as a whole, mUTF-7 decoded)
  ['a SELECT inbox', { name: 'SELECT', mailbox: 'INBOX' }],
  ['a EXAMINE "Inbox"', { name: 'EXAMINE', mailbox: 'INBOX' }],
  ['a SELECT inbox/Sub', { name: 'SELECT', mailbox: 'inbox/Sub' }],
  ['a SELECT {5}\r\nINBOX', { name: 'SELECT', mailbox: 'INBOX' }],
  ['a CREATE "&ZeVnLIqe-"', { name: 'CREATE', mailbox: '日本語' }],
  ['a CREATE Tom&-Jerry', { name: 'CREATE', mailbox: 'Tom&Jerry' }],
  ['a DELETE "a b"', { name: 'DELETE', mailbox: 'a b' }],
  ['a SUBSCRIBE Sent', { name: 'SUBSCRIBE', mailbox: 'Sent' }],
  ['a UNSUBSCRIBE {4+}\r\nSent', { name: 'UNSUBSCRIBE', mailbox: 'Sent' }],
  ['a RENAME old "new name"', { name: 'RENAME', from: 'old', to: 'new name' }],
  ['a RENAME {3}\r\nold {3}\r\nnew', { name: 'RENAME', from: 'old', to: 'new' }],
  ['a LIST "" *', { name: 'LIST', reference: '', patterns: ['*'] }],
  ['a LIST "" ""', { name: 'LIST', reference: '', patterns: [''] }],
  ['a LIST ~/Mail/ %/x*', { name: 'LIST', reference: '~/Mail/', patterns: ['%/x*'] }],
  ['a lsub "" "&ZeVnLIqe-/%"', { name: 'LSUB', reference: '', patterns: ['日本語/%'] }],
  ['a LIST {0}\r\n {1}\r\n*', { name: 'LIST', reference: '', patterns: ['*'] }],
  // RFC 5258 syntax, as MailKit sends it once SPECIAL-USE is announced (RFC 6154 5.1).
  ['a LIST (SPECIAL-USE) "" "*"', { name: 'LIST', reference: '', patterns: ['*'], extended: true, selectOptions: ['SPECIAL-USE'] }],
  ['a LIST "" % RETURN (special-use Children)', { name: 'LIST', reference: '', patterns: ['%'], extended: true, returnOptions: ['SPECIAL-USE', 'CHILDREN'] }],
  ['a LIST () "" % RETURN ()', { name: 'LIST', reference: '', patterns: ['%'], extended: true, selectOptions: [], returnOptions: [] }],
  // LIST-EXTENDED (RFC 5258 6): several patterns, options once each; LIST-STATUS (RFC 5819).
  [
    'a LIST (SUBSCRIBED RECURSIVEMATCH subscribed) "" ("INBOX" Lists.% {1}\r\n*) RETURN (CHILDREN STATUS (MESSAGES unseen SIZE) SUBSCRIBED)',
    {
      name: 'LIST',
      reference: '',
      patterns: ['INBOX', 'Lists.%', '*'],
      extended: true,
      selectOptions: ['SUBSCRIBED', 'RECURSIVEMATCH'],
      returnOptions: ['CHILDREN', 'SUBSCRIBED'],
      statusItems: ['MESSAGES', 'UNSEEN', 'SIZE'],
    },
  ],
  ['a LIST (SUBSCRIBED) "" "*" RETURN (SPECIAL-USE)', { name: 'LIST', reference: '', patterns: ['*'], extended: true, selectOptions: ['SUBSCRIBED'], returnOptions: ['SPECIAL-USE'] }],
  ['a CREATE Old (USE (\\Archive))', { name: 'CREATE', mailbox: 'Old', useAttrs: ['\\Archive'] }],
  ['a CREATE Old (use ())', { name: 'CREATE', mailbox: 'Old', useAttrs: [] }],
  ['a GETQUOTAROOT inbox', { name: 'GETQUOTAROOT', mailbox: 'INBOX' }],
  ['a GETQUOTA "User quota"', { name: 'GETQUOTA', root: 'User quota' }],
  ['a SETQUOTA "" (STORAGE 512)', { name: 'SETQUOTA', root: '', limits: [['STORAGE', 512]] }],
  ['a STATUS INBOX (APPENDLIMIT SIZE)', { name: 'STATUS', mailbox: 'INBOX', items: ['APPENDLIMIT', 'SIZE'] }],
  ['a NAMESPACE', { name: 'NAMESPACE' }],
  ['a STATUS INBOX (MESSAGES uidnext UIDVALIDITY UNSEEN RECENT)', { name: 'STATUS', mailbox: 'INBOX', items: ['MESSAGES', 'UIDNEXT', 'UIDVALIDITY', 'UNSEEN', 'RECENT'] }],
  ['a STATUS "a b" (SIZE HIGHESTMODSEQ)', { name: 'STATUS', mailbox: 'a b', items: ['SIZE', 'HIGHESTMODSEQ'] }],
  ['a IDLE', { name: 'IDLE' }],
  // Selected
  ['a CHECK', { name: 'CHECK' }],
  ['a CLOSE', { name: 'CLOSE' }],
  ['a UNSELECT', { name: 'UNSELECT' }],
  ['a EXPUNGE', { name: 'EXPUNGE' }],
  ['a UID EXPUNGE 3:5,*', { name: 'UID EXPUNGE', set: [{ from: 3, to: 5 }, { from: '*', to: '*' }] }],
  ['a STORE 1 FLAGS (\\Seen)', { name: 'STORE', uid: false, set: [{ from: 1, to: 1 }], op: 'set', silent: false, flags: ['\\Seen'] }],
  ['a STORE 1:* +FLAGS.SILENT (\\deleted $Junk)', { name: 'STORE', uid: false, set: [{ from: 1, to: '*' }], op: 'add', silent: true, flags: ['\\Deleted', '$Junk'] }],
  ['a UID STORE 7 -flags \\SEEN \\Flagged', { name: 'STORE', uid: true, set: [{ from: 7, to: 7 }], op: 'remove', silent: false, flags: ['\\Seen', '\\Flagged'] }],
  ['a STORE 2 FLAGS ()', { name: 'STORE', uid: false, set: [{ from: 2, to: 2 }], op: 'set', silent: false, flags: [] }],
  ['a COPY 1:3 Trash', { name: 'COPY', uid: false, set: [{ from: 1, to: 3 }], mailbox: 'Trash' }],
  ['a uid copy *:3 "Sent Items"', { name: 'COPY', uid: true, set: [{ from: '*', to: 3 }], mailbox: 'Sent Items' }],
  ['a MOVE 4294967295 inbox', { name: 'MOVE', uid: false, set: [{ from: 4294967295, to: 4294967295 }], mailbox: 'INBOX' }],
  ['a UID MOVE 1,3:2,5:* {4}\r\nJunk', { name: 'MOVE', uid: true, set: [{ from: 1, to: 1 }, { from: 3, to: 2 }, { from: 5, to: '*' }], mailbox: 'Junk' }],
];

const errors: Array<[string, string]> = [
  ['a FOO', 'Unknown command FOO'],
  ['a', 'Missing argument'],
  ['a  NOOP', 'Expected a command name'],
  ['a NOOP extra', 'Error in IMAP command NOOP: Unexpected extra arguments'],
  ['a NOOP ', 'Error in IMAP command NOOP: Unexpected extra arguments'],
  ['a LOGIN bob', 'Error in IMAP command LOGIN: Missing argument'],
  ['a LOGIN bob  pw', 'Error in IMAP command LOGIN: Expected a password'],
  ['a LOGIN "bob pw', 'Error in IMAP command LOGIN: Unterminated quoted string'],
  ['a LOGIN "b\\ob" pw', 'Error in IMAP command LOGIN: Invalid escape in quoted string'],
  ['a LOGIN (bob) pw', 'Error in IMAP command LOGIN: Expected a user name'],
  ['a LOGIN {3}\r\nb\0b pw', 'Error in IMAP command LOGIN: NUL in a user name'],
  ['a AUTHENTICATE PLAIN not*base64', 'Error in IMAP command AUTHENTICATE: Invalid base64 initial response'],
  ['a AUTHENTICATE PLAIN abc', 'Error in IMAP command AUTHENTICATE: Invalid base64 initial response'],
  ['a ID', 'Error in IMAP command ID: Missing argument'],
  ['a ID ("name")', 'Error in IMAP command ID: Expected a single space between arguments'],
  ['a ENABLE', 'Error in IMAP command ENABLE: Missing argument'],
  ['a SELECT "a&Jjo"', 'Error in IMAP command SELECT: Mailbox name is not valid modified UTF-7 (RFC 3501 5.1.3)'],
  ['a SELECT "&AGEAYgBj-"', 'Error in IMAP command SELECT: Mailbox name is not valid modified UTF-7 (RFC 3501 5.1.3)'],
  ['a SELECT "Ünicode"', 'Error in IMAP command SELECT: Mailbox name is not valid modified UTF-7 (8-bit bytes; RFC 3501 5.1.3)'],
  ['a SELECT {3}\r\na\0b', 'Error in IMAP command SELECT: NUL in mailbox name'],
  ['a SELECT INBOX (FOO)', 'Error in IMAP command SELECT: Unknown SELECT parameter FOO'],
  ['a CREATE', 'Error in IMAP command CREATE: Missing argument'],
  ['a LIST ""', 'Error in IMAP command LIST: Missing argument'],
  ['a LSUB (SUBSCRIBED) "" *', 'Error in IMAP command LSUB: Expected a reference name'],
  ['a LSUB "" ("INBOX" "Sent")', 'Error in IMAP command LSUB: Expected a mailbox pattern'],
  ['a LIST "" ()', 'Error in IMAP command LIST: Expected at least one item in a list of mailbox patterns'],
  ['a LIST (RECURSIVEMATCH) "" *', 'Error in IMAP command LIST: RECURSIVEMATCH needs another selection option (RFC 5258 3.1)'],
  ['a LIST (REMOTE RECURSIVEMATCH) "" *', 'Error in IMAP command LIST: RECURSIVEMATCH needs another selection option (RFC 5258 3.1)'],
  ['a LIST (FOO) "" *', 'Error in IMAP command LIST: Unknown LIST selection option FOO'],
  ['a LIST "" * RETURN (FOO)', 'Error in IMAP command LIST: Unknown LIST return option FOO'],
  ['a LIST "" * RETURN (STATUS ())', 'Error in IMAP command LIST: Expected at least one item in a status item list'],
  ['a CREATE x (FOO)', 'Error in IMAP command CREATE: Unknown CREATE parameter FOO'],
  ['a CREATE x (USE (Archive))', 'Error in IMAP command CREATE: Expected a special-use attribute (\\Name)'],
  ['a CREATE x ()', 'Error in IMAP command CREATE: Expected at least one item in a list of CREATE parameters'],
  ['a SETQUOTA "" (STORAGE)', 'Error in IMAP command SETQUOTA: Expected a single space between arguments'],
  ['a APPEND INBOX UTF8 {1}\r\nx', 'Error in IMAP command APPEND: Expected "(" before the UTF8 literal'],
  ['a APPEND INBOX UTF8 (~{1}\r\nx', 'Error in IMAP command APPEND: Expected ")" after the UTF8 literal'],
  ['a LIST "" * (CHILDREN)', 'Error in IMAP command LIST: Expected RETURN'],
  ['a LIST (SPECIAL-USE "" *', 'Error in IMAP command LIST: Expected a selection option'],
  ['a STATUS INBOX (MESSAGES FOO)', 'Error in IMAP command STATUS: Unknown STATUS item FOO'],
  ['a STATUS INBOX ()', 'Error in IMAP command STATUS: Expected at least one item in a status item list'],
  ['a STATUS INBOX MESSAGES', 'Error in IMAP command STATUS: Expected a status item list'],
  ['a STORE 1 FLAGS (\\Recent)', 'Error in IMAP command STORE: Invalid system flag \\Recent'],
  ['a STORE 1 FLAGS (\\Foo)', 'Error in IMAP command STORE: Invalid system flag \\Foo'],
  ['a STORE 1 XFLAGS (\\Seen)', 'Error in IMAP command STORE: Invalid STORE item XFLAGS'],
  ['a STORE 1 FLAGS (\\Seen', 'Error in IMAP command STORE: Missing argument'],
  ['a COPY 0 Trash', 'Error in IMAP command COPY: Expected a sequence number, got 0'],
  ['a COPY 4294967296 Trash', 'Error in IMAP command COPY: Number out of range: 4294967296'],
  ['a COPY 1: Trash', 'Error in IMAP command COPY: Expected a sequence number'],
  ['a COPY 1,,2 Trash', 'Error in IMAP command COPY: Invalid sequence set'],
  ['a COPY $ Trash', 'Error in IMAP command COPY: Invalid sequence set'],
  ['a UID FOO 1', 'Error in IMAP command UID: Unknown UID command FOO'],
  ['a UID EXPUNGE', 'Error in IMAP command UID: Missing argument'],
  ['a APPEND INBOX "hello"', 'Error in IMAP command APPEND: Invalid date-time (expected "dd-Mon-yyyy hh:mm:ss +zzzz")'],
  ['a APPEND INBOX hello', 'Error in IMAP command APPEND: APPEND needs the message as a literal'],
  ['a APPEND INBOX "31-Feb-2020 10:00:00 +0000" {1}\r\nx', 'Error in IMAP command APPEND: Invalid date-time'],
  ['a APPEND INBOX {1}\r\nx extra', 'Error in IMAP command APPEND: Unexpected extra arguments'],
  // A literal announcement is only one at the end of a line.
  ['a LOGIN {3} x', 'Error in IMAP command LOGIN: Invalid literal'],
  ['a LOGIN ~{3}\r\nbob pw', 'Error in IMAP command LOGIN: literal8 is not allowed here'],
];

describe('IMAP grammar: commands other than FETCH and SEARCH', () => {
  it.each(ok)('%j', (input, expected) => {
    expect(command(input)).toEqual(expected);
  });

  it.each(errors)('%j is BAD', (input, text) => {
    expect(bad(input)).toBe(text);
  });

  it('APPEND: flags, date-time with a space-padded day, LITERAL+, literal8', () => {
    const c = command('a APPEND "Sent" (\\Seen $Sent) " 7-Jul-1996 02:44:25 -0700" {13+}\r\nHi\r\nthere\r\n!!');
    expect(c).toEqual({
      name: 'APPEND',
      mailbox: 'Sent',
      flags: ['\\Seen', '$Sent'],
      internalDate: new Date('1996-07-07T09:44:25Z'),
      message: Buffer.from('Hi\r\nthere\r\n!!'),
    });
    expect(command('a APPEND INBOX ~{3}\r\na\0b')).toEqual({ name: 'APPEND', mailbox: 'INBOX', flags: [], message: Buffer.from('a\0b') });
    // RFC 6855 4: UTF8 (literal8).
    expect(command('a APPEND INBOX (\\Seen) utf8 (~{2}\r\nhi)')).toEqual({ name: 'APPEND', mailbox: 'INBOX', flags: ['\\Seen'], message: Buffer.from('hi'), utf8: true });
    expect(command('a APPEND INBOX "7-Jul-1996 02:44:25 +0000" {1}\r\nx')).toMatchObject({ internalDate: new Date('1996-07-07T02:44:25Z') });
    expect(command('a APPEND INBOX "17-Jul-1996 02:44:25 +0530" {0}\r\n')).toMatchObject({
      internalDate: new Date('1996-07-16T21:14:25Z'),
      message: Buffer.alloc(0),
    });
  });

  it('a synchronising literal asks for a continuation with the tag; LITERAL+ does not', () => {
    expect(replay('t1 LOGIN {3}\r\nbob {2+}\r\npw\r\n').map((e) => e.type)).toEqual(['continue', 'request']);
    expect(replay('t1 LOGIN {3}\r\nbob {2+}\r\npw\r\n')[0]).toEqual({ type: 'continue', tag: 't1' });
  });

  it('a line without a valid tag is an untagged error from the receiver', () => {
    for (const line of ['+a NOOP\r\n', '(x) NOOP\r\n', ' NOOP\r\n', 'a"b NOOP\r\n']) {
      expect(replay(line)).toEqual([{ type: 'error', tag: null, code: 'PARSE', text: 'Invalid tag', fatal: false }]);
    }
  });

  it('pipelined commands come out in order, with bare LF accepted as a line end', () => {
    const reqs = requests('a NOOP\nb SELECT INBOX\r\n\r\nc LOGOUT\r\n');
    expect(reqs.map((r) => r.ok && r.command.name)).toEqual(['NOOP', 'SELECT', 'LOGOUT']);
    expect(reqs.map((r) => r.tag)).toEqual(['a', 'b', 'c']);
  });
});
