// Test-side IMAP value handling for comparing our FETCH output with Dovecot's: both sides
// become plain trees (strings as latin1, literals and quoted strings alike, NIL as null), so
// the comparison is about content, not about quoting choices.
import type { ImapValue } from '../../src/imap/proto/values.js';

export type Tree = null | number | string | { atom: string } | Tree[];

/** Parses the text after `* n FETCH ` where `{n}` markers stand for the literals, in order. */
export function parseResponse(text: string, literals: Buffer[]): Tree[] {
  let i = 0;
  let lit = 0;
  const ws = (): void => {
    while (text[i] === ' ') i++;
  };
  const value = (): Tree => {
    ws();
    const c = text[i];
    if (c === '(') {
      i++;
      const out: Tree[] = [];
      for (;;) {
        ws();
        if (text[i] === ')' || i >= text.length) {
          i++;
          return out;
        }
        out.push(value());
      }
    }
    if (c === '"') {
      let s = '';
      i++;
      while (i < text.length && text[i] !== '"') {
        if (text[i] === '\\') i++;
        s += text[i++];
      }
      i++;
      return s;
    }
    if (c === '{') {
      const m = /^\{(\d+)\}/.exec(text.slice(i))!;
      i += m[0].length;
      return literals[lit++]!.toString('latin1');
    }
    let a = '';
    while (i < text.length && text[i] !== ' ' && text[i] !== ')' && text[i] !== '(') {
      if (text[i] === '[') {
        const j = text.indexOf(']', i);
        a += text.slice(i, j + 1);
        i = j + 1;
        continue;
      }
      a += text[i++];
    }
    if (a === 'NIL') return null;
    if (/^\d+$/.test(a)) return Number(a);
    return { atom: a };
  };
  const v = value();
  return v as Tree[];
}

async function readAll(s: NodeJS.ReadableStream | AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s as AsyncIterable<Buffer>) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

/** Our ImapValues as the same tree; streams are read and their length checked. */
export async function toTree(v: ImapValue): Promise<Tree> {
  switch (v.t) {
    case 'atom':
      return v.v === 'NIL' ? null : { atom: v.v };
    case 'raw':
      // A pre-serialized ENVELOPE/BODYSTRUCTURE (FETCH keeps the wire form of cached
      // structures): read it back as Dovecot's answers are read.
      return v.v.startsWith('(') ? parseResponse(v.v, []) : { atom: v.v };
    case 'string':
      return typeof v.v === 'string' ? v.v : v.v.toString('latin1');
    case 'literal':
      return v.v.toString('latin1');
    case 'number':
      return Number(v.v);
    case 'nil':
      return null;
    case 'list':
      return Promise.all(v.v.map(toTree));
    case 'stream': {
      const data = await readAll(await v.open());
      if (data.length !== v.length) throw new Error(`stream gave ${data.length} bytes, announced ${v.length}`);
      return data.toString('latin1');
    }
  }
}
