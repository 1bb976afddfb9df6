// RFC 5322 3.4 address lists as IMAP's ENVELOPE wants them (RFC 3501 7.4.2): raw
// (undecoded) strings, groups as start/end markers, broken input degraded, never rejected.
// Follows Dovecot's message-address.c where the RFC is silent: a comment after a bare
// addr-spec becomes the name, a missing domain is "MISSING_DOMAIN" and a missing local
// part "MISSING_MAILBOX"; a source route is kept in adl.
import type { EnvelopeAddress } from './types.js';

type Tok = { t: 'atom' | 'quoted' | 'comment' | 'domlit'; v: string } | { t: 'special'; v: string };

function tokenize(s: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
      i++;
    } else if (c === '"') {
      let v = '';
      i++;
      while (i < s.length && s[i] !== '"') {
        if (s[i] === '\\' && i + 1 < s.length) i++;
        v += s[i++];
      }
      i++;
      out.push({ t: 'quoted', v });
    } else if (c === '(') {
      let depth = 1;
      let v = '';
      i++;
      while (i < s.length && depth > 0) {
        const d = s[i]!;
        if (d === '\\' && i + 1 < s.length) {
          v += s[i + 1];
          i += 2;
          continue;
        }
        if (d === '(') depth++;
        else if (d === ')' && --depth === 0) break;
        v += d;
        i++;
      }
      i++;
      out.push({ t: 'comment', v });
    } else if (c === '[') {
      let v = '';
      while (i < s.length && s[i] !== ']') v += s[i++];
      v += ']';
      i++;
      out.push({ t: 'domlit', v });
    } else if ('<>@,;:.'.includes(c)) {
      out.push({ t: 'special', v: c });
      i++;
    } else {
      let v = '';
      while (i < s.length && !' \t\r\n"(<>@,;:.['.includes(s[i]!)) v += s[i++];
      out.push({ t: 'atom', v });
    }
  }
  return out;
}

/** One mailbox from its tokens (between commas). Null when nothing is there. */
function mailbox(toks: Tok[]): EnvelopeAddress | null {
  const words = toks.filter((t) => t.t !== 'comment');
  if (words.length === 0) return null;
  const lt = words.findIndex((t) => t.t === 'special' && t.v === '<');
  let name: string | null = null;
  let adl: string | null = null;
  let spec: Tok[];
  if (lt >= 0) {
    const phrase = toks.slice(0, toks.indexOf(words[lt]!)).filter((t) => t.t !== 'comment');
    name = phrase.length ? joinPhrase(phrase) : null;
    const gt = words.findIndex((t, i) => i > lt && t.t === 'special' && t.v === '>');
    spec = words.slice(lt + 1, gt < 0 ? undefined : gt);
    // Obsolete route <@a,@b:user@host> (RFC 5322 4.4): the route goes into IMAP's adl.
    const colon = spec.findIndex((t) => t.t === 'special' && t.v === ':');
    if (colon >= 0 && spec[0]?.t === 'special' && spec[0].v === '@') {
      adl = spec
        .slice(0, colon)
        .map((t) => t.v)
        .join('');
      spec = spec.slice(colon + 1);
    }
  } else {
    spec = words;
    const comments = toks.filter((t) => t.t === 'comment');
    if (comments.length) name = comments[comments.length - 1]!.v.trim() || null;
  }
  const at = spec.findIndex((t) => t.t === 'special' && t.v === '@');
  const local = joinDotted(at >= 0 ? spec.slice(0, at) : spec);
  const host = at >= 0 ? joinDotted(spec.slice(at + 1)) : '';
  if (!local && !host && name === null && lt < 0) return null; // "<>" still counts (Dovecot)
  return { name, adl, mailbox: local || 'MISSING_MAILBOX', host: host || 'MISSING_DOMAIN' };
}

function joinPhrase(toks: Tok[]): string {
  let out = '';
  let prevWord = false;
  for (const t of toks) {
    const word = t.t !== 'special';
    if (word && prevWord) out += ' ';
    out += t.v;
    prevWord = word;
  }
  return out;
}

function joinDotted(toks: Tok[]): string {
  return toks
    .filter((t) => t.t !== 'comment')
    .map((t) => (t.t === 'quoted' ? quoteLocal(t.v) : t.v))
    .join('');
}

function quoteLocal(v: string): string {
  return /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.]+$/.test(v) ? v : `"${v.replace(/(["\\])/g, '\\$1')}"`;
}

/** Address list → ENVELOPE addresses; groups become (NIL NIL "name" NIL) … (NIL NIL NIL NIL). */
export function parseAddressList(value: string): EnvelopeAddress[] {
  const toks = tokenize(value);
  const out: EnvelopeAddress[] = [];
  let cur: Tok[] = [];
  let inGroup = false;
  let angle = 0;
  const flush = (): void => {
    const m = mailbox(cur);
    if (m) out.push(m);
    cur = [];
  };
  for (const t of toks) {
    if (t.t === 'special' && t.v === '<') angle++;
    if (t.t === 'special' && t.v === '>') angle = Math.max(0, angle - 1);
    if (angle === 0 && t.t === 'special' && t.v === ':' && !inGroup && !cur.some((x) => x.t === 'special' && x.v === '@')) {
      const phrase = cur.filter((x) => x.t !== 'comment');
      out.push({ name: null, adl: null, mailbox: joinPhrase(phrase), host: null });
      cur = [];
      inGroup = true;
      continue;
    }
    if (angle === 0 && t.t === 'special' && t.v === ';' && inGroup) {
      flush();
      out.push({ name: null, adl: null, mailbox: null, host: null });
      inGroup = false;
      continue;
    }
    if (angle === 0 && t.t === 'special' && t.v === ',') {
      flush();
      continue;
    }
    cur.push(t);
  }
  flush();
  if (inGroup) out.push({ name: null, adl: null, mailbox: null, host: null });
  return out;
}
