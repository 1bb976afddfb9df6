// Web UI sessions, in memory (a restart signs everyone out; fine for a handful of admins).
// The cookie holds only a random id; each session has its own CSRF token (synchronizer
// token pattern), and expires after `ttlMs` without a request (sliding).
import { randomBytes, timingSafeEqual } from 'node:crypto';

export interface Session {
  id: string;
  csrf: string;
  /** Signed-in administrator; undefined for the pre-login session that carries the login form's token. */
  user?: string;
  expires: number;
  flash?: { kind: 'ok' | 'error'; text: string };
}

export class SessionStore {
  private readonly sessions = new Map<string, Session>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.timer = setInterval(() => this.prune(), 60_000);
    this.timer.unref();
  }

  create(user?: string): Session {
    const s: Session = { id: randomBytes(32).toString('base64url'), csrf: randomBytes(32).toString('base64url'), expires: this.now() + this.ttlMs };
    if (user !== undefined) s.user = user;
    this.sessions.set(s.id, s);
    // Bounded memory: anonymous login-form sessions are cheap to create, so cap them.
    if (this.sessions.size > 10_000) this.prune();
    return s;
  }

  /** The live session for a cookie value, its expiry pushed forward; null when unknown or expired. */
  get(id: string | undefined): Session | null {
    if (!id) return null;
    const s = this.sessions.get(id);
    if (!s) return null;
    if (s.expires <= this.now()) {
      this.sessions.delete(id);
      return null;
    }
    s.expires = this.now() + this.ttlMs;
    return s;
  }

  destroy(id: string): void {
    this.sessions.delete(id);
  }

  close(): void {
    clearInterval(this.timer);
    this.sessions.clear();
  }

  private prune(): void {
    const t = this.now();
    for (const [id, s] of this.sessions) if (s.expires <= t) this.sessions.delete(id);
    if (this.sessions.size > 10_000) {
      // Still too many: drop the anonymous ones first (signed-in admins keep their sessions).
      for (const [id, s] of this.sessions) if (!s.user) this.sessions.delete(id);
    }
  }
}

export function csrfMatches(session: Session, presented: string | undefined): boolean {
  if (!presented) return false;
  const a = Buffer.from(session.csrf);
  const b = Buffer.from(presented);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i <= 0) continue;
    const k = part.slice(0, i).trim();
    if (!(k in out)) out[k] = part.slice(i + 1).trim();
  }
  return out;
}
