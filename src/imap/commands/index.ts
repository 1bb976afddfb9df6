// The command registry (STYLE.md 3): each command's handler next to the states that allow
// it. A handler returns the text of its tagged OK, or null when it wrote its own ending.
import type { Command, CommandName } from '../proto/types.js';
import type { ImapSession } from '../session.js';
import * as misc from './misc.js';
import * as auth from './auth.js';
import * as mailbox from './mailbox.js';
import * as select from './select.js';
import * as append from './append.js';
import * as fetch from './fetch.js';
import * as search from './search.js';
import * as store from './store.js';
import * as copyMove from './copy-move.js';
import * as expunge from './expunge.js';
import * as idle from './idle.js';
import * as compress from './compress.js';
import * as listing from './list.js';
import * as quota from './quota.js';
import * as sort from './sort.js';

export type StateKind = 'notAuthenticated' | 'authenticated' | 'selected';
type Of<N extends CommandName> = Extract<Command, { name: N }>;

export interface CommandSpec<N extends CommandName> {
  states: readonly StateKind[];
  run(s: ImapSession, cmd: Of<N>, tag: string): Promise<string | null>;
}

const ANY: readonly StateKind[] = ['notAuthenticated', 'authenticated', 'selected'];
const PRE: readonly StateKind[] = ['notAuthenticated'];
const AUTH: readonly StateKind[] = ['authenticated', 'selected'];
const SEL: readonly StateKind[] = ['selected'];

export const COMMANDS: { [N in CommandName]: CommandSpec<N> } = {
  CAPABILITY: { states: ANY, run: misc.capability },
  NOOP: { states: ANY, run: misc.noop },
  LOGOUT: { states: ANY, run: misc.logout },
  ID: { states: ANY, run: misc.id },
  ENABLE: { states: ['authenticated'], run: misc.enable },
  STARTTLS: { states: PRE, run: auth.starttls },
  AUTHENTICATE: { states: PRE, run: auth.authenticate },
  LOGIN: { states: PRE, run: auth.login },
  SELECT: { states: AUTH, run: select.select },
  EXAMINE: { states: AUTH, run: select.select },
  CREATE: { states: AUTH, run: mailbox.create },
  DELETE: { states: AUTH, run: mailbox.del },
  RENAME: { states: AUTH, run: mailbox.rename },
  SUBSCRIBE: { states: AUTH, run: mailbox.subscribe },
  UNSUBSCRIBE: { states: AUTH, run: mailbox.subscribe },
  LIST: { states: AUTH, run: listing.list },
  LSUB: { states: AUTH, run: listing.list },
  NAMESPACE: { states: AUTH, run: mailbox.namespace },
  STATUS: { states: AUTH, run: mailbox.status },
  APPEND: { states: AUTH, run: append.append },
  IDLE: { states: AUTH, run: idle.idle },
  COMPRESS: { states: AUTH, run: compress.compress },
  GETQUOTA: { states: AUTH, run: quota.getQuota },
  GETQUOTAROOT: { states: AUTH, run: quota.getQuotaRoot },
  SETQUOTA: { states: AUTH, run: quota.setQuota },
  CHECK: { states: SEL, run: misc.check },
  CLOSE: { states: SEL, run: select.close },
  UNSELECT: { states: SEL, run: select.unselect },
  EXPUNGE: { states: SEL, run: expunge.expunge },
  'UID EXPUNGE': { states: SEL, run: expunge.uidExpunge },
  SEARCH: { states: SEL, run: search.search },
  SORT: { states: SEL, run: sort.sort },
  THREAD: { states: SEL, run: sort.thread },
  FETCH: { states: SEL, run: fetch.fetch },
  STORE: { states: SEL, run: store.store },
  COPY: { states: SEL, run: copyMove.copyMove },
  MOVE: { states: SEL, run: copyMove.copyMove },
};
