// Bearer tokens (ingest, admin). Each side is hashed with SHA-256 first so the comparison
// runs over equal-length buffers with crypto.timingSafeEqual, and every configured token is
// compared (no early exit), so timing tells neither which token nor how much of it matched.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const sha256 = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

export interface TokenSet {
  readonly size: number;
  matches(presented: string): boolean;
}

export function tokenSet(tokens: readonly string[]): TokenSet {
  const hashes = tokens.map(sha256);
  return {
    size: hashes.length,
    matches(presented) {
      const h = sha256(presented);
      let ok = false;
      for (const t of hashes) ok = timingSafeEqual(t, h) || ok;
      return ok;
    },
  };
}

/** The token of `Authorization: Bearer <token>` (RFC 6750 2.1); null when absent or another scheme. */
export function bearerToken(req: IncomingMessage): string | null {
  const m = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(req.headers.authorization ?? '');
  return m ? m[1]! : null;
}

/** `Authorization: Basic` credentials (RFC 7617); null when absent or malformed. */
export function basicCredentials(req: IncomingMessage): { user: string; password: string } | null {
  const m = /^Basic +([A-Za-z0-9+/]+=*) *$/i.exec(req.headers.authorization ?? '');
  if (!m) return null;
  const text = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon <= 0) return null;
  return { user: text.slice(0, colon), password: text.slice(colon + 1) };
}
