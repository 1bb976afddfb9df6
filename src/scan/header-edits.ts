// Applies a scan's header edits (Rspamd's milter block, X-Spam-*, X-Scan-Skipped, a subject
// rewrite) to one delivered copy as it streams: the header section is processed line by
// line, holding at most one incomplete line; after the blank line that ends it (RFC 5322
// 2.1) the body passes through untouched, never buffered.
//
//   add     → new fields before the first original field, in order
//   remove  → every field of those names, with its folded continuation lines (RFC 5322 2.2.3)
//   subject → the first Subject: field (and its continuation lines) replaced; added when absent
import { Transform, type TransformCallback } from 'node:stream';
import type { HeaderEdits } from './types.js';

export const hasEdits = (e: HeaderEdits): boolean => e.add.length > 0 || e.remove.length > 0 || e.subject !== undefined;

/** A value written into a header line: no CR/LF (header injection), no NUL. */
const oneLine = (v: string): string => v.replace(/[\r\n\0]+/g, ' ');

const FIELD = /^([\x21-\x39\x3b-\x7e]+)[ \t]*:/; // RFC 5322 2.2 field-name, then ':'

export class HeaderEditTransform extends Transform {
  private readonly remove: Set<string>;
  private subject: string | undefined;
  private started = false;
  private inHeader = true;
  /** The current field is being dropped (removed or replaced), continuation lines too. */
  private dropping = false;
  private partial: Buffer = Buffer.alloc(0);

  constructor(private readonly edits: HeaderEdits) {
    super();
    this.remove = new Set(edits.remove.map((n) => n.toLowerCase()));
    this.subject = edits.subject;
    if (this.subject !== undefined) this.remove.delete('subject'); // replaced, not removed
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (!this.inHeader) return cb(null, chunk);
    this.begin();
    let data = this.partial.length ? Buffer.concat([this.partial, chunk]) : chunk;
    let nl: number;
    while (this.inHeader && (nl = data.indexOf(0x0a)) >= 0) {
      this.line(data.subarray(0, nl + 1));
      data = data.subarray(nl + 1);
    }
    if (!this.inHeader) {
      this.partial = Buffer.alloc(0);
      if (data.length) this.push(data);
    } else this.partial = Buffer.from(data);
    cb();
  }

  override _flush(cb: TransformCallback): void {
    this.begin();
    // A message that is all header (no blank line): its last line may lack an end of line.
    if (this.inHeader && this.partial.length) this.line(this.partial, true);
    else if (this.partial.length) this.push(this.partial);
    if (this.inHeader) this.endHeader(false);
    cb();
  }

  private begin(): void {
    if (this.started) return;
    this.started = true;
    const lines = this.edits.add.map(([name, value]) => `${oneLine(name)}: ${oneLine(value)}\r\n`).join('');
    if (lines) this.push(Buffer.from(lines, 'utf8'));
  }

  private line(line: Buffer, last = false): void {
    const blank = line.length === 1 || (line.length === 2 && line[0] === 0x0d) || (last && line.length === 0);
    if (blank) return this.endHeader(true, line);
    if (line[0] === 0x20 || line[0] === 0x09) {
      if (!this.dropping) this.push(line);
      return;
    }
    const m = FIELD.exec(line.subarray(0, 256).toString('latin1'));
    const name = m ? m[1]!.toLowerCase() : null;
    if (name === 'subject' && this.subject !== undefined) {
      this.push(Buffer.from(`Subject: ${oneLine(this.subject)}\r\n`, 'utf8'));
      this.subject = undefined; // a second Subject: field stays as it was
      this.dropping = true;
      return;
    }
    this.dropping = name !== null && this.remove.has(name);
    if (!this.dropping) this.push(line);
  }

  /** Writes a Subject still owed (the message had none), then the blank line itself. */
  private endHeader(seenBlank: boolean, blank?: Buffer): void {
    this.inHeader = false;
    this.dropping = false;
    if (this.subject !== undefined) this.push(Buffer.from(`Subject: ${oneLine(this.subject)}\r\n`, 'utf8'));
    this.subject = undefined;
    if (seenBlank && blank) this.push(blank);
  }
}

export const applyHeaderEdits = (edits: HeaderEdits): Transform => new HeaderEditTransform(edits);
