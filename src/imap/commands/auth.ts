// STARTTLS, LOGIN, AUTHENTICATE (PLAIN, LOGIN; SASL-IR, RFC 4959). Passwords only over TLS,
// or on loopback when `auth.loopbackIsSecure` (RFC 3501 6.2.3: LOGINDISABLED before TLS).
// Every check goes through passwordLogin: the shared throttle, one log line per failure.
import { passwordLogin } from '../../auth/login.js';
import { decodeLoginStep, decodePlain, LOGIN_PROMPTS, SaslError, type Credentials } from '../../auth/sasl.js';
import { ImapBad, ImapNo } from '../errors.js';
import type { Command } from '../proto/types.js';
import type { ImapSession } from '../session.js';

type Of<N extends Command['name']> = Extract<Command, { name: N }>;

export async function starttls(s: ImapSession, _cmd: Of<'STARTTLS'>, tag: string): Promise<string | null> {
  if (s.tlsActive) throw new ImapBad('TLS is already active');
  if (!s.starttlsAvailable) throw new ImapBad('STARTTLS is not offered on this port');
  await s.startTls(tag);
  return null;
}

function requireSecure(s: ImapSession): void {
  if (!s.secure) throw new ImapNo('Use STARTTLS first: passwords are not accepted in plaintext', 'PRIVACYREQUIRED');
}

export async function login(s: ImapSession, cmd: Of<'LOGIN'>): Promise<string> {
  requireSecure(s);
  return finish(s, { authzid: '', username: cmd.username, password: cmd.password }, 'LOGIN');
}

export async function authenticate(s: ImapSession, cmd: Of<'AUTHENTICATE'>): Promise<string> {
  const mech = cmd.mechanism.toUpperCase();
  if (mech !== 'PLAIN' && mech !== 'LOGIN') throw new ImapNo(`Unsupported mechanism ${cmd.mechanism}`, 'CANNOT');
  requireSecure(s);
  // SASL-IR: '=' is an empty initial response (RFC 4959 3).
  const initial = cmd.initial === undefined ? undefined : cmd.initial === '=' ? '' : cmd.initial;
  let creds: Credentials;
  try {
    if (mech === 'PLAIN') {
      const response = initial ?? (await challenge(s, ''));
      creds = decodePlain(response);
    } else {
      const username = decodeLoginStep(initial ?? (await challenge(s, LOGIN_PROMPTS.username)));
      const password = decodeLoginStep(await challenge(s, LOGIN_PROMPTS.password));
      if (!username || !password) throw new SaslError('empty user name or password');
      creds = { authzid: '', username, password };
    }
  } catch (err) {
    if (err instanceof SaslError) throw new ImapBad(`Invalid SASL response: ${err.message}`);
    throw err;
  }
  return finish(s, creds, 'AUTHENTICATE');
}

/** One SASL round: `+ <challenge>`, then the client's line; `*` cancels (RFC 3501 6.2.2). */
async function challenge(s: ImapSession, text: string): Promise<string> {
  s.send(text ? `+ ${text}` : '+ ');
  const line = await s.readRawLine();
  if (line === null) throw new ImapBad('Connection closed during authentication');
  if (line.trim() === '*') throw new ImapBad('Authentication cancelled');
  return line;
}

async function finish(s: ImapSession, creds: Credentials, how: string): Promise<string> {
  // A NUL inside a name is refused, never truncated (issue 3; passwordLogin refuses it too).
  if (creds.username.includes('\0') || creds.password.includes('\0')) {
    s.log.info({ how }, 'auth refused: NUL in credentials');
    throw new ImapNo('Invalid credentials', 'AUTHENTICATIONFAILED');
  }
  const outcome = await passwordLogin(
    s.deps.directory,
    s.deps.throttle,
    { ip: s.remote, username: creds.username, password: creds.password, authzid: creds.authzid, service: 'imap' },
    s.log,
  );
  if (!outcome.ok) {
    if (outcome.reason === 'throttled') throw new ImapNo('Too many failed logins; try again later', 'UNAVAILABLE');
    throw new ImapNo('Invalid credentials', 'AUTHENTICATIONFAILED');
  }
  await s.login(outcome.user);
  return `[CAPABILITY ${s.capabilities().join(' ')}] Logged in`;
}
