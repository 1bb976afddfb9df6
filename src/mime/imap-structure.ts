// ENVELOPE and BODY/BODYSTRUCTURE (RFC 3501 7.4.2) from a scanned MimePart. Pure.
// Strings are binary (latin1) strings of the raw header bytes: IMAP carries them undecoded.
// Where RFC 3501 leaves room, the output follows Dovecot 2.3 (clients migrated from it):
// see docs in test/mime/dovecot-compare.test.ts for the differences kept.
import { parseAddressList } from './address.js';
import { parseEncoding, parseParameterized, stripComments } from './headers.js';
import type { EnvelopeAddress, HeaderField, MimePart, SValue } from './types.js';

function first(headers: HeaderField[], key: string): HeaderField | undefined {
  return headers.find((h) => h.key === key);
}

/** Dovecot lets a repeated field's last occurrence win in ENVELOPE and for
 *  Content-Disposition (the first one everywhere else); we answer the same. */
function last(headers: HeaderField[], key: string): HeaderField | undefined {
  for (let i = headers.length - 1; i >= 0; i--) if (headers[i]!.key === key) return headers[i];
  return undefined;
}

/** The field's unfolded value as written (Dovecot keeps trailing white space too). */
function nstring(h: HeaderField | undefined): SValue {
  return h ? h.value : null;
}

/** Dovecot's imap_append_string_for_humans(): white space runs become one space, none at
 *  either end (used for the subject and address names). */
function forHumans(v: string): string {
  return v.replace(/\0/g, '\x80').replace(/[ \t\r\n]+/g, ' ').trim();
}

/** All occurrences of an address field, in order (Dovecot 2.3 appends repeated ones). */
function addrList(h: HeaderField[], key: string): SValue {
  const list: EnvelopeAddress[] = [];
  for (const f of h) if (f.key === key) list.push(...parseAddressList(f.value));
  if (list.length === 0) return null;
  return list.map((a) => [a.name === null ? null : forHumans(a.name), a.adl, a.mailbox, a.host]);
}

/** RFC 3501 7.4.2 ENVELOPE: sender and reply-to default to from. Strings are the raw
 *  values; the last Date/Subject/… counts, as in Dovecot. */
export function envelope(msg: MimePart): SValue {
  const h = msg.headers;
  const from = addrList(h, 'from');
  const subject = last(h, 'subject');
  return [
    nstring(last(h, 'date')),
    subject ? forHumans(subject.value) : null,
    from,
    addrList(h, 'sender') ?? from,
    addrList(h, 'reply-to') ?? from,
    addrList(h, 'to'),
    addrList(h, 'cc'),
    addrList(h, 'bcc'),
    nstring(last(h, 'in-reply-to')),
    nstring(last(h, 'message-id')),
  ];
}

function paramList(params: Array<[string, string]>): SValue {
  if (params.length === 0) return null;
  const out: SValue[] = [];
  for (const [k, v] of params) out.push(k, v);
  return out;
}

/** Type and subtype as written (Dovecot keeps their case), parameters in IMAP form. */
function typeInfo(part: MimePart): { type: string; subtype: string; params: Array<[string, string]> } {
  const f = first(part.headers, 'content-type');
  const ct = part.contentType;
  if (!f || ct.type === '' || ct.subtype === '') return { type: f ? writtenType(f.value, ct.type) : ct.type, subtype: ct.subtype, params: [] };
  if (ct.type === 'application' && ct.subtype === 'octet-stream' && !/\//.test(stripComments(f.value).split(';')[0]!)) {
    return { type: ct.type, subtype: ct.subtype, params: [] }; // "multipart" alone
  }
  const { token, params } = parseParameterized(f.value);
  const m = /^([^\s/]+)\s*\/\s*([^\s/;]+)/.exec(token);
  return { type: m?.[1] ?? ct.type, subtype: m?.[2] ?? ct.subtype, params: ct.subtype === '' ? [] : params.imap };
}

/** The type token as written, when it matches the parsed (lower-case) one. */
function writtenType(value: string, type: string): string {
  const m = /^[ \t\r\n]*([!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+)/.exec(value);
  return m && m[1]!.toLowerCase() === type ? m[1]! : type;
}

/** Dovecot reads Content-Disposition fields until one has parameters: the first with
 *  parameters wins, else the last one. */
function disposition(h: HeaderField[]): SValue {
  let out: SValue = null;
  for (const f of h) {
    if (f.key !== 'content-disposition') continue;
    const { token, params, tokenBroken } = parseParameterized(f.value);
    if (tokenBroken) continue;
    out = [/^[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]*/.exec(token)![0], paramList(params.imap)];
    if (params.imap.length > 0) break;
  }
  return out;
}

/** Content-Language: atoms separated by commas (RFC 3282), comments skipped. */
function language(h: HeaderField[]): SValue {
  const f = first(h, 'content-language');
  if (!f) return null;
  const langs: string[] = [];
  for (const item of stripComments(f.value).split(',')) {
    const m = /^[ \t\r\n]*([^ \t\r\n()<>@,;:\\"[\]]+)/.exec(item);
    if (!m) break;
    langs.push(m[1]!);
    if (!/^[ \t\r\n]*[^ \t\r\n()<>@,;:\\"[\]]+[ \t\r\n]*$/.test(item)) break;
  }
  return langs.length ? langs : null;
}

/** RFC 2045 4: without MIME-Version (or, leniently, Content-Type) a message's Content-*
 *  fields do not count; parts of a multipart are always MIME. Dovecot ignores them too. */
export function isMime(part: MimePart, inMultipart: boolean): boolean {
  return inMultipart || part.headers.some((f) => f.key === 'mime-version' || f.key === 'content-type');
}

/** BODY (extended = false) or BODYSTRUCTURE (extended = true) of a part. */
export function bodyStructure(part: MimePart, extended: boolean, inMultipart = false): SValue {
  const h = isMime(part, inMultipart) ? part.headers : [];
  const { type, subtype, params } = h.length ? typeInfo(part) : { type: part.contentType.type, subtype: part.contentType.subtype, params: [] };
  const ct = part.contentType;
  const ext = (): SValue[] => [disposition(h), language(h), nstring(first(h, 'content-location'))];
  if (ct.type === 'multipart') {
    const kids: SValue[] = part.children.map((c) => bodyStructure(c, extended, true));
    // A multipart without parts (no boundary, or none found): RFC 3501 needs at least one
    // body; Dovecot shows an empty text/plain part, and so do we.
    if (kids.length === 0) kids.push(emptyText(extended));
    const out: SValue[] = [...kids, subtype];
    if (extended) out.push(paramList(params), ...ext());
    return out;
  }
  let plist = params;
  // RFC 2045 5.2 default, as Dovecot lists it for text parts without a charset.
  if (ct.type === 'text' && !params.some(([k]) => k.toLowerCase() === 'charset')) plist = [...params, ['charset', 'us-ascii']];

  const out: SValue[] = [
    type,
    subtype,
    paramList(plist),
    nstring(first(h, 'content-id')),
    nstring(first(h, 'content-description')),
    parseEncoding(first(h, 'content-transfer-encoding')?.value, true),
    part.bodyLength,
  ];
  if (ct.type === 'text') out.push(part.bodyLines);
  else if (part.message) out.push(envelope(part.message), bodyStructure(part.message, extended), part.bodyLines);
  if (extended) out.push(nstring(first(h, 'content-md5')), ...ext());
  return out;
}

function emptyText(extended: boolean): SValue {
  const out: SValue[] = ['text', 'plain', ['charset', 'us-ascii'], null, null, '7bit', 0, 0];
  if (extended) out.push(null, null, null, null);
  return out;
}
