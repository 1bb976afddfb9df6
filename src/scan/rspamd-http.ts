// One HTTP exchange with Rspamd (normal worker or controller) over Node's own http client:
// the message is streamed as the request body, the whole exchange has one deadline, and
// the answer is read up to a cap. Shared by the scanner (/checkv2, /ping) and the learner
// (/learnspam, /learnham); neither needs keep-alive (Rspamd answers `Connection: close`).
import http from 'node:http';
import type { Readable } from 'node:stream';

/** Why an exchange failed; the reason is short and safe to log or put in a header. */
export class RspamdError extends Error {
  constructor(readonly reason: string) {
    super(`rspamd: ${reason}`);
    this.name = 'RspamdError';
  }
}

export interface RspamdResponse {
  status: number;
  /** Rspamd puts its explanation in the reason phrase (`208 <id> has been already learned…`). */
  statusMessage: string;
  body: Buffer;
}

export interface RspamdRequest {
  base: string;
  path: string;
  method: 'GET' | 'POST';
  /** Array values become one header line each (Rspamd's `Rcpt`). */
  headers?: Record<string, string | string[] | number>;
  /** Opened only once the connection exists; chunked unless `Content-Length` is given. */
  body?: () => Readable;
  timeoutMs: number;
  /** Larger answers are refused (a /checkv2 answer with every symbol is a few KB). */
  maxResponseBytes?: number;
}

const DEFAULT_MAX_RESPONSE = 4 * 1024 * 1024;

export function rspamdRequest(r: RspamdRequest): Promise<RspamdResponse> {
  return new Promise((resolve, reject) => {
    const url = new URL(r.path, r.base);
    let settled = false;
    let body: Readable | null = null;
    const finish = (err: Error | null, res?: RspamdResponse): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      // A body still being read (the server answered early, or failed) is let go here.
      if (body && !body.destroyed) body.destroy();
      if (err) {
        req.destroy();
        reject(err);
      } else resolve(res!);
    };
    const req = http.request(url, { method: r.method, headers: r.headers });
    const timer = setTimeout(() => finish(new RspamdError('timeout')), r.timeoutMs);
    req.on('error', (err: NodeJS.ErrnoException) => finish(new RspamdError(err.code ? err.code.toLowerCase() : 'connection failed')));
    req.on('response', (res) => {
      const cap = r.maxResponseBytes ?? DEFAULT_MAX_RESPONSE;
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > cap) return finish(new RspamdError('answer too large'));
        chunks.push(c);
      });
      res.on('error', () => finish(new RspamdError('connection lost')));
      res.on('aborted', () => finish(new RspamdError('connection lost')));
      res.on('end', () =>
        finish(null, { status: res.statusCode ?? 0, statusMessage: res.statusMessage ?? '', body: Buffer.concat(chunks) }),
      );
    });
    if (!r.body) {
      req.end();
      return;
    }
    body = r.body();
    body.on('error', () => finish(new RspamdError('message unreadable')));
    body.pipe(req);
  });
}

/**
 * Header values come from the SMTP peer (HELO, MAIL FROM, RCPT; UTF-8 under SMTPUTF8).
 * Node refuses control characters and code points above U+00FF in a header, so controls
 * become spaces and the UTF-8 bytes are handed over as latin1, which Node writes as is.
 */
export function headerValue(v: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = v.replace(/[\x00-\x08\x0a-\x1f\x7f]/g, ' ').trim();
  return /[^\x20-\x7e\t]/.test(clean) ? Buffer.from(clean, 'utf8').toString('latin1') : clean;
}
