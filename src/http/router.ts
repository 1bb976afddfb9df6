// A small router over Node's http module: method + path pattern (`/api/v1/users/:address`)
// to a handler. Why not a framework: none is installed here (no fastify/express), and the
// needs are small — exact segments, named parameters, 405 with Allow.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { HttpError } from './errors.js';

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  /** Decoded path parameters. */
  params: Record<string, string>;
  log: Logger;
  /** Peer address (the proxy's when behind Nginx or a tunnel). */
  remote: string;
  /** Request id: also in every log line of this request and in 500 replies. */
  id: string;
}

export type Handler = (ctx: RequestContext) => Promise<void> | void;

interface Route {
  method: string;
  pattern: string;
  segments: string[];
  handler: Handler;
}

export interface Match {
  handler: Handler;
  params: Record<string, string>;
  /** The pattern, used as the metrics label (bounded cardinality, unlike the raw path). */
  pattern: string;
}

export class Router {
  private readonly routes: Route[] = [];

  add(method: string, pattern: string, handler: Handler): this {
    this.routes.push({ method, pattern, segments: split(pattern), handler });
    return this;
  }

  get(p: string, h: Handler): this {
    return this.add('GET', p, h);
  }
  post(p: string, h: Handler): this {
    return this.add('POST', p, h);
  }
  patch(p: string, h: Handler): this {
    return this.add('PATCH', p, h);
  }
  delete(p: string, h: Handler): this {
    return this.add('DELETE', p, h);
  }

  /** Null when no pattern matches the path; throws 405 when one does for another method. */
  match(method: string, pathname: string): Match | null {
    const parts = split(pathname);
    const allowed: string[] = [];
    for (const r of this.routes) {
      const params = matchSegments(r.segments, parts);
      if (!params) continue;
      if (r.method === method || (method === 'HEAD' && r.method === 'GET')) return { handler: r.handler, params, pattern: r.pattern };
      allowed.push(r.method);
    }
    if (allowed.length > 0) {
      throw new HttpError(405, 'method-not-allowed', `method ${method} not allowed here`, { Allow: [...new Set(allowed)].join(', ') });
    }
    return null;
  }
}

function split(path: string): string[] {
  return path.split('/').filter((s) => s.length > 0);
}

function matchSegments(pattern: string[], parts: string[]): Record<string, string> | null {
  if (pattern.length !== parts.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    const v = parts[i]!;
    if (p.startsWith(':')) {
      let decoded: string;
      try {
        decoded = decodeURIComponent(v);
      } catch {
        throw new HttpError(400, 'bad-request', 'malformed percent-encoding in the path');
      }
      params[p.slice(1)] = decoded;
    } else if (p !== v) {
      return null;
    }
  }
  return params;
}
