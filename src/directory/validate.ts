// Names that end up as path components under the mail root (`<root>/<domain>/<local>`)
// are validated here once, before they reach the database, so nothing stored can
// later escape the root: no '/', no NUL, no '..', no leading dot, bounded length.
import { domainToASCII } from 'node:url';
import { DirectoryError } from './types.js';

const LDH_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
// RFC 5322 dot-atom without '/' (it would be a path separator in the Maildir layout).
const ATOM = "[a-z0-9!#$%&'*+\\-=?^_`{|}~]+";
const DOT_ATOM = new RegExp(`^${ATOM}(?:\\.${ATOM})*$`);

/** Shows a hostile value safely inside a one-line error message. */
export function quote(value: string): string {
  const shown = value.length > 80 ? `${value.slice(0, 80)}…` : value;
  return JSON.stringify(shown);
}

export function normalizeDomain(input: string): string {
  if (input.length === 0) throw new DirectoryError('invalid', 'domain name is empty');
  // domainToASCII would silently map some of these to something valid-looking.
  if (/[\0/\\\s@]/.test(input)) throw new DirectoryError('invalid', `invalid domain name ${quote(input)}`);
  const ascii = domainToASCII(input.toLowerCase());
  if (ascii === '' || ascii.length > 253) throw new DirectoryError('invalid', `invalid domain name ${quote(input)}`);
  for (const label of ascii.split('.')) {
    if (!LDH_LABEL.test(label)) throw new DirectoryError('invalid', `invalid domain name ${quote(input)}`);
  }
  return ascii;
}

export function normalizeLocalPart(input: string): string {
  const lower = input.toLowerCase();
  if (lower.length === 0) throw new DirectoryError('invalid', 'local part is empty');
  if (lower.length > 64 || !DOT_ATOM.test(lower)) {
    throw new DirectoryError('invalid', `invalid local part ${quote(input)}`);
  }
  return lower;
}

export interface ParsedAddress {
  localPart: string;
  domain: string;
  address: string;
}

/** `local@domain`, validated and lower-cased; the domain in its IDNA A-label form. */
export function parseAddress(input: string): ParsedAddress {
  const at = input.lastIndexOf('@');
  if (at <= 0 || at === input.length - 1) throw new DirectoryError('invalid', `invalid address ${quote(input)}`);
  let localPart: string;
  let domain: string;
  try {
    localPart = normalizeLocalPart(input.slice(0, at));
    domain = normalizeDomain(input.slice(at + 1));
  } catch (err) {
    if (err instanceof DirectoryError) throw new DirectoryError('invalid', `invalid address ${quote(input)}`);
    throw err;
  }
  return { localPart, domain, address: `${localPart}@${domain}` };
}

/** An alias source: a full address, or `@domain` for a catch-all (localPart is then ''). */
export function parseAliasSource(input: string): ParsedAddress {
  if (input.startsWith('@')) {
    let domain: string;
    try {
      domain = normalizeDomain(input.slice(1));
    } catch (err) {
      if (err instanceof DirectoryError) throw new DirectoryError('invalid', `invalid alias source ${quote(input)}`);
      throw err;
    }
    return { localPart: '', domain, address: `@${domain}` };
  }
  return parseAddress(input);
}
