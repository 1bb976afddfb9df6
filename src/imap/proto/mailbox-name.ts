// Mailbox name checks the session applies after the parser decoded modified UTF-7. Pure.
// The store validates again when it builds a path (ARCHITECTURE.md); this is the protocol
// side, so the client gets a precise NO instead of a generic storage failure.
import { encodeMutf7 } from '../../maildir/utf7.js';

export type MailboxNameProblem =
  | 'empty' // "" or only delimiters
  | 'control' // NUL, C0/C1 control characters, DEL
  | 'delimiter' // leading, doubled or trailing hierarchy delimiter (an empty component)
  | 'dot' // a "." or ".." component
  | 'slash' // "/" when it is not the delimiter (a path separator on disk)
  | 'wildcard' // "*" or "%" in a name to be created (RFC 3501 6.3.3 leaves them to LIST)
  | 'too-long' // a component or the whole name over the limits
  | 'too-deep'; // more levels than allowed

export type MailboxNameCheck = { ok: true } | { ok: false; problem: MailboxNameProblem; text: string };

export interface MailboxNameOptions {
  /** The hierarchy delimiter the client sees (`/` or `.`). */
  delimiter: string;
  /** CREATE and RENAME's new name: also refuse `*` and `%`. */
  forCreate?: boolean;
  /** Bytes of one component in modified UTF-7 (default 255, a file name on most file systems). */
  maxComponentBytes?: number;
  /** Bytes of the whole name in modified UTF-7 (default 1000). */
  maxTotalBytes?: number;
  /** Hierarchy levels (default 32). */
  maxDepth?: number;
}

function fail(problem: MailboxNameProblem, text: string): MailboxNameCheck {
  return { ok: false, problem, text };
}

/**
 * Check a decoded (UTF-8) mailbox name. A trailing delimiter on CREATE means "this will hold
 * children" (RFC 3501 6.3.3): strip one before calling this; here it is an empty component.
 */
export function checkMailboxName(name: string, opts: MailboxNameOptions): MailboxNameCheck {
  const { delimiter } = opts;
  const maxComponent = opts.maxComponentBytes ?? 255;
  const maxTotal = opts.maxTotalBytes ?? 1000;
  const maxDepth = opts.maxDepth ?? 32;
  if (name === '') return fail('empty', 'Mailbox name is empty');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(name)) return fail('control', 'Mailbox name contains control characters');
  if (delimiter !== '/' && name.includes('/')) return fail('slash', 'Mailbox name contains "/"');
  if (opts.forCreate && /[*%]/.test(name)) return fail('wildcard', 'Mailbox name contains "*" or "%"');
  const encoded = encodeMutf7(name);
  if (Buffer.byteLength(encoded) > maxTotal) return fail('too-long', 'Mailbox name too long');
  const parts = delimiter ? name.split(delimiter) : [name];
  if (parts.every((p) => p === '')) return fail('empty', 'Mailbox name is empty');
  if (parts.length > maxDepth) return fail('too-deep', 'Mailbox hierarchy too deep');
  for (const p of parts) {
    if (p === '') return fail('delimiter', 'Mailbox name has an empty hierarchy level (leading, doubled or trailing delimiter)');
    if (p === '.' || p === '..') return fail('dot', 'Mailbox name has a "." or ".." level');
    if (Buffer.byteLength(encodeMutf7(p)) > maxComponent) return fail('too-long', 'Mailbox name level too long');
  }
  return { ok: true };
}
