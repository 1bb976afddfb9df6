// CAPABILITY, NOOP, CHECK, LOGOUT, ID, ENABLE: the commands that touch no mail.
import type { Command } from '../proto/types.js';
import type { ImapSession } from '../session.js';
import { imapString } from '../response.js';

type Of<N extends Command['name']> = Extract<Command, { name: N }>;

export async function capability(s: ImapSession): Promise<string> {
  s.send(`* CAPABILITY ${s.capabilities().join(' ')}`);
  return 'CAPABILITY completed';
}

/** Updates are flushed by the session before every tagged OK (RFC 3501 6.1.2). */
export async function noop(): Promise<string> {
  return 'NOOP completed';
}

/** Maildir writes are durable when they return: nothing to checkpoint (RFC 3501 6.4.1). */
export async function check(): Promise<string> {
  return 'CHECK completed';
}

export async function logout(s: ImapSession, _cmd: Of<'LOGOUT'>, tag: string): Promise<null> {
  s.send('* BYE Logging out');
  s.send(`${tag} OK LOGOUT completed`);
  s.close();
  return null;
}

/** RFC 2971: we log what the client says about itself and name ourselves. */
export async function id(s: ImapSession, cmd: Of<'ID'>): Promise<string> {
  if (cmd.params) {
    const fields = Object.fromEntries(cmd.params.slice(0, 30).map(([k, v]) => [k.slice(0, 30).toLowerCase(), v?.slice(0, 200) ?? null]));
    s.log.info({ client: fields }, 'client id');
  }
  s.send(`* ID (${imapString('name')} ${imapString('mailserver')} ${imapString('vendor')} ${imapString('mailserver')})`);
  return 'ID completed';
}

/** RFC 5161: nothing in part 1 can be enabled (CONDSTORE/UTF8=ACCEPT come later); unknown names are ignored. */
export async function enable(s: ImapSession, cmd: Of<'ENABLE'>): Promise<string> {
  s.log.debug({ requested: cmd.capabilities }, 'enable');
  s.send('* ENABLED');
  return 'ENABLE completed';
}
