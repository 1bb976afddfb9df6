import { describe, expect, it } from 'vitest';
import { decodeMutf7, encodeMutf7 } from '../../src/maildir/utf7.js';
import { folderDirName, mailboxDir, mailboxNameFromDir, parseMailboxName, userDir, validateUser } from '../../src/maildir/paths.js';
import { nextUid, parseUidlist, serializeUidlist } from '../../src/maildir/uidlist.js';
import { buildBaseName, buildFileName, escapeHost, flagsToInfo, infoToFlags, parseFileName } from '../../src/maildir/filename.js';
import { addKeywords, letterForKeyword, parseKeywords, serializeKeywords } from '../../src/maildir/keywords.js';
import { parseSubscriptions, serializeSubscriptions } from '../../src/maildir/subscriptions.js';
import { parseMaildirsize } from '../../src/maildir/quota.js';
import { LfNormalizer } from '../../src/maildir/normalize.js';
import { compareMaildirNames } from '../../src/maildir/mailbox-state.js';
import { StoreError } from '../../src/maildir/types.js';

const user = { domain: 'example.test', localPart: 'alice' };

function invalid(fn: () => unknown): void {
  expect(fn).toThrow(StoreError);
  try {
    fn();
  } catch (err) {
    expect((err as StoreError).code).toBe('invalid-name');
  }
}

describe('paths', () => {
  it('builds the Dovecot layout', () => {
    expect(userDir('/m', user)).toBe('/m/example.test/alice');
    expect(mailboxDir('/m', user, 'INBOX')).toBe('/m/example.test/alice');
    expect(mailboxDir('/m', user, 'inbox')).toBe('/m/example.test/alice');
    expect(mailboxDir('/m', user, 'Archive/2024')).toBe('/m/example.test/alice/.Archive.2024');
    expect(mailboxDir('/m', user, '受信箱/アーカイブ')).toBe('/m/example.test/alice/.&U9dP4Xux-.&MKIw,DCrMKQw1g-');
  });

  it.each(['../x', 'a/b', 'a\0b', '..', '.hidden', 'x'.repeat(256), '', 'Alice', 'a\nb', 'a\\b', 'a..b', '\u007f'])(
    'rejects hostile user component %j',
    (bad) => {
      invalid(() => validateUser({ domain: bad, localPart: 'alice' }));
      invalid(() => validateUser({ domain: 'example.test', localPart: bad }));
      invalid(() => userDir('/m', { domain: 'example.test', localPart: bad }));
    },
  );

  it('rejects non-string user parts', () => {
    invalid(() => validateUser({ domain: undefined as unknown as string, localPart: 'a' }));
  });

  it.each(['', '/', 'a//b', '/a', 'a/', '..', '../x', 'a/../b', '.hidden', 'a.b', 'x\0y', 'x\ty', 'x\u0085y', 'x'.repeat(601), 'a\\b'])(
    'rejects hostile mailbox name %j',
    (bad) => invalid(() => mailboxDir('/m', user, bad)),
  );

  it('rejects names whose encoded directory exceeds 255 bytes', () => {
    invalid(() => folderDirName(parseMailboxName('受'.repeat(100))));
    expect(folderDirName(parseMailboxName('a'.repeat(254)))).toHaveLength(255);
  });

  it('canonicalises INBOX and its children', () => {
    expect(parseMailboxName('iNbOx/Sub').name).toBe('INBOX/Sub');
    expect(mailboxNameFromDir('.INBOX.Sub')).toBe('INBOX/Sub');
    expect(mailboxNameFromDir('.Archive.2024')).toBe('Archive/2024');
    expect(mailboxNameFromDir('..')).toBeNull();
    expect(mailboxNameFromDir('.a..b')).toBeNull();
    expect(mailboxNameFromDir('.&bad')).toBeNull();
    expect(mailboxNameFromDir('cur')).toBeNull();
  });
});

describe('modified UTF-7', () => {
  it.each([
    ['INBOX', 'INBOX'],
    ['受信箱', '&U9dP4Xux-'],
    ['アーカイブ', '&MKIw,DCrMKQw1g-'],
    ['A&B', 'A&-B'],
    ['&', '&-'],
    ['Entwürfe', 'Entw&APw-rfe'],
    ['~peter/mail/台北/日本語', '~peter/mail/&U,BTFw-/&ZeVnLIqe-'],
    ['😀 smile', '&2D3eAA- smile'],
  ])('%s ↔ %s', (utf8, mutf7) => {
    expect(encodeMutf7(utf8)).toBe(mutf7);
    expect(decodeMutf7(mutf7)).toBe(utf8);
  });

  it('rejects malformed input', () => {
    for (const bad of ['&U9dP4Xux', '&AGE-' /* encoded 'a' */, '&ZeVnLIqe=-', 'a\u00e9', '&2D0-']) {
      expect(() => decodeMutf7(bad)).toThrow();
    }
  });
});

describe('dovecot-uidlist', () => {
  // Shapes as Dovecot 2.3.19 writes them: header N lags behind appended records.
  const sample =
    '3 V1795389291 N1 Gf8d1f12a6b77036bae1d000083ecc375\n' +
    '1 :1795389291.M720491P7598.vm,S=262,W=274\n' +
    '2 W277 :1795389291.M727002P7598.vm,S=265\n' +
    '5 :1795389291.M729230P7598.vm,S=265,W=277\n';

  it('parses records, extensions and the effective next UID', () => {
    const list = parseUidlist(sample);
    expect(list.uidValidity).toBe(1795389291);
    expect(list.guid).toBe('f8d1f12a6b77036bae1d000083ecc375');
    expect(list.records.map((r) => r.uid)).toEqual([1, 2, 5]);
    expect(list.records[1]!.ext).toEqual(['W277']);
    expect(nextUid(list)).toBe(6);
  });

  it('round-trips with the header N brought up to date', () => {
    const out = serializeUidlist(parseUidlist(sample));
    expect(out).toBe(sample.replace('N1 ', 'N6 '));
    expect(parseUidlist(out)).toEqual({ ...parseUidlist(sample), headerNextUid: 6 });
  });

  it('keeps a header N ahead of the last record', () => {
    expect(nextUid(parseUidlist('3 V7 N40 Gab\n3 :x\n'))).toBe(40);
  });

  it('skips non-increasing and malformed lines, rejects unknown versions', () => {
    const list = parseUidlist('3 V7 N1\n2 :a\n2 :b\nfoo\n1 :c\n3 :d\n');
    expect(list.records.map((r) => r.baseName)).toEqual(['a', 'd']);
    expect(() => parseUidlist('9 V1 N1\n')).toThrow();
  });

  it('reads version 1 files', () => {
    const list = parseUidlist('1 1100000000 3\n1 0 1100000000.M1P1.h:2,S\n2 0 1100000001.M1P1.h\n');
    expect(list.uidValidity).toBe(1100000000);
    expect(list.records.map((r) => r.baseName)).toEqual(['1100000000.M1P1.h', '1100000001.M1P1.h']);
    expect(serializeUidlist(list).split('\n')[0]).toBe('3 V1100000000 N3');
  });
});

describe('file names', () => {
  it('parses Dovecot names', () => {
    const p = parseFileName('1795389291.M727002P7598.vm,S=265,W=277:2,Rabc');
    expect(p).toMatchObject({ baseName: '1795389291.M727002P7598.vm,S=265,W=277', info: 'Rabc', size: 265, vsize: 277, secs: 1795389291 });
    expect(parseFileName('1795389291.M1P2.vm').info).toBeNull();
    expect(parseFileName('1795389291.M1P2.vm').size).toBeUndefined();
  });

  it('builds sorted info parts and escapes the host', () => {
    expect(escapeHost('a/b:c')).toBe('a\\057b\\072c');
    const base = buildBaseName('1.M2P3.h', 10, 12);
    expect(base).toBe('1.M2P3.h,S=10,W=12');
    expect(buildFileName(base, 'SbFa')).toBe('1.M2P3.h,S=10,W=12:2,FSab');
    expect(flagsToInfo(['\\Seen', '\\Answered', '\\Draft', '\\Deleted', '\\Flagged'], ['c', 'a'])).toBe('DFRSTac');
    expect(infoToFlags('PSa')).toEqual({ flags: ['\\Seen'], keywordLetters: ['a'], other: 'P' });
  });

  it('sorts unknown files the way Dovecot numbers them', () => {
    const names = ['10.M5P1.h', '9.M7P1.h', '10.M40P1.h', '10.M40P0.h'];
    expect(names.sort(compareMaildirNames)).toEqual(['9.M7P1.h', '10.M5P1.h', '10.M40P0.h', '10.M40P1.h']);
  });
});

describe('dovecot-keywords', () => {
  it('parses, extends and serialises', () => {
    const t = parseKeywords('0 $Label1\n2 NonJunk\n');
    expect(letterForKeyword(t, '$label1')).toBe('a');
    expect(letterForKeyword(t, 'NonJunk')).toBe('c');
    expect(addKeywords(t, ['Junk', '$Label1'])).toBe(true);
    expect(serializeKeywords(t)).toBe('0 $Label1\n1 Junk\n2 NonJunk\n');
  });

  it('stops at 26 keywords', () => {
    const t = parseKeywords('');
    addKeywords(t, Array.from({ length: 30 }, (_, i) => `k${i}`));
    expect(t.filter(Boolean)).toHaveLength(26);
  });
});

describe('subscriptions', () => {
  it('writes the Dovecot 2.3 format and reads both formats', () => {
    const text = serializeSubscriptions(['INBOX', 'A&B', '受信箱/アーカイブ', 'Archive/2024']);
    expect(text).toBe('V\t2\n\nINBOX\nA&-B\n&U9dP4Xux-\t&MKIw,DCrMKQw1g-\nArchive\t2024\n');
    expect(parseSubscriptions(text)).toEqual(['INBOX', 'A&B', '受信箱/アーカイブ', 'Archive/2024']);
    expect(parseSubscriptions('INBOX\nArchive.2024\nSent\n')).toEqual(['INBOX', 'Archive/2024', 'Sent']);
  });
});

describe('maildirsize', () => {
  it('sums the delta lines', () => {
    expect(parseMaildirsize('1000S,10C\n100 2\n50 1\n-20 -1\n')).toEqual({ limitLine: '1000S,10C', usage: { bytes: 130, messages: 2 } });
    expect(parseMaildirsize('garbage\n')).toBeNull();
  });
});

describe('line-end normalisation', () => {
  it('stores LF and counts the CRLF size at every chunk split', () => {
    const input = Buffer.from('a\r\nb\nc\r\r\n\rd\r\n\r\n');
    for (let split = 1; split <= input.length; split++) {
      const n = new LfNormalizer();
      const parts: Buffer[] = [];
      for (let i = 0; i < input.length; i += split) parts.push(n.push(input.subarray(i, i + split)));
      parts.push(n.end());
      const out = Buffer.concat(parts).toString();
      expect(out).toBe('a\nb\nc\r\n\rd\n\n');
      expect(n.size).toBe(out.length);
      expect(n.vsize).toBe(out.replace(/\r?\n/g, '\r\n').length);
    }
  });
});
