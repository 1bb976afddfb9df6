// Header decoding: RFC 2047 words, RFC 2231 parameters, raw 8-bit Japanese, dates, addresses.
import { describe, expect, it } from 'vitest';
import iconv from 'iconv-lite';
import { decodeCharset, decodeHeaderValue, parseDate, parseDateParts } from '../../src/mime/decode.js';
import { parseContentType, parseDisposition } from '../../src/mime/headers.js';
import { parseAddressList } from '../../src/mime/address.js';
import { charsetDecoder, transferDecoder } from '../../src/mime/body-decode.js';
import { isoJpSubject, toIso2022jp } from '../helpers/messages.js';

const bin = (b: Buffer): string => b.toString('latin1');

/** Quoted-printable with soft line breaks that never split an =XX escape. */
function qpEncode(b: Buffer): Buffer {
  const tokens = bin(b).match(/[\x80-\xff=]|[^\x80-\xff=]/g)!.map((c) => (/[\x80-\xff=]/.test(c) ? '=' + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0') : c));
  let out = '';
  let line = 0;
  for (const t of tokens) {
    if (line + t.length > 70) {
      out += '=\r\n';
      line = 0;
    }
    out += t;
    line = t === '\n' ? 0 : line + t.length;
  }
  return Buffer.from(out, 'latin1');
}

describe('decodeHeaderValue (RFC 2047)', () => {
  it.each([
    ['=?UTF-8?B?5pel5pys6Kqe?=', '日本語'],
    ['=?ISO-8859-1?Q?caf=E9?= =?ISO-8859-1?Q?_au_lait?=', 'café au lait'], // white space between words dropped (6.2)
    ['a =?UTF-8?Q?b?= c', 'a b c'],
    ['=?UTF-8?B?###?= kept', '=?UTF-8?B?###?= kept'], // broken word left as is
    ['=?unknown-cs?Q?abc?=', 'abc'],
    ['=?utf-8*en?Q?lang?=', 'lang'], // RFC 2231 5 language suffix
    ['plain text', 'plain text'],
  ])('%s', (input, out) => expect(decodeHeaderValue(input)).toBe(out));

  it('ISO-2022-JP words, a character split across two B words of one charset', () => {
    expect(decodeHeaderValue(isoJpSubject('会議の資料について'))).toBe('会議の資料について');
    const utf8 = Buffer.from('日本', 'utf8'); // 6 bytes, split inside the second character
    const w = (b: Buffer): string => `=?UTF-8?B?${b.toString('base64')}?=`;
    expect(decodeHeaderValue(`${w(utf8.subarray(0, 4))} ${w(utf8.subarray(4))}`)).toBe('日本');
  });

  it('raw 8-bit headers: UTF-8, Shift_JIS, EUC-JP, JIS escapes, Latin-1 fallback', () => {
    expect(decodeHeaderValue(bin(Buffer.from('見積書の件', 'utf8')))).toBe('見積書の件');
    expect(decodeHeaderValue(bin(iconv.encode('見積書の件について', 'Shift_JIS')))).toBe('見積書の件について');
    expect(decodeHeaderValue(bin(iconv.encode('見積書の件について', 'EUC-JP')))).toBe('見積書の件について');
    expect(decodeHeaderValue(bin(toIso2022jp('会議')))).toBe('会議');
    expect(decodeHeaderValue('caf\xe9')).toBe('café');
  });

  it('charsets: CP932 extensions under the Shift_JIS label, unknown names guessed', () => {
    expect(decodeCharset(iconv.encode('①髙', 'cp932'), 'Shift_JIS')).toBe('①髙');
    expect(decodeCharset(Buffer.from('é', 'utf8'), 'x-unknown')).toBe('é');
  });
});

describe('parameters (RFC 2045, RFC 2231)', () => {
  it('continuations, charset and language, order and case as Dovecot lists them', () => {
    const ct = parseContentType(`Application/PDF; Name*1="two.pdf"; name*0="one-"; X="y"`);
    expect(ct).toMatchObject({ type: 'application', subtype: 'pdf', params: { name: 'one-two.pdf', x: 'y' } });
    expect(ct.imapParams).toEqual([['X', 'y'], ['Name', 'one-two.pdf']]); // name as first seen
    const d = parseDisposition(`attachment; filename*0*=UTF-8''%E6%97%A5%E6%9C%AC; filename*1*=%E8%AA%9E.pdf`)!;
    expect(d.params['filename']).toBe('日本語.pdf');
    expect(d.imapParams).toEqual([['filename*', "UTF-8''%E6%97%A5%E6%9C%AC%E8%AA%9E.pdf"]]);
    expect(parseContentType(`text/plain; name*=iso-2022-jp'ja'%1B%24B%46%7C%4B%5C%1B%28B.txt`).params['name']).toBe('日本.txt');
    expect(parseDisposition(`attachment; filename*=shift_jis''%93%FA%96%7B.txt`)!.params['filename']).toBe('日本.txt');
    expect(parseContentType(`text/plain; name="=?UTF-8?B?5pel5pys?=.txt"`).params['name']).toBe('日本.txt');
  });

  it('defaults and broken values (RFC 2045 5.2)', () => {
    expect(parseContentType(undefined)).toMatchObject({ type: 'text', subtype: 'plain', params: { charset: 'us-ascii' } });
    expect(parseContentType('/;;;')).toMatchObject({ type: '', subtype: '', params: {} }); // Dovecot: "" ""
    expect(parseContentType('text')).toMatchObject({ type: 'text', subtype: '' });
    expect(parseContentType('text/plain; charset=utf<-8; format=flowed').params).toEqual({ charset: 'utf', format: 'flowed' });
    expect(parseContentType('text/plain; bo<x=1; a=b').params).toEqual({ a: 'b' }); // resumes at the next ';'
    expect(parseContentType('multipart/mixed; boun; boundary=x').params).toEqual({}); // the error eats that ';'
    expect(parseContentType('text/plain; a="open; b=c').params).toEqual({}); // unterminated quote
    expect(parseContentType('multipart/m(ixed; boundary=h')).toMatchObject({ type: '' }); // unterminated comment
    expect(parseContentType('multipar; boundary=o')).toMatchObject({ type: '' });
    expect(parseContentType(undefined, true)).toMatchObject({ type: 'message', subtype: 'rfc822' });
    expect(parseContentType('text/plain (comment); charset="a\\"b"').params['charset']).toBe('a"b');
    expect(parseContentType('multipart/mixed; boundary="unterminated').params['boundary']).toBeUndefined(); // dropped, as Dovecot
  });
});

describe('dates (RFC 5322 3.3 and obsolete 4.3)', () => {
  it.each([
    ['Sun, 22 Nov 2026 10:00:00 +0900', '2026-11-22T01:00:00.000Z'],
    ['22 Nov 2026 10:00 GMT', '2026-11-22T10:00:00.000Z'],
    ['Thu, 13 Feb 69 23:32 -0330 (Newfoundland Time)', '1969-02-14T03:02:00.000Z'],
    ['Mon, 1 Jan 01 00:00:00 EST', '2001-01-01T05:00:00.000Z'],
    ['Fri, 21 Nov 097 09:55:06 PDT', '1997-11-21T16:55:06.000Z'],
    ['Tuesday, 3-Mar-2026 04:05:06 +0000', '2026-03-03T04:05:06.000Z'],
  ])('%s', (input, iso) => expect(parseDate(input)?.toISOString()).toBe(iso));

  it('keeps the date as written for SENT* (zone disregarded)', () => {
    expect(parseDateParts('Sun, 22 Nov 2026 01:00:00 +0900')).toMatchObject({ year: 2026, month: 11, day: 22 });
  });

  it.each(['', 'yesterday', '32 Foo 2026 10:00', 'Mon, 1 Jan 2026 25:00:00'])('rejects %j', (s) => expect(parseDate(s)).toBeNull());
});

describe('address lists for ENVELOPE', () => {
  it('names, comments, groups, routes, missing parts', () => {
    expect(parseAddressList('"Doe, John" <john@example.test>, jane@example.test (Jane)')).toEqual([
      { name: 'Doe, John', adl: null, mailbox: 'john', host: 'example.test' },
      { name: 'Jane', adl: null, mailbox: 'jane', host: 'example.test' },
    ]);
    expect(parseAddressList('Team: a@x.test;')).toEqual([
      { name: null, adl: null, mailbox: 'Team', host: null },
      { name: null, adl: null, mailbox: 'a', host: 'x.test' },
      { name: null, adl: null, mailbox: null, host: null },
    ]);
    expect(parseAddressList('<@r1,@r2:u@h.test>')).toEqual([{ name: null, adl: '@r1,@r2', mailbox: 'u', host: 'h.test' }]);
    expect(parseAddressList('nohost')).toEqual([{ name: null, adl: null, mailbox: 'nohost', host: 'MISSING_DOMAIN' }]);
    expect(parseAddressList('')).toEqual([]);
    // Broken input recovered from as Dovecot does (seen in a differential run against it).
    const one = (v: string): unknown => parseAddressList(v).map((a) => [a.name, a.mailbox, a.host]);
    expect(one('prefix boundaries')).toEqual([['prefix boundaries', 'MISSING_MAILBOX', 'MISSING_DOMAIN']]);
    expect(one('<a@example.test')).toEqual([[null, 'a', 'SYNTAX_ERROR']]);
    expect(one('Alice <alice@example.teo: bob@example.test')).toEqual([['Alice', 'alice', 'SYNTAX_ERROR']]);
    expect(one('a@exam<ple.test, b@c.test')).toEqual([[null, 'a', 'exam']]); // the list ends at garbage
    expect(one('a@example.')).toEqual([[null, 'a', 'MISSING_DOMAIN']]);
    expect(one('<>')).toEqual([[null, 'MISSING_MAILBOX', 'MISSING_DOMAIN']]);
    expect(one('a@b.test,, c@d.test')).toEqual([[null, 'a', 'b.test'], [null, 'MISSING_MAILBOX', 'MISSING_DOMAIN'], [null, 'c', 'd.test']]);
    expect(() => parseAddressList('<<<@@@,,;;::"')).not.toThrow();
  });
});

describe('streaming body decoders', () => {
  const split = (b: Buffer, n: number): Buffer[] => Array.from({ length: Math.ceil(b.length / n) }, (_, i) => b.subarray(i * n, i * n + n));
  it('base64, quoted-printable and charsets at every split', () => {
    const text = 'お見積りを送付いたします。\r\nよろしくお願いいたします。\r\n';
    const cases: Array<[string, string, Buffer]> = [
      ['base64', 'utf-8', Buffer.from(Buffer.from(text).toString('base64').replace(/.{76}/g, '$&\r\n'))],
      ['quoted-printable', 'shift_jis', qpEncode(iconv.encode(text, 'Shift_JIS'))],
      ['7bit', 'iso-2022-jp', toIso2022jp(text)],
      ['8bit', 'euc-jp', iconv.encode(text, 'EUC-JP')],
      ['8bit', '', iconv.encode(text, 'Shift_JIS')], // no charset: guessed
    ];
    for (const [te, cs, data] of cases) {
      for (const n of [1, 2, 3, 5, 64, 10_000]) {
        const t = transferDecoder(te);
        const c = charsetDecoder(cs || undefined);
        let out = '';
        for (const piece of split(data, n)) out += c.push(t.push(piece));
        out += c.push(t.end()) + c.end();
        expect(out, `${te} ${cs} split ${n}`).toBe(text);
      }
    }
  });

  it('an unlabelled or us-ascii body guesses from its first 8-bit data, however long the ASCII before it', () => {
    const prefix = 'Forwarded report follows.\r\n'.repeat(300); // ~8 KB of ASCII first
    const jp = '見積書を送付いたします。\r\n';
    for (const [label, bytes] of [
      ['Shift_JIS', iconv.encode(jp, 'Shift_JIS')],
      ['EUC-JP', iconv.encode(jp, 'EUC-JP')],
      ['ISO-2022-JP', toIso2022jp(jp)],
      ['UTF-8', Buffer.from(jp)],
    ] as const) {
      const data = Buffer.concat([Buffer.from(prefix), bytes]);
      for (const cs of [undefined, 'us-ascii']) {
        for (const n of [64, 4096, data.length]) {
          const c = charsetDecoder(cs);
          const out = split(data, n).map((p) => c.push(p)).join('') + c.end();
          expect(out, `${label} after ASCII, charset ${cs}, split ${n}`).toBe(prefix + jp);
        }
      }
    }
  });
});
