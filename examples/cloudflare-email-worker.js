// Cloudflare Email Worker: hands every message that Email Routing gives it to the mail
// server's ingest endpoint (POST /ingest), streaming the raw message, and turns the answer
// into what Email Routing should tell the sending server:
//   200        delivered                       → nothing to do
//   413 / 422  refused for good (5xx codes)    → message.setReject(): the sender gets a bounce
//   anything else (503, 401, network error)    → throw: Email Routing answers with a
//              temporary failure and the sending server retries later
//
// Settings (see the README, "Cloudflare Email Worker"):
//   INGEST_URL    https://mail.example.com/ingest   (a var in wrangler.toml)
//   INGEST_TOKEN  one of http.ingestTokens         (`wrangler secret put INGEST_TOKEN`)
//
// The same file runs under Node 20 in the test suite (test/http/ingest.test.ts), which
// drives `email()` with a message object shaped like Cloudflare's ForwardableEmailMessage.

export default {
  async email(message, env) {
    const url = new URL(env.INGEST_URL);
    url.searchParams.set('from', message.from);
    url.searchParams.append('to', message.to);

    const headers = {
      Authorization: `Bearer ${env.INGEST_TOKEN}`,
      'Content-Type': 'message/rfc822',
    };
    // A retry of the same message to the same recipient (the sending server trying again
    // after a temporary failure) carries the same key, so it is delivered once.
    const key = await idempotencyKey(message);
    if (key) headers['Idempotency-Key'] = key;

    // FixedLengthStream gives the request a Content-Length (Workers only), so the server can
    // refuse an oversized message before reading it. Elsewhere the body is sent chunked.
    const body =
      typeof FixedLengthStream === 'function' && message.rawSize
        ? message.raw.pipeThrough(new FixedLengthStream(message.rawSize))
        : message.raw;

    const res = await fetch(url, { method: 'POST', headers, body, duplex: 'half', signal: AbortSignal.timeout(120_000) });
    const answer = await res.json().catch(() => null);
    const results = Array.isArray(answer?.results) ? answer.results : [];

    if (res.status === 200) return;
    if (res.status === 413 || res.status === 422) {
      const reason = results.map((r) => `${r.code} ${r.enhanced} ${r.message}`).join('; ') || `refused (${res.status})`;
      message.setReject(reason);
      return;
    }
    const why = answer?.error?.message ?? results.map((r) => `${r.code} ${r.message}`).join('; ');
    throw new Error(`ingest answered ${res.status}${why ? `: ${why}` : ''}`);
  },
};

async function idempotencyKey(message) {
  const messageId = message.headers.get('Message-ID');
  if (!messageId) return null;
  const data = new TextEncoder().encode(`${messageId}\n${message.from}\n${message.to}`);
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', data));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}
