// POST /ingest: inbound internet mail handed over by a Cloudflare Email Worker (see
// examples/cloudflare-email-worker.js). The raw RFC 5322 message is the body; the envelope
// is in the query (`?from=<sender>&to=<rcpt>&to=<rcpt>`; `from=` empty for the null sender).
//
// It runs the ONE delivery pipeline, exactly as LMTP does (RCPT-time checks, then deliver),
// and answers one result per recipient with LMTP's codes. The HTTP status tells the Worker
// what to do with the message as a whole:
//   200  every recipient accepted, or some accepted and the rest refused for good
//   413  too large (552 5.3.4)                         → the Worker rejects (sender bounces)
//   422  every recipient refused for good (5xx)         → the Worker rejects (sender bounces)
//   503  some recipient failed temporarily (4xx)        → the Worker throws (sender retries)
//   401/400/409: our set-up or the Worker is wrong      → the Worker throws (retried, logged)
// The body streams into the spool with the size limit and is never held whole in memory;
// a client that goes away before the end of the body delivers nothing.
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import type { Resolution } from '../directory/types.js';
import { spoolMessage } from '../delivery/spool.js';
import { reply, type DeliveryReply } from '../delivery/types.js';
import { countDeliveries, metrics } from '../metrics/index.js';
import { sendJson } from './body.js';
import type { HttpDeps } from './deps.js';
import { HttpError } from './errors.js';
import { openIdempotencyStore, type IdempotencyStore, type IngestResult, type StoredOutcome } from './idempotency.js';
import type { RequestContext, Router } from './router.js';
import { bearerToken, tokenSet } from './tokens.js';

// RFC 5321 4.5.3.1.3: a path is at most 256 octets. No controls, spaces or angle brackets.
const ADDRESS = /^[^\s<>\x00-\x1f\x7f]{1,254}$/;
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/;

export function registerIngestRoutes(router: Router, deps: HttpDeps): () => Promise<void> {
  const tokens = tokenSet(deps.config.http.ingestTokens);
  const maxBytes = deps.config.delivery.maxMessageBytes;
  const maxRecipients = deps.config.delivery.maxRecipients;
  let store: Promise<IdempotencyStore> | null = null;
  const keys = (): Promise<IdempotencyStore> => (store ??= openIdempotencyStore(join(deps.config.dataDir, 'http', 'idempotency.sqlite')));
  // Keys whose request is running now: a concurrent retry gets 409 instead of a second copy.
  const running = new Set<string>();

  router.post('/ingest', async (ctx) => {
    authorize(ctx);
    const { from, recipients } = envelope(ctx.url, maxRecipients);
    const key = idempotencyKey(ctx.req);
    const fingerprint = JSON.stringify([from.toLowerCase(), recipients.map((r) => r.toLowerCase())]);

    let previous: StoredOutcome | null = null;
    if (key !== null) {
      if (running.has(key)) throw new HttpError(409, 'conflict', 'a request with this Idempotency-Key is in progress', { 'Retry-After': '5' });
      previous = (await keys()).get(key);
      if (previous && previous.fingerprint !== fingerprint) {
        throw new HttpError(422, 'conflict', 'this Idempotency-Key was used with another envelope');
      }
      if (previous && !previous.results.some((r) => r.status === 'deferred')) {
        ctx.log.info({ key }, 'ingest replayed from idempotency key');
        respond(ctx, previous.results, { 'Idempotent-Replayed': 'true', Connection: 'close' });
        return;
      }
      running.add(key);
    }
    try {
      await ingest(ctx, from, recipients, key, previous);
    } finally {
      if (key !== null) running.delete(key);
    }
  });

  function authorize({ req, log }: RequestContext): void {
    if (tokens.size === 0) throw new HttpError(503, 'unavailable', 'ingest is not configured (http.ingestTokens is empty)');
    const token = bearerToken(req);
    if (token === null || !tokens.matches(token)) {
      metrics.authFailures.inc({ protocol: 'http' });
      log.warn({ presented: token !== null }, 'ingest token refused');
      throw new HttpError(401, 'unauthorized', token === null ? 'missing bearer token' : 'invalid bearer token', {
        'WWW-Authenticate': 'Bearer realm="ingest"',
      });
    }
  }

  async function ingest(ctx: RequestContext, from: string, recipients: string[], key: string | null, previous: StoredOutcome | null) {
    const { req, log } = ctx;
    // Recipients already settled by an earlier attempt with this key keep their result.
    const settled = new Map<number, IngestResult>();
    previous?.results.forEach((r, i) => r.status !== 'deferred' && settled.set(i, r));

    const declared = Number(req.headers['content-length'] ?? NaN);
    if (declared > maxBytes) {
      // Refuse before reading 25 MB we would throw away; close so the rest is not parsed.
      log.info({ size: declared, limit: maxBytes }, 'ingest over size limit (declared)');
      return finish(ctx, key, from, recipients, settled, recipients.map(() => countDeliveries(tooBig(maxBytes))), { Connection: 'close' });
    }

    const replies: Array<DeliveryReply | null> = recipients.map(() => null);
    const resolved = new Map<string, Resolution>();
    for (const [i, rcpt] of recipients.entries()) {
      if (settled.has(i)) continue;
      try {
        const { refusal, resolution } = await deps.pipeline.checkRecipient(rcpt, log);
        if (refusal) replies[i] = refusal;
        else resolved.set(rcpt, resolution);
      } catch (err) {
        // As LMTP's RCPT: the directory or the quota check failed; the sender retries.
        log.error({ err, rcpt }, 'recipient check failed');
        replies[i] = reply(451, '4.3.0', `<${rcpt}>: Temporary lookup failure`);
      }
    }

    const message = await spoolMessage(req, { spoolDir: deps.spoolDir, maxBytes }).catch((err: unknown) => {
      log.info({ err: { message: (err as Error).message } }, 'ingest body aborted; nothing delivered');
      return null;
    });
    if (!message) return void req.socket.destroy();
    try {
      if (!req.complete) {
        log.info({ size: message.size }, 'ingest body incomplete; nothing delivered');
        req.socket.destroy();
        return;
      }
      if (message.exceeded) {
        log.info({ size: message.size, limit: maxBytes }, 'ingest over size limit');
        const refusal = tooBig(maxBytes);
        return finish(ctx, key, from, recipients, settled, recipients.map(() => countDeliveries(refusal)));
      }
      const pending = recipients.filter((r, i) => !settled.has(i) && replies[i] === null);
      if (pending.length > 0) {
        const delivered = await deps.pipeline.deliver(
          { mailFrom: from, recipients: pending, remoteAddress: ctx.remote, heloName: 'http-ingest', protocol: 'HTTP', sessionId: ctx.id },
          message,
          log,
          resolved,
        );
        let j = 0;
        for (const [i] of recipients.entries()) if (!settled.has(i) && replies[i] === null) replies[i] = delivered[j++]!;
      }
      return finish(ctx, key, from, recipients, settled, replies);
    } finally {
      await message.dispose();
    }
  }

  async function finish(
    ctx: RequestContext,
    key: string | null,
    from: string,
    recipients: string[],
    settled: Map<number, IngestResult>,
    replies: Array<DeliveryReply | null>,
    headers: Record<string, string> = {},
  ): Promise<void> {
    const results = recipients.map((rcpt, i) => settled.get(i) ?? toResult(rcpt, replies[i] ?? reply(451, '4.3.0', 'Not processed')));
    if (key !== null) {
      const fingerprint = JSON.stringify([from.toLowerCase(), recipients.map((r) => r.toLowerCase())]);
      (await keys()).put(key, { fingerprint, results });
    }
    respond(ctx, results, headers);
  }

  return async () => {
    if (store) (await store).close();
  };
}

function tooBig(maxBytes: number): DeliveryReply {
  return reply(552, '5.3.4', `Message size exceeds fixed limit of ${maxBytes} bytes`);
}

function toResult(recipient: string, r: DeliveryReply): IngestResult {
  const status = r.code < 300 ? 'accepted' : r.code < 500 ? 'deferred' : 'rejected';
  return { recipient, status, code: r.code, enhanced: r.enhanced, message: r.text };
}

function statusFor(results: IngestResult[]): number {
  if (results.some((r) => r.status === 'deferred')) return 503;
  if (results.some((r) => r.status === 'accepted')) return 200;
  if (results.every((r) => r.enhanced === '5.3.4')) return 413;
  return 422;
}

function respond({ res, id, log }: RequestContext, results: IngestResult[], headers: Record<string, string>): void {
  const status = statusFor(results);
  if (status === 503) headers = { ...headers, 'Retry-After': '60' };
  log.info({ status, results: results.map((r) => `${r.code} ${r.enhanced}`) }, 'ingest answered');
  sendJson(res, status, { id, results }, headers);
}

function envelope(url: URL, maxRecipients: number): { from: string; recipients: string[] } {
  const froms = url.searchParams.getAll('from');
  if (froms.length !== 1) throw new HttpError(400, 'bad-request', 'exactly one `from` query parameter is required (empty for the null sender)');
  const from = froms[0]!;
  if (from !== '' && !ADDRESS.test(from)) throw new HttpError(400, 'invalid', 'invalid `from` address');
  const recipients = url.searchParams.getAll('to');
  if (recipients.length === 0) throw new HttpError(400, 'bad-request', 'at least one `to` query parameter is required');
  if (recipients.length > maxRecipients) throw new HttpError(400, 'invalid', `more than ${maxRecipients} recipients`);
  for (const r of recipients) if (!ADDRESS.test(r)) throw new HttpError(400, 'invalid', 'invalid `to` address');
  return { from, recipients };
}

function idempotencyKey(req: IncomingMessage): string | null {
  const raw = req.headers['idempotency-key'];
  if (raw === undefined) return null;
  if (Array.isArray(raw) || !IDEMPOTENCY_KEY.test(raw)) {
    throw new HttpError(400, 'invalid', 'Idempotency-Key must be 1-200 printable ASCII characters');
  }
  return raw;
}
