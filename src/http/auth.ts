// Password checks for the HTTP side (admin Basic auth, web UI sign-in, the users' own
// password change), all through the process's one AuthThrottle, so guessing over HTTP is
// throttled together with IMAP, POP3 and submission.
import { setTimeout as sleep } from 'node:timers/promises';
import type { UserRecord } from '../directory/types.js';
import { metrics } from '../metrics/index.js';
import type { HttpDeps } from './deps.js';
import { HttpError } from './errors.js';
import type { RequestContext } from './router.js';
import { basicCredentials, bearerToken, tokenSet, type TokenSet } from './tokens.js';

export type Principal = { kind: 'token' } | { kind: 'user'; address: string };

/** Checks a password with the throttle's tarpit; 429 when the address or user is locked out. */
export async function checkPassword(deps: HttpDeps, ctx: RequestContext, user: string, password: string): Promise<UserRecord | null> {
  const verdict = deps.authThrottle.check(ctx.remote, user);
  if (!verdict.allowed) {
    metrics.authFailures.inc({ protocol: 'http' });
    await sleep(verdict.delayMs);
    ctx.log.warn({ user }, 'login throttled');
    throw new HttpError(429, 'throttled', 'too many failed logins; try again later', { 'Retry-After': '60' });
  }
  const found = await deps.directory.authenticate(user, password);
  if (!found) {
    metrics.authFailures.inc({ protocol: 'http' });
    const delay = deps.authThrottle.fail(ctx.remote, user);
    ctx.log.info({ user }, 'login failed');
    await sleep(delay);
    return null;
  }
  deps.authThrottle.succeed(ctx.remote, user);
  return found;
}

export function createAdminAuth(deps: HttpDeps) {
  const tokens: TokenSet = tokenSet(deps.config.http.adminTokens);
  const admins = new Set(deps.config.http.admins.map((a) => a.toLowerCase()));
  const isAdmin = (address: string): boolean => admins.has(address.toLowerCase());

  /** Admin API: `Authorization: Bearer <admin token>` or Basic with an admin user's password. */
  async function requireAdmin(ctx: RequestContext): Promise<Principal> {
    const challenge = { 'WWW-Authenticate': 'Bearer realm="admin", Basic realm="admin", charset="UTF-8"' };
    const token = bearerToken(ctx.req);
    if (token !== null) {
      if (tokens.size > 0 && tokens.matches(token)) return { kind: 'token' };
      metrics.authFailures.inc({ protocol: 'http' });
      ctx.log.warn('admin token refused');
      throw new HttpError(401, 'unauthorized', 'invalid bearer token', challenge);
    }
    const basic = basicCredentials(ctx.req);
    if (basic) {
      // Non-admins get the same answer as a wrong password, after the same password check.
      const user = await checkPassword(deps, ctx, basic.user, basic.password);
      if (user && isAdmin(user.address)) return { kind: 'user', address: user.address };
      throw new HttpError(401, 'unauthorized', 'invalid credentials', challenge);
    }
    throw new HttpError(401, 'unauthorized', 'authentication required', challenge);
  }

  return { requireAdmin, isAdmin, tokens };
}

export type AdminAuth = ReturnType<typeof createAdminAuth>;
