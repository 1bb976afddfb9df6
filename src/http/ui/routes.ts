// Admin web UI (placeholder until the pages land).
import { sendText } from '../body.js';
import type { HttpDeps } from '../deps.js';
import type { RequestContext, Router } from '../router.js';

export function registerUiRoutes(_router: Router, _deps: HttpDeps): () => void {
  return () => undefined;
}

export function renderErrorPage(ctx: RequestContext, status: number, message: string, headers: Record<string, string>): void {
  sendText(ctx.res, status, message, 'text/plain; charset=utf-8', headers);
}
