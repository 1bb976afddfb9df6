// FETCH arguments (RFC 3501 6.4.5, 9 `fetch`; BINARY from RFC 3516). Pure.
import type { SectionSpec } from '../../mime/types.js';
import { parseFetchModifiers } from './parse-modifiers.js';
import { parseSequenceSet } from './sequence.js';
import { clip, type Cursor, isAstringChar, isAtomChar } from './tokens.js';
import type { Command, FetchAttr } from './types.js';

const SIMPLE: Record<string, FetchAttr> = {
  ENVELOPE: { kind: 'ENVELOPE' },
  FLAGS: { kind: 'FLAGS' },
  INTERNALDATE: { kind: 'INTERNALDATE' },
  RFC822: { kind: 'RFC822' },
  'RFC822.HEADER': { kind: 'RFC822.HEADER' },
  'RFC822.TEXT': { kind: 'RFC822.TEXT' },
  'RFC822.SIZE': { kind: 'RFC822.SIZE' },
  UID: { kind: 'UID' },
  BODY: { kind: 'BODY' },
  BODYSTRUCTURE: { kind: 'BODYSTRUCTURE' },
  MODSEQ: { kind: 'MODSEQ' },
};

// RFC 3501 6.4.5: the macros, equivalent to these lists (the reply lists the items, not the macro).
const MACROS: Record<'ALL' | 'FAST' | 'FULL', FetchAttr[]> = {
  FAST: [{ kind: 'FLAGS' }, { kind: 'INTERNALDATE' }, { kind: 'RFC822.SIZE' }],
  ALL: [{ kind: 'FLAGS' }, { kind: 'INTERNALDATE' }, { kind: 'RFC822.SIZE' }, { kind: 'ENVELOPE' }],
  FULL: [{ kind: 'FLAGS' }, { kind: 'INTERNALDATE' }, { kind: 'RFC822.SIZE' }, { kind: 'ENVELOPE' }, { kind: 'BODY' }],
};

/** An item name stops before `[` and `<`, which are ATOM-CHARs but open a section or partial here. */
function itemName(c: Cursor): string {
  c.counted();
  const name = c.take((b) => b !== 0x5b && b !== 0x3c && isAtomChar(b));
  if (name === '') c.fail('Expected a fetch item');
  return name.toUpperCase();
}

function sectionPart(c: Cursor): number[] {
  const part = [c.nzNumber('a section part number')];
  // A dot followed by a digit continues the path; followed by a letter it starts section-text.
  while (c.peek() === 0x2e) {
    c.pos++;
    const p = c.peek();
    if (p < 0x30 || p > 0x39) {
      c.pos--;
      break;
    }
    part.push(c.nzNumber('a section part number'));
  }
  return part;
}

/** header-fld-name = astring; restricted to RFC 5322 field-name bytes so the echoed label stays safe. */
function fieldName(c: Cursor): string {
  const b = c.astring('a header field name');
  for (const x of b) if (x <= 0x20 || x >= 0x7f || x === 0x3a) c.fail('Invalid header field name');
  if (b.length === 0) c.fail('Empty header field name');
  return b.toString('latin1');
}

function formatFieldName(f: string): string {
  for (let i = 0; i < f.length; i++) {
    if (!isAstringChar(f.charCodeAt(i))) return `"${f.replace(/[\\"]/g, (m) => `\\${m}`)}"`;
  }
  return f;
}

/** The section text as the response echoes it inside BODY[...] (RFC 3501 7.4.2). */
export function sectionLabel(s: SectionSpec): string {
  let out = s.part.join('.');
  if (s.text) out += (out ? '.' : '') + s.text;
  if (s.fields) out += ` (${s.fields.map(formatFieldName).join(' ')})`;
  return out;
}

/** section = "[" [section-spec] "]" (the `[` already read). */
function section(c: Cursor): SectionSpec {
  const spec: SectionSpec = { part: [] };
  if (c.eat(0x5d)) return spec;
  const p = c.peek();
  if (p >= 0x30 && p <= 0x39) {
    spec.part = sectionPart(c);
    if (c.eat(0x5d)) return spec;
    c.expect(0x2e, '"." or "]" in a section');
  }
  const text = c.take((b) => (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x2e).toUpperCase();
  switch (text) {
    case 'HEADER':
    case 'TEXT':
      spec.text = text;
      break;
    case 'MIME':
      // section-text "MIME" only follows a part number (RFC 3501 9 section-part "." section-text).
      if (spec.part.length === 0) c.fail('MIME needs a part number (e.g. BODY[1.MIME])');
      spec.text = text;
      break;
    case 'HEADER.FIELDS':
    case 'HEADER.FIELDS.NOT':
      spec.text = text;
      c.sp();
      spec.fields = c.list(() => fieldName(c), false, 'a header field list');
      break;
    default:
      c.fail(`Invalid section ${clip(text) || 'specifier'}`);
  }
  c.expect(0x5d, '"]" to close the section');
  return spec;
}

/** "<" number "." nz-number ">" */
function partial(c: Cursor): { origin: number; count: number } | undefined {
  if (!c.eat(0x3c)) return undefined;
  const origin = c.number('a partial origin');
  c.expect(0x2e, '"." in a partial range');
  const count = c.nzNumber('a partial length');
  c.expect(0x3e, '">" to close a partial range');
  return { origin, count };
}

/** section-binary = "[" [section-part] "]" (RFC 3516). */
function binarySection(c: Cursor): number[] {
  c.expect(0x5b, '"[" after BINARY');
  if (c.eat(0x5d)) return [];
  const part = sectionPart(c);
  c.expect(0x5d, '"]" to close the section');
  return part;
}

function fetchAtt(c: Cursor): FetchAttr {
  const name = itemName(c);
  if ((name === 'BODY' || name === 'BODY.PEEK') && c.peek() === 0x5b) {
    c.pos++;
    const sec = section(c);
    const attr: FetchAttr = { kind: 'BODY[]', peek: name === 'BODY.PEEK', section: sec, label: sectionLabel(sec) };
    const p = partial(c);
    if (p) attr.partial = p;
    return attr;
  }
  if (name === 'BINARY' || name === 'BINARY.PEEK') {
    const attr: FetchAttr = { kind: 'BINARY[]', peek: name === 'BINARY.PEEK', section: binarySection(c) };
    const p = partial(c);
    if (p) attr.partial = p;
    return attr;
  }
  if (name === 'BINARY.SIZE') return { kind: 'BINARY.SIZE', section: binarySection(c) };
  if (name === 'BODY.PEEK') c.fail('BODY.PEEK needs a section');
  const simple = SIMPLE[name];
  if (!simple) c.fail(`Unknown fetch item ${clip(name)}`);
  if (c.peek() === 0x5b || c.peek() === 0x3c) c.fail(`${name} takes no section`);
  return { ...simple };
}

/** fetch = "FETCH" SP sequence-set SP ("ALL" / "FULL" / "FAST" / fetch-att / "(" fetch-att *(SP fetch-att) ")") */
export function parseFetch(c: Cursor, uid: boolean): Command {
  c.sp();
  const set = parseSequenceSet(c);
  c.sp();
  // [fetch-modifiers] after the items (RFC 4466 2.4; CHANGEDSINCE, VANISHED: RFC 7162).
  const finish = (cmd: Extract<Command, { name: 'FETCH' }>): Command => {
    const mods = parseFetchModifiers(c);
    c.end();
    if (mods.changedSince !== undefined) cmd.changedSince = mods.changedSince;
    if (mods.vanished) {
      if (!uid) c.fail('VANISHED is only allowed with UID FETCH'); // RFC 7162 3.2.6
      cmd.vanished = true;
    }
    return cmd;
  };
  if (c.peek() === 0x28) {
    const attrs = c.list(() => fetchAtt(c), false, 'a fetch item list');
    return finish({ name: 'FETCH', uid, set, attrs });
  }
  const save = c.pos;
  const word = itemName(c);
  if (word === 'ALL' || word === 'FAST' || word === 'FULL') {
    return finish({ name: 'FETCH', uid, set, attrs: MACROS[word].map((a) => ({ ...a })), macro: word });
  }
  c.pos = save;
  const attr = fetchAtt(c);
  return finish({ name: 'FETCH', uid, set, attrs: [attr] });
}
