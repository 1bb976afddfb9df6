// The admin web UI under /admin: sign-in, domains, users, aliases, DNS records, queue.
// Security: a session cookie (HttpOnly, SameSite=Strict, Secure unless turned off, __Host-
// prefix when Secure) holding a random id; a per-session CSRF token in every form, checked
// on every POST (and the Origin header, when sent, must be this host); sessions expire
// after http.sessionMinutes idle; sign-in goes through the shared login throttle; the
// session id is replaced at sign-in (no fixation).
import type { ServerResponse } from 'node:http';
import type { UserRecord } from '../../directory/types.js';
import { DirectoryError } from '../../directory/types.js';
import { readForm, sendText } from '../body.js';
import { checkPassword, createAdminAuth } from '../auth.js';
import type { HttpDeps } from '../deps.js';
import { dnsRecords } from '../dns-records.js';
import { HttpError } from '../errors.js';
import type { RequestContext, Router } from '../router.js';
import { canToggleDomains } from '../api/routes.js';
import type { Outbound } from '../outbound.js';
import { APP_CSS, APP_JS, BAR_CSS, CSP } from './assets.js';
import { html, page, type PageOptions, type Raw } from './html.js';
import { domainPage, domainsPage, loginPage, queuePage, userPage } from './pages.js';
import { csrfMatches, parseCookies, SessionStore, type Session } from './sessions.js';

export function registerUiRoutes(router: Router, deps: HttpDeps, outbound: Outbound): () => void {
  const cfg = deps.config.http;
  const sessions = new SessionStore(cfg.sessionMinutes * 60_000);
  const auth = createAdminAuth(deps);
  const cookieName = cfg.secureCookies ? '__Host-mailadmin' : 'mailadmin';
  const { directory, store } = deps;

  const setCookie = (res: ServerResponse, s: Session | null): void => {
    const attrs = ['Path=/', 'HttpOnly', 'SameSite=Strict', ...(cfg.secureCookies ? ['Secure'] : [])];
    res.setHeader('Set-Cookie', s ? `${cookieName}=${s.id}; ${attrs.join('; ')}` : `${cookieName}=; Max-Age=0; ${attrs.join('; ')}`);
  };
  const sessionOf = (ctx: RequestContext): Session | null => sessions.get(parseCookies(ctx.req.headers.cookie)[cookieName]);

  const send = (ctx: RequestContext, status: number, opts: PageOptions, body: Raw, headers: Record<string, string> = {}): void => {
    sendText(ctx.res, status, page(opts, body), 'text/html; charset=utf-8', { 'Content-Security-Policy': CSP, ...headers });
  };
  const redirect = (ctx: RequestContext, to: string): void => {
    ctx.res.writeHead(303, { Location: to, 'Cache-Control': 'no-store' }).end();
  };
  const takeFlash = (s: Session): Session['flash'] => {
    const f = s.flash;
    delete s.flash;
    return f;
  };

  /** GET pages: a signed-in session, or off to the sign-in page. */
  const view = (render: (ctx: RequestContext, s: Session & { user: string }) => Promise<[string, Raw]>) => async (ctx: RequestContext) => {
    const s = sessionOf(ctx);
    if (!s?.user) return redirect(ctx, '/admin/login');
    const [title, body] = await render(ctx, s as Session & { user: string });
    send(ctx, 200, { title, user: s.user, csrf: s.csrf, flash: takeFlash(s) }, body);
  };

  /** Refuses a POST without this session's CSRF token, or from another origin. */
  const checkCsrf = (ctx: RequestContext, s: Session | null, form: Record<string, string>): Session => {
    const origin = ctx.req.headers.origin;
    const host = ctx.req.headers.host;
    if (origin !== undefined && origin !== 'null' && host !== undefined && new URL(origin).host !== host) {
      ctx.log.warn({ origin }, 'cross-origin form post refused');
      throw new HttpError(403, 'csrf', 'This form was sent from another site.');
    }
    if (!s || !csrfMatches(s, form._csrf)) {
      ctx.log.warn({ session: !!s }, 'form without a valid CSRF token refused');
      throw new HttpError(403, 'csrf', 'This form has expired or did not come from this site. Go back, reload the page and try again.');
    }
    return s;
  };

  /**
   * POST actions: CSRF-checked, signed in; the directory's refusals (bad name, duplicate,
   * in use) come back to the page as a message instead of an error page.
   */
  const action = (run: (ctx: RequestContext, form: Record<string, string>, s: Session & { user: string }) => Promise<{ to: string; ok: string }>, back: (ctx: RequestContext, form: Record<string, string>) => string) =>
    async (ctx: RequestContext) => {
      const form = await readForm(ctx.req, cfg.maxJsonBytes);
      const s = checkCsrf(ctx, sessionOf(ctx), form);
      if (!s.user) return redirect(ctx, '/admin/login');
      try {
        const { to, ok } = await run(ctx, form, s as Session & { user: string });
        ctx.log.info({ user: s.user, action: ctx.url.pathname }, 'admin action');
        s.flash = { kind: 'ok', text: ok };
        redirect(ctx, to);
      } catch (err) {
        if (!(err instanceof DirectoryError) && !(err instanceof HttpError && err.status < 500)) throw err;
        s.flash = { kind: 'error', text: err.message };
        redirect(ctx, back(ctx, form));
      }
    };

  const domainUrl = (name: string): string => `/admin/domains/${encodeURIComponent(name)}`;
  const userUrl = (address: string): string => `/admin/users/${encodeURIComponent(address)}`;
  const usage = (u: UserRecord) => store.quotaUsage({ domain: u.domain, localPart: u.localPart }).catch(() => null);
  const requireUser = async (address: string): Promise<UserRecord> => {
    const u = await directory.getUser(address);
    if (!u) throw new HttpError(404, 'not-found', 'No such user.');
    return u;
  };
  const quotaField = (v: string | undefined): number | undefined => {
    if (v === undefined || v.trim() === '') return undefined;
    if (!/^\d{1,10}$/.test(v.trim())) throw new HttpError(400, 'invalid', 'The quota must be a whole number of MB.');
    return Number(v.trim());
  };

  router.get('/admin/assets/app.css', ({ res }) => sendText(res, 200, APP_CSS + BAR_CSS, 'text/css; charset=utf-8', { 'Cache-Control': 'max-age=3600' }));
  router.get('/admin/assets/app.js', ({ res }) => sendText(res, 200, APP_JS, 'text/javascript; charset=utf-8', { 'Cache-Control': 'max-age=3600' }));
  router.get('/admin', (ctx) => redirect(ctx, '/admin/domains'));

  router.get('/admin/login', (ctx) => {
    let s = sessionOf(ctx);
    if (s?.user) return redirect(ctx, '/admin/domains');
    if (!s) {
      s = sessions.create();
      setCookie(ctx.res, s);
    }
    send(ctx, 200, { title: 'Mail administration', flash: takeFlash(s) }, loginPage(s.csrf));
  });

  router.post('/admin/login', async (ctx) => {
    const form = await readForm(ctx.req, cfg.maxJsonBytes);
    const pre = checkCsrf(ctx, sessionOf(ctx), form);
    const user = (form.user ?? '').trim();
    const password = form.password ?? '';
    let who: string | null = null;
    if (user === '') {
      // Token sign-in: throttled per address like a password.
      const verdict = deps.authThrottle.check(ctx.remote, '');
      if (!verdict.allowed) throw new HttpError(429, 'throttled', 'Too many failed sign-ins. Wait a while and try again.');
      if (auth.tokens.size > 0 && auth.tokens.matches(password)) who = 'admin token';
      else await new Promise((r) => setTimeout(r, deps.authThrottle.fail(ctx.remote, '')));
    } else {
      const found = await checkPassword(deps, ctx, user, password);
      if (found && auth.isAdmin(found.address)) who = found.address;
    }
    if (!who) {
      ctx.log.info({ user }, 'admin sign-in refused');
      pre.flash = { kind: 'error', text: 'Wrong address or password, or not an administrator.' };
      return redirect(ctx, '/admin/login');
    }
    // A fresh session id and CSRF token at sign-in: a planted pre-login cookie is useless.
    sessions.destroy(pre.id);
    const s = sessions.create(who);
    setCookie(ctx.res, s);
    ctx.log.info({ user: who }, 'admin signed in');
    redirect(ctx, '/admin/domains');
  });

  router.post('/admin/logout', async (ctx) => {
    const form = await readForm(ctx.req, cfg.maxJsonBytes);
    const s = checkCsrf(ctx, sessionOf(ctx), form);
    sessions.destroy(s.id);
    setCookie(ctx.res, null);
    ctx.log.info({ user: s.user }, 'admin signed out');
    redirect(ctx, '/admin/login');
  });

  router.get('/admin/domains', view(async (_ctx, s) => {
    const [domains, users, aliases] = await Promise.all([directory.listDomains(), directory.listUsers(), directory.listAliases()]);
    const rows = domains.map((d) => ({
      ...d,
      users: users.filter((u) => u.domain === d.name).length,
      aliases: aliases.filter((a) => a.source.endsWith(`@${d.name}`)).length,
    }));
    return ['Domains', domainsPage(s.csrf, rows)];
  }));

  router.get('/admin/domains/:name', view(async (ctx, s) => {
    const domain = await directory.getDomain(ctx.params.name!);
    if (!domain) throw new HttpError(404, 'not-found', 'No such domain.');
    const users = await directory.listUsers(domain.name);
    const dkim = await outbound.dkimKeys(domain.name);
    const view = {
      domain,
      users: await Promise.all(users.map(async (user) => ({ user, usage: await usage(user) }))),
      aliases: await directory.listAliases(domain.name),
      dns: dnsRecords(domain.name, deps.config.hostname, dkim.filter((k) => k.active)),
      dkim,
    };
    return [domain.name, domainPage(s.csrf, view)];
  }));

  router.get('/admin/users/:address', view(async (ctx, s) => {
    const u = await requireUser(ctx.params.address!);
    return [u.address, userPage(s.csrf, u, await usage(u))];
  }));

  router.get('/admin/queue', view(async (_ctx, s) => ['Outbound queue', queuePage(s.csrf, await outbound.list())]));

  router.post('/admin/queue/retry', action(async (_ctx, f) => {
    const n = await outbound.retry(f.id || undefined);
    return { to: '/admin/queue', ok: `${n} message(s) will be retried at the next queue scan.` };
  }, () => '/admin/queue'));

  router.post('/admin/queue/delete', action(async (_ctx, f) => {
    await outbound.remove(f.id ?? '');
    return { to: '/admin/queue', ok: `Deleted ${f.id} from the queue (no delivery, no bounce).` };
  }, () => '/admin/queue'));

  router.post('/admin/domains/:name/dkim', action(async (ctx, f) => {
    const domain = await directory.getDomain(ctx.params.name!);
    if (!domain) throw new HttpError(404, 'not-found', 'No such domain.');
    const key = await outbound.generateDkim(domain.name, f.type === 'ed25519' ? 'ed25519' : 'rsa', f.selector?.trim() || undefined);
    return { to: domainUrl(domain.name), ok: `Generated the ${key.type} DKIM key ${key.selector}. Publish its DNS record below.` };
  }, (ctx) => domainUrl(ctx.params.name!)));

  router.post('/admin/domains', action(async (_ctx, f) => {
    const d = await directory.addDomain(f.name ?? '');
    return { to: domainUrl(d.name), ok: `Added ${d.name}.` };
  }, () => '/admin/domains'));

  router.post('/admin/domains/:name/delete', action(async (ctx) => {
    await directory.removeDomain(ctx.params.name!);
    return { to: '/admin/domains', ok: `Deleted ${ctx.params.name}.` };
  }, (ctx) => domainUrl(ctx.params.name!)));

  router.post('/admin/domains/:name/active', action(async (ctx, f) => {
    if (!canToggleDomains(directory)) throw new HttpError(400, 'invalid', 'This directory cannot enable or disable domains.');
    await directory.setDomainActive(ctx.params.name!, f.active === '1');
    return { to: domainUrl(ctx.params.name!), ok: f.active === '1' ? 'Mail enabled.' : 'Mail disabled.' };
  }, (ctx) => domainUrl(ctx.params.name!)));

  router.post('/admin/domains/:name/users', action(async (ctx, f) => {
    const quotaMb = quotaField(f.quotaMb);
    const u = await directory.addUser(`${f.localPart ?? ''}@${ctx.params.name}`, f.password ?? '', quotaMb === undefined ? {} : { quotaMb });
    try {
      await store.ensureUser({ domain: u.domain, localPart: u.localPart });
    } catch (err) {
      await directory.removeUser(u.address).catch(() => undefined);
      throw err;
    }
    return { to: domainUrl(u.domain), ok: `Added ${u.address}.` };
  }, (ctx) => domainUrl(ctx.params.name!)));

  router.post('/admin/domains/:name/aliases', action(async (ctx, f) => {
    const destinations = (f.destinations ?? '').split(/[\s,;]+/).filter(Boolean);
    const a = await directory.addAlias(`${(f.localPart ?? '').trim()}@${ctx.params.name}`, destinations);
    return { to: domainUrl(ctx.params.name!), ok: `Alias ${a.source} now delivers to ${a.destinations.join(', ')}.` };
  }, (ctx) => domainUrl(ctx.params.name!)));

  router.post('/admin/aliases/delete', action(async (_ctx, f) => {
    await directory.removeAlias(f.source ?? '', f.destination || undefined);
    return { to: domainUrl(f.back ?? ''), ok: `Removed ${f.source} → ${f.destination}.` };
  }, (_ctx, f) => domainUrl(f.back ?? '')));

  router.post('/admin/users/:address/quota', action(async (ctx, f) => {
    const u = await requireUser(ctx.params.address!);
    const quotaMb = quotaField(f.quotaMb);
    if (quotaMb === undefined) throw new HttpError(400, 'invalid', 'Enter a quota in MB (0 = unlimited).');
    await directory.setQuota(u.address, quotaMb);
    return { to: userUrl(u.address), ok: `Quota set to ${quotaMb === 0 ? 'unlimited' : `${quotaMb} MB`}.` };
  }, (ctx) => userUrl(ctx.params.address!)));

  router.post('/admin/users/:address/password', action(async (ctx, f) => {
    const u = await requireUser(ctx.params.address!);
    await directory.setPassword(u.address, f.password ?? '');
    return { to: userUrl(u.address), ok: 'Password changed.' };
  }, (ctx) => userUrl(ctx.params.address!)));

  router.post('/admin/users/:address/active', action(async (ctx, f) => {
    const u = await requireUser(ctx.params.address!);
    await directory.setActive(u.address, f.active === '1');
    return { to: userUrl(u.address), ok: f.active === '1' ? 'User enabled.' : 'User disabled.' };
  }, (ctx) => userUrl(ctx.params.address!)));

  router.post('/admin/users/:address/delete', action(async (ctx) => {
    const u = await requireUser(ctx.params.address!);
    await directory.removeUser(u.address);
    return { to: domainUrl(u.domain), ok: `Deleted ${u.address}; the mail stays on disk.` };
  }, (ctx) => userUrl(ctx.params.address!)));

  return () => sessions.close();
}

/** Error pages under /admin (the server's one error mapping calls this for HTML paths). */
export function renderErrorPage(ctx: RequestContext, status: number, message: string, headers: Record<string, string>): void {
  const body = html`<section><p class="flash error" role="alert">${message}</p><p><a href="/admin/domains">Back to the domains</a></p></section>`;
  sendText(ctx.res, status, page({ title: status === 403 ? 'Refused' : 'Something went wrong', user: undefined }, body), 'text/html; charset=utf-8', {
    'Content-Security-Policy': CSP,
    ...headers,
  });
}
