// The admin REST API under /api/v1: domains, users, aliases (DKIM keys and the outbound
// queue join when src/relay exposes them). JSON in and out; bodies validated by the zod
// schemas in schemas.ts; every refusal is a 4xx with `{ error: { code, message } }` and
// changes nothing. The Directory does the work, as the CLI's commands do.
import type { DomainRecord, UserRecord, AliasRecord, Directory } from '../../directory/types.js';
import type { MailStore } from '../../maildir/types.js';
import { readJson, sendJson } from '../body.js';
import type { HttpDeps } from '../deps.js';
import { dnsRecords, zoneLine } from '../dns-records.js';
import { HttpError } from '../errors.js';
import type { RequestContext, Router } from '../router.js';
import { createAdminAuth } from '../auth.js';
import { openApiDocument } from './openapi.js';
import { registerPasswordRoute } from './password.js';
import * as S from './schemas.js';
import type { Outbound } from '../outbound.js';

export const domainJson = (d: DomainRecord) => ({ name: d.name, active: d.active, createdAt: d.createdAt.toISOString() });
export const aliasJson = (a: AliasRecord) => ({ source: a.source, destinations: a.destinations });
export const userJson = (u: UserRecord) => ({
  address: u.address,
  domain: u.domain,
  localPart: u.localPart,
  quotaMb: u.quotaMb,
  active: u.active,
  createdAt: u.createdAt.toISOString(),
});

/** Bytes and messages in the user's Maildir (the Maildir++ quota's count). */
export async function usageOf(store: MailStore, u: UserRecord) {
  return store.quotaUsage({ domain: u.domain, localPart: u.localPart });
}

/** setDomainActive is not part of the Directory interface yet (the SQLite backend has it). */
export function canToggleDomains(d: Directory): d is Directory & { setDomainActive(n: string, a: boolean): Promise<void> } {
  return typeof (d as { setDomainActive?: unknown }).setDomainActive === 'function';
}

export function registerApiRoutes(router: Router, deps: HttpDeps, outbound: Outbound): void {
  const { directory, store } = deps;
  const auth = createAdminAuth(deps);
  const limit = deps.config.http.maxJsonBytes;
  const admin = (h: (ctx: RequestContext) => Promise<void>) => async (ctx: RequestContext) => {
    const who = await auth.requireAdmin(ctx);
    ctx.log = ctx.log.child({ user: who.kind === 'user' ? who.address : 'token' });
    await h(ctx);
  };
  const domainParam = async (ctx: RequestContext): Promise<DomainRecord> => {
    const d = await directory.getDomain(ctx.params.name!);
    if (!d) throw new HttpError(404, 'not-found', 'no such domain');
    return d;
  };
  const userParam = async (ctx: RequestContext): Promise<UserRecord> => {
    const u = await directory.getUser(ctx.params.address!);
    if (!u) throw new HttpError(404, 'not-found', 'no such user');
    return u;
  };
  const domainFilter = (ctx: RequestContext): string | undefined => ctx.url.searchParams.get('domain') ?? undefined;

  router.get('/api/v1/openapi.json', ({ res }) => sendJson(res, 200, openApiDocument()));

  // Domains
  router.get('/api/v1/domains', admin(async ({ res }) => sendJson(res, 200, { domains: (await directory.listDomains()).map(domainJson) })));
  router.post(
    '/api/v1/domains',
    admin(async ({ req, res, log }) => {
      const body = await readJson(req, S.createDomain, limit);
      const d = await directory.addDomain(body.name);
      log.info({ domain: d.name }, 'domain added');
      sendJson(res, 201, domainJson(d), { Location: `/api/v1/domains/${encodeURIComponent(d.name)}` });
    }),
  );
  router.get('/api/v1/domains/:name', admin(async (ctx) => sendJson(ctx.res, 200, domainJson(await domainParam(ctx)))));
  router.patch(
    '/api/v1/domains/:name',
    admin(async (ctx) => {
      const d = await domainParam(ctx);
      const body = await readJson(ctx.req, S.patchDomain, limit);
      if (!canToggleDomains(directory)) throw new HttpError(501, 'unavailable', 'this directory cannot enable or disable domains');
      await directory.setDomainActive(d.name, body.active);
      ctx.log.info({ domain: d.name, active: body.active }, 'domain changed');
      sendJson(ctx.res, 200, domainJson((await directory.getDomain(d.name))!));
    }),
  );
  router.delete(
    '/api/v1/domains/:name',
    admin(async (ctx) => {
      const d = await domainParam(ctx);
      await directory.removeDomain(d.name);
      ctx.log.info({ domain: d.name }, 'domain removed');
      ctx.res.writeHead(204).end();
    }),
  );
  router.get(
    '/api/v1/domains/:name/dns',
    admin(async (ctx) => {
      const d = await domainParam(ctx);
      const records = dnsRecords(d.name, deps.config.hostname, (await outbound.dkimKeys(d.name)).filter((k) => k.active));
      sendJson(ctx.res, 200, { records: records.map((r) => ({ ...r, zone: zoneLine(r) })) });
    }),
  );

  // Users
  router.get(
    '/api/v1/users',
    admin(async (ctx) => sendJson(ctx.res, 200, { users: (await directory.listUsers(domainFilter(ctx))).map(userJson) })),
  );
  router.post(
    '/api/v1/users',
    admin(async ({ req, res, log }) => {
      const body = await readJson(req, S.createUser, limit);
      const u = await directory.addUser(body.address, body.password, body.quotaMb === undefined ? {} : { quotaMb: body.quotaMb });
      try {
        await store.ensureUser({ domain: u.domain, localPart: u.localPart });
      } catch (err) {
        // No half-made user: without its Maildir the entry goes again (as the CLI does).
        await directory.removeUser(u.address).catch(() => undefined);
        throw err;
      }
      log.info({ address: u.address }, 'user added');
      sendJson(res, 201, userJson(u), { Location: `/api/v1/users/${encodeURIComponent(u.address)}` });
    }),
  );
  router.get(
    '/api/v1/users/:address',
    admin(async (ctx) => {
      const u = await userParam(ctx);
      sendJson(ctx.res, 200, { ...userJson(u), usage: await usageOf(store, u) });
    }),
  );
  router.patch(
    '/api/v1/users/:address',
    admin(async (ctx) => {
      const u = await userParam(ctx);
      const body = await readJson(ctx.req, S.patchUser, limit);
      // The body is fully validated above, so these cannot fail halfway on bad input.
      if (body.password !== undefined) await directory.setPassword(u.address, body.password);
      if (body.quotaMb !== undefined) await directory.setQuota(u.address, body.quotaMb);
      if (body.active !== undefined) await directory.setActive(u.address, body.active);
      ctx.log.info({ address: u.address, fields: Object.keys(body) }, 'user changed');
      const now = (await directory.getUser(u.address))!;
      sendJson(ctx.res, 200, { ...userJson(now), usage: await usageOf(store, now) });
    }),
  );
  router.delete(
    '/api/v1/users/:address',
    admin(async (ctx) => {
      const u = await userParam(ctx);
      await directory.removeUser(u.address);
      // As `mailserver user remove`: the Maildir stays on disk for the administrator.
      ctx.log.info({ address: u.address }, 'user removed; Maildir kept');
      ctx.res.writeHead(204).end();
    }),
  );

  // Aliases
  router.get(
    '/api/v1/aliases',
    admin(async (ctx) => sendJson(ctx.res, 200, { aliases: (await directory.listAliases(domainFilter(ctx))).map(aliasJson) })),
  );
  router.post(
    '/api/v1/aliases',
    admin(async ({ req, res, log }) => {
      const body = await readJson(req, S.createAlias, limit);
      const a = await directory.addAlias(body.source, body.destinations);
      log.info({ source: a.source }, 'alias added');
      sendJson(res, 201, aliasJson(a));
    }),
  );
  router.delete(
    '/api/v1/aliases/:source',
    admin(async (ctx) => {
      const destination = ctx.url.searchParams.get('destination') ?? undefined;
      await directory.removeAlias(ctx.params.source!, destination);
      ctx.log.info({ source: ctx.params.source, destination }, 'alias removed');
      ctx.res.writeHead(204).end();
    }),
  );

  // DKIM keys (src/relay/dkim-keys.ts): files under dkim.keyDir, signing picks them up.
  router.get(
    '/api/v1/domains/:name/dkim',
    admin(async (ctx) => {
      const d = await domainParam(ctx);
      sendJson(ctx.res, 200, { keys: await outbound.dkimKeys(d.name) });
    }),
  );
  router.post(
    '/api/v1/domains/:name/dkim',
    admin(async (ctx) => {
      const d = await domainParam(ctx);
      const body = await readJson(ctx.req, S.generateDkim, limit);
      const key = await outbound.generateDkim(d.name, body.type ?? 'rsa', body.selector);
      ctx.log.info({ domain: d.name, selector: key.selector, type: key.type }, 'dkim key generated');
      sendJson(ctx.res, 201, { ...key, name: `${key.selector}._domainkey.${d.name}.` });
    }),
  );

  // The outbound queue (src/relay/queue-store.ts).
  router.get('/api/v1/queue', admin(async ({ res }) => sendJson(res, 200, { messages: await outbound.list() })));
  router.post('/api/v1/queue/retry', admin(async ({ res, log }) => {
    const n = await outbound.retry();
    log.info({ messages: n }, 'queue retry (all)');
    sendJson(res, 200, { retried: n });
  }));
  router.get('/api/v1/queue/:id', admin(async (ctx) => sendJson(ctx.res, 200, await outbound.show(ctx.params.id!))));
  router.post('/api/v1/queue/:id/retry', admin(async (ctx) => {
    const n = await outbound.retry(ctx.params.id!);
    ctx.log.info({ id: ctx.params.id }, 'queue retry');
    sendJson(ctx.res, 200, { retried: n });
  }));
  router.delete('/api/v1/queue/:id', admin(async (ctx) => {
    await outbound.remove(ctx.params.id!);
    ctx.log.info({ id: ctx.params.id }, 'queue message deleted');
    ctx.res.writeHead(204).end();
  }));

  registerPasswordRoute(router, deps);
}
