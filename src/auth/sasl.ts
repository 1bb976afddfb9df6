// SASL PLAIN (RFC 4616) and LOGIN (draft-murchison-sasl-login) decoding for IMAP and POP3.
// Pure: base64 text in, credentials out. smtp-server does its own SASL for submission.

export interface Credentials {
  /** Authorization identity; empty when the client left it out. */
  authzid: string;
  username: string;
  password: string;
}

/** The mechanisms our stored hashes can serve: both need the plain password. */
export const SASL_MECHANISMS = ['PLAIN', 'LOGIN'] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

export class SaslError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SaslError';
  }
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Strict base64: Buffer.from silently skips garbage, which would turn junk into credentials. */
export function decodeBase64(text: string): Buffer {
  const t = text.trim();
  if (t.length % 4 !== 0 || !BASE64.test(t)) throw new SaslError('invalid base64');
  return Buffer.from(t, 'base64');
}

function utf8(buf: Buffer, what: string): string {
  const s = buf.toString('utf8');
  if (s.includes('\uFFFD') && !buf.equals(Buffer.from(s, 'utf8'))) throw new SaslError(`${what} is not UTF-8`);
  return s;
}

/** RFC 4616: [authzid] NUL authcid NUL passwd. A NUL inside a field is never truncated: refused. */
export function decodePlain(response: string): Credentials {
  const raw = decodeBase64(response);
  const first = raw.indexOf(0);
  const second = first < 0 ? -1 : raw.indexOf(0, first + 1);
  if (first < 0 || second < 0 || raw.indexOf(0, second + 1) >= 0) throw new SaslError('malformed PLAIN response');
  const authzid = utf8(raw.subarray(0, first), 'authorization identity');
  const username = utf8(raw.subarray(first + 1, second), 'user name');
  const password = utf8(raw.subarray(second + 1), 'password');
  if (!username || !password) throw new SaslError('empty user name or password');
  return { authzid, username, password };
}

/** One LOGIN step's answer (user name or password), base64-decoded. */
export function decodeLoginStep(response: string): string {
  const s = utf8(decodeBase64(response), 'response');
  if (s.includes('\0')) throw new SaslError('NUL in response');
  return s;
}

/** LOGIN's two challenges, already base64 ("Username:", "Password:"). */
export const LOGIN_PROMPTS = {
  username: Buffer.from('Username:').toString('base64'),
  password: Buffer.from('Password:').toString('base64'),
} as const;
