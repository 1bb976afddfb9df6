// POP3 command grammar (RFC 1939, RFC 2449 CAPA, RFC 2595 STLS, RFC 5034 AUTH): one line
// in, a typed command out. Pure. Keywords are case-insensitive (RFC 1939 3); arguments
// are separated by single spaces, but we tolerate runs of spaces as Dovecot does.

export type Pop3Command =
  | { name: 'USER'; user: string }
  | { name: 'PASS'; password: string }
  /** No mechanism: the (non-standard, widely used) request to list the SASL mechanisms. */
  | { name: 'AUTH'; mechanism?: string; initialResponse?: string }
  | { name: 'CAPA' }
  | { name: 'STLS' }
  | { name: 'QUIT' }
  | { name: 'STAT' }
  | { name: 'NOOP' }
  | { name: 'RSET' }
  | { name: 'LIST'; msg?: number }
  | { name: 'UIDL'; msg?: number }
  | { name: 'RETR'; msg: number }
  | { name: 'DELE'; msg: number }
  | { name: 'TOP'; msg: number; lines: number };

export type Pop3Verb = Pop3Command['name'];

export type ParseResult =
  | { ok: true; command: Pop3Command }
  /** `unknown`: not a command we implement; `syntax`: a known command with bad arguments. */
  | { ok: false; error: 'unknown' | 'syntax'; verb: string; message: string };

const VERBS = new Set<string>(['USER', 'PASS', 'AUTH', 'CAPA', 'STLS', 'QUIT', 'STAT', 'NOOP', 'RSET', 'LIST', 'UIDL', 'RETR', 'DELE', 'TOP']);

/** A message number or line count: decimal digits only, bounded (no "1e3", "+1", "0x1"). */
function number(token: string | undefined): number | undefined {
  if (token === undefined || !/^\d{1,9}$/.test(token)) return undefined;
  return Number(token);
}

export function parseCommand(line: string): ParseResult {
  const space = line.indexOf(' ');
  const rawVerb = space < 0 ? line : line.slice(0, space);
  const verb = rawVerb.toUpperCase();
  // Keywords are 3-4 characters (RFC 1939 3); anything else is not echoed back whole.
  const shownVerb = verb.slice(0, 16).replace(/[^\x21-\x7e]/g, '?');
  const rest = space < 0 ? '' : line.slice(space + 1);
  const args = rest.split(' ').filter((t) => t.length > 0);
  const bad = (message: string): ParseResult => ({ ok: false, error: 'syntax', verb: shownVerb, message });
  if (!VERBS.has(verb)) return { ok: false, error: 'unknown', verb: shownVerb, message: 'Unknown command' };

  switch (verb) {
    case 'CAPA':
    case 'STLS':
    case 'QUIT':
    case 'STAT':
    case 'NOOP':
    case 'RSET':
      if (args.length) return bad(`${verb} takes no arguments`);
      return { ok: true, command: { name: verb } };
    case 'USER': {
      const user = rest.trim();
      if (!user) return bad('USER needs a user name');
      return { ok: true, command: { name: 'USER', user } };
    }
    case 'PASS': {
      // The password is the rest of the line: it may contain spaces (RFC 1939 7 leaves this
      // open; Dovecot and most servers accept it).
      if (!rest) return bad('PASS needs a password');
      return { ok: true, command: { name: 'PASS', password: rest } };
    }
    case 'AUTH': {
      if (args.length === 0) return { ok: true, command: { name: 'AUTH' } };
      if (args.length > 2) return bad('AUTH takes a mechanism and an optional initial response');
      const mechanism = args[0]!.toUpperCase();
      return args.length === 2
        ? { ok: true, command: { name: 'AUTH', mechanism, initialResponse: args[1]! } }
        : { ok: true, command: { name: 'AUTH', mechanism } };
    }
    case 'LIST':
    case 'UIDL': {
      if (args.length === 0) return { ok: true, command: { name: verb } };
      const msg = number(args[0]);
      if (args.length > 1 || msg === undefined) return bad('Invalid message number');
      return { ok: true, command: { name: verb, msg } };
    }
    case 'RETR':
    case 'DELE': {
      const msg = number(args[0]);
      if (args.length !== 1 || msg === undefined) return bad(args.length ? 'Invalid message number' : `${verb} needs a message number`);
      return { ok: true, command: { name: verb, msg } };
    }
    case 'TOP': {
      const msg = number(args[0]);
      const lines = number(args[1]);
      if (args.length !== 2 || msg === undefined || lines === undefined) return bad('TOP needs a message number and a line count');
      return { ok: true, command: { name: 'TOP', msg, lines } };
    }
  }
  return { ok: false, error: 'unknown', verb: shownVerb, message: 'Unknown command' };
}
