// The HTTP listener: ingest endpoint, admin API, web UI, health and metrics on one port
// (default 127.0.0.1:10080, usually behind Nginx or a Cloudflare Tunnel). Node's http
// module with a small router (router.ts): no web framework is installed, and the needs are
// small. Errors become replies in one place here (handle()).
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { newSessionId, sessionLogger } from '../log.js';
import { createAddressFilter } from '../net/allowlist.js';
import { admit, boundAddresses, closeEach, listenEach } from '../net/bind.js';
import type { Service } from '../net/listener.js';
import { metrics, registerQueueProbe } from '../metrics/index.js';
import { sendJson } from './body.js';
import { toHttpError, type HttpError } from './errors.js';
import { Router, type RequestContext } from './router.js';
import type { HttpDeps } from './deps.js';
import { registerHealthRoutes } from './health.js';
import { createOutbound } from './outbound.js';
import { registerIngestRoutes } from './ingest.js';
import { registerApiRoutes } from './api/routes.js';
import { registerUiRoutes, renderErrorPage } from './ui/routes.js';

// Headers every reply carries: no MIME sniffing, no framing (clickjacking on the admin UI),
// no Referer leaking admin URLs.
const BASE_HEADERS: Record<string, string> = {
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
};

export function createHttpService(deps: HttpDeps): Service & { close(): Promise<void> } {
  const cfg = deps.config.http;
  const log = deps.logger.child({ svc: 'http' });
  const allowed = createAddressFilter(cfg.allow);
  const trusted = cfg.trustedProxies.length > 0 ? createAddressFilter(cfg.trustedProxies) : () => false;
  /**
   * The client behind trusted proxies: X-Forwarded-For read from the right, skipping our own
   * proxies (each appends the address it saw), so a client cannot pick its address by
   * sending the header itself.
   */
  const clientAddress = (req: IncomingMessage): string => {
    const peer = req.socket.remoteAddress ?? '';
    if (!trusted(peer)) return peer;
    const hops = String(req.headers['x-forwarded-for'] ?? '').split(',').map((h) => h.trim()).filter(Boolean);
    for (let i = hops.length - 1; i >= 0; i--) if (!trusted(hops[i])) return hops[i]!;
    return peer;
  };
  const router = new Router();
  const outbound = createOutbound(deps.config);
  const snapshotListeners = registerHealthRoutes(router, {
    directory: deps.directory,
    mailRoot: deps.config.mailRoot,
    services: deps.services,
    extraChecks: () => [...deps.readinessChecks(), outbound.readiness()],
  });
  const closers: Array<() => Promise<void> | void> = [];
  // Queue gauges from the queue directory, read at scrape time.
  closers.push(registerQueueProbe(() => outbound.stats()));
  closers.push(registerIngestRoutes(router, deps));
  registerApiRoutes(router, deps, outbound);
  closers.push(registerUiRoutes(router, deps, outbound));

  let inFlight = 0;
  let idle: (() => void) | null = null;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    const id = newSessionId();
    const remote = clientAddress(req);
    const rlog = sessionLogger(deps.logger, { svc: 'http', sid: id, remote });
    for (const [k, v] of Object.entries(BASE_HEADERS)) res.setHeader(k, v);
    res.setHeader('X-Request-Id', id);
    let route = 'unmatched';
    inFlight++;
    res.on('close', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const status = res.writableFinished ? res.statusCode : 0; // 0: the client went away first
      metrics.httpRequests.inc({ route, status: String(status) });
      metrics.httpRequestSeconds.observe({ route }, seconds);
      rlog.info({ method: req.method, route, path: safePath(req.url), status, ms: Math.round(seconds * 1000) }, 'request');
      if (--inFlight === 0) idle?.();
    });
    const url = new URL(req.url ?? '/', 'http://localhost');
    const ctx: RequestContext = { req, res, url, params: {}, log: rlog, remote, id };
    try {
      const match = router.match(req.method ?? 'GET', url.pathname);
      if (!match) {
        sendProblem(ctx, { status: 404, code: 'not-found', message: 'no such endpoint', headers: {} });
        return;
      }
      route = match.pattern;
      ctx.params = match.params;
      await match.handler(ctx);
    } catch (err) {
      const known = toHttpError(err);
      if (known) {
        rlog.info({ status: known.status, code: known.code, msg: known.message }, 'request refused');
        sendProblem(ctx, known);
      } else {
        rlog.error({ err }, 'request failed');
        sendProblem(ctx, { status: 500, code: 'internal', message: `internal error (request ${id})`, headers: {} });
      }
    }
  }

  function sendProblem(ctx: RequestContext, e: Pick<HttpError, 'status' | 'code' | 'message' | 'headers'> & { details?: unknown }): void {
    const { res, url } = ctx;
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (url.pathname === '/admin' || url.pathname.startsWith('/admin/')) {
      renderErrorPage(ctx, e.status, e.message, e.headers);
      return;
    }
    const body: Record<string, unknown> = { code: e.code, message: e.message };
    if (e.details !== undefined) body.details = e.details;
    sendJson(res, e.status, { error: body }, e.headers);
  }

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    void handle(req, res);
  };
  const servers: Array<http.Server | https.Server> = [];

  function accept(socket: Socket): void {
    if (!admit(allowed, socket, log)) return;
    metrics.connections.inc({ protocol: 'http' });
  }

  function makeServer(): http.Server | https.Server {
    const s = cfg.tls ? https.createServer(deps.tls.serverOptions(), onRequest) : http.createServer(onRequest);
    if (cfg.tls) closers.push(deps.tls.attach(s as https.Server));
    s.maxConnections = cfg.maxConnections;
    // Idle keep-alive and silent sockets; requestTimeout bounds a whole request (a 25 MB
    // ingest over a slow link fits comfortably in the idle timeout's window per chunk).
    s.timeout = cfg.idleTimeoutSeconds * 1000;
    s.keepAliveTimeout = 5000;
    s.headersTimeout = 30_000;
    s.requestTimeout = 0;
    s.on(cfg.tls ? 'secureConnection' : 'connection', accept);
    if (cfg.tls) s.on('connection', (sock: Socket) => { if (!allowed(sock.remoteAddress)) sock.destroy(); });
    s.on('clientError', (err, socket) => {
      const code = (err as NodeJS.ErrnoException).code;
      log.info({ err: { message: err.message, code }, remote: (socket as Socket).remoteAddress }, 'bad http request');
      // RFC 9110 15.5.1 / RFC 6585 5: malformed request → 400; header section too large → 431.
      const status = code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
      if (socket.writable && code !== 'ECONNRESET') socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      else socket.destroy();
    });
    return s;
  }

  async function stop(): Promise<void> {
    const closed = closeEach(servers);
    for (const s of servers) s.closeIdleConnections();
    if (inFlight > 0) {
      await Promise.race([new Promise<void>((r) => (idle = r)), new Promise((r) => setTimeout(r, deps.closeTimeoutMs ?? 30_000).unref())]);
    }
    for (const s of servers) s.closeAllConnections();
    await closed;
    servers.length = 0;
    for (const c of closers.splice(0)) await c();
  }

  return {
    name: 'http',
    async start() {
      await listenEach(servers, makeServer, { bind: cfg.bind, port: cfg.port, log, errorMessage: 'http listener error', fields: { tls: cfg.tls } });
      snapshotListeners();
    },
    stop,
    close: stop,
    addresses() {
      return boundAddresses(servers);
    },
  };
}

/** The path without its query string: ingest queries carry addresses, which stay out of the request line. */
function safePath(url: string | undefined): string {
  const p = (url ?? '/').split('?')[0]!;
  return p.length > 200 ? `${p.slice(0, 200)}…` : p;
}
