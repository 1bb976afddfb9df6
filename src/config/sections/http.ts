import { z } from 'zod';
import { cidr, listener, secretString } from '../fields.js';

// The listener keys (bind, port, allow, ...) sit directly under `http`, like `lmtp`, so
// `MAILSERVER__HTTP__PORT` works; the HTTP-only keys are added beside them.
const base = listener(10080, ['127.0.0.0/8', '::1/128'], '', 300, 'A connection silent this long (an idle keep-alive, a stalled upload) is closed.').unwrap();

export const httpSection = base
  .extend({
    tls: z
      .boolean()
      .default(false)
      .describe('Serve HTTPS with the certificates of `tls` (usually off: Nginx or a Cloudflare Tunnel terminates TLS in front).'),
    ingestTokens: z
      .array(secretString())
      .default([])
      .describe('Bearer tokens accepted by `POST /ingest` (several, so one can be rotated). Empty = the ingest endpoint answers 503.'),
    adminTokens: z
      .array(secretString())
      .default([])
      .describe('Bearer tokens for the admin API `/api/v1` (and the web UI sign-in with a token).'),
    admins: z
      .array(z.string().min(3).max(320))
      .default([])
      .describe('Mailbox addresses whose users may sign in to the web UI and the admin API with their own password.'),
    sessionMinutes: z.number().int().min(1).max(7 * 24 * 60).default(60).describe('Web UI sessions end after this long without a request.'),
    secureCookies: z
      .boolean()
      .default(true)
      .describe('Mark the web UI cookies `Secure` (browsers still send them to http://localhost; turn off only for plain HTTP on another host).'),
    trustedProxies: z
      .array(cidr)
      .default([])
      .describe('Reverse proxies (Nginx, cloudflared) whose `X-Forwarded-For` names the real client, for logs and the login throttle. Empty = use the peer address.'),
    maxJsonBytes: z.number().int().positive().default(64 * 1024).describe('Largest JSON or form body accepted by the admin API and the web UI.'),
  })
  .prefault({})
  .describe('HTTP listener: ingest endpoint for the Cloudflare Email Worker, admin API and web UI, `/healthz`, `/readyz`, `/metrics`. Keep it on loopback behind Nginx or a tunnel.');
