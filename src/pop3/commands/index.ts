// The POP3 command table: each verb, the states that allow it (RFC 1939 4-6, RFC 2449 5,
// RFC 2595 4, RFC 5034 4) and its handler. The session checks the state before calling.
import type { Pop3Command, Pop3Verb } from '../proto/command.js';
import type { Pop3Session } from '../session.js';
import { auth, pass, stls, user } from './auth.js';
import { dele, list, noop, retr, rset, stat, top, uidl } from './maildrop.js';
import { capa } from './capa.js';

export type StateKind = 'authorization' | 'transaction';

export interface CommandSpec<N extends Pop3Verb> {
  states: readonly StateKind[];
  run(session: Pop3Session, command: Extract<Pop3Command, { name: N }>): Promise<void> | void;
}

const BOTH = ['authorization', 'transaction'] as const;
const AUTHZ = ['authorization'] as const;
const TRANS = ['transaction'] as const;

export const COMMANDS: { [N in Pop3Verb]: CommandSpec<N> } = {
  CAPA: { states: BOTH, run: capa },
  QUIT: { states: BOTH, run: (s) => s.quit() },
  NOOP: { states: TRANS, run: noop },
  STLS: { states: AUTHZ, run: stls },
  USER: { states: AUTHZ, run: user },
  PASS: { states: AUTHZ, run: pass },
  AUTH: { states: AUTHZ, run: auth },
  STAT: { states: TRANS, run: stat },
  LIST: { states: TRANS, run: list },
  UIDL: { states: TRANS, run: uidl },
  RETR: { states: TRANS, run: retr },
  TOP: { states: TRANS, run: top },
  DELE: { states: TRANS, run: dele },
  RSET: { states: TRANS, run: rset },
};
