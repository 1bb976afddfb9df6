// The OpenAPI 3.1 document served at /api/v1/openapi.json. Request body schemas come from
// the same zod schemas that validate the requests (z.toJSONSchema), so they cannot drift.
import { z } from 'zod';
import * as S from './schemas.js';

type Op = Record<string, unknown>;

const schema = (s: z.ZodType): Record<string, unknown> => {
  const { $schema: _drop, ...rest } = z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
};
const jsonBody = (s: z.ZodType) => ({ required: true, content: { 'application/json': { schema: schema(s) } } });
const ok = (description: string, ref?: string) => ({
  description,
  ...(ref ? { content: { 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } } } : {}),
});
const errors = {
  '400': { $ref: '#/components/responses/Error' },
  '401': { $ref: '#/components/responses/Error' },
  '404': { $ref: '#/components/responses/Error' },
  '409': { $ref: '#/components/responses/Error' },
  '415': { $ref: '#/components/responses/Error' },
};
const admin = (summary: string, responses: Record<string, unknown>, extra: Op = {}): Op => ({
  summary,
  security: [{ bearer: [] }, { basic: [] }],
  responses: { ...responses, ...errors },
  ...extra,
});
const pathParam = (name: string, description: string) => ({ name, in: 'path', required: true, description, schema: { type: 'string' } });
const domainQuery = { name: 'domain', in: 'query', required: false, description: 'only this domain', schema: { type: 'string' } };

let cached: Record<string, unknown> | undefined;

export function openApiDocument(): Record<string, unknown> {
  cached ??= {
    openapi: '3.1.0',
    info: {
      title: 'mailserver HTTP API',
      version: '1',
      description:
        'Admin API (domains, users, aliases), the users\' own password change, and the ingest endpoint for the Cloudflare Email Worker. Errors: `{ "error": { "code", "message", "details"? } }`.',
    },
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'http.adminTokens (admin API) or http.ingestTokens (ingest)' },
        basic: { type: 'http', scheme: 'basic', description: 'an admin user (http.admins) and their mailbox password' },
      },
      responses: {
        Error: {
          description: 'The request was refused; nothing changed.',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
        },
      },
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message'],
              properties: {
                code: {
                  type: 'string',
                  enum: ['bad-request', 'malformed-json', 'invalid', 'unsupported-media-type', 'too-large', 'unauthorized', 'forbidden', 'not-found', 'method-not-allowed', 'exists', 'in-use', 'conflict', 'csrf', 'throttled', 'unavailable', 'internal'],
                },
                message: { type: 'string' },
                details: {},
              },
            },
          },
        },
        Domain: { type: 'object', properties: { name: { type: 'string' }, active: { type: 'boolean' }, createdAt: { type: 'string', format: 'date-time' } } },
        User: {
          type: 'object',
          properties: {
            address: { type: 'string' },
            domain: { type: 'string' },
            localPart: { type: 'string' },
            quotaMb: { type: 'integer' },
            active: { type: 'boolean' },
            createdAt: { type: 'string', format: 'date-time' },
            usage: { type: 'object', properties: { bytes: { type: 'integer' }, messages: { type: 'integer' } } },
          },
        },
        Alias: { type: 'object', properties: { source: { type: 'string' }, destinations: { type: 'array', items: { type: 'string' } } } },
        IngestResult: {
          type: 'object',
          properties: {
            recipient: { type: 'string' },
            status: { type: 'string', enum: ['accepted', 'rejected', 'deferred'] },
            code: { type: 'integer', description: 'LMTP reply code (250, 451, 550, 552)' },
            enhanced: { type: 'string', description: 'RFC 3463 enhanced status code' },
            message: { type: 'string' },
          },
        },
      },
    },
    paths: {
      '/api/v1/domains': {
        get: admin('List domains', { '200': ok('{ domains: Domain[] }') }),
        post: admin('Add a domain', { '201': ok('The new domain', 'Domain') }, { requestBody: jsonBody(S.createDomain) }),
      },
      '/api/v1/domains/{name}': {
        parameters: [pathParam('name', 'domain name')],
        get: admin('Show a domain', { '200': ok('The domain', 'Domain') }),
        patch: admin('Enable or disable a domain', { '200': ok('The domain', 'Domain') }, { requestBody: jsonBody(S.patchDomain) }),
        delete: admin('Remove a domain without users or aliases', { '204': ok('Removed') }),
      },
      '/api/v1/domains/{name}/dns': {
        parameters: [pathParam('name', 'domain name')],
        get: admin('DNS records to publish (MX, SPF, DKIM, DMARC)', { '200': ok('{ records: [{ type, name, value, note, zone }] }') }),
      },
      '/api/v1/domains/{name}/dkim': {
        parameters: [pathParam('name', 'domain name')],
        get: admin('DKIM keys of the domain (selector, type, signing or not, TXT value)', { '200': ok('{ keys: [{ selector, type, active, txt }] }') }),
        post: admin('Generate a DKIM key (refuses an existing selector)', { '201': ok('{ selector, type, txt, name }') }, { requestBody: jsonBody(S.generateDkim) }),
      },
      '/api/v1/queue': { get: admin('Messages in the outbound queue with each recipient\'s state', { '200': ok('{ messages: QueueMessage[] }') }) },
      '/api/v1/queue/retry': { post: admin('Retry every deferred recipient at the next scan', { '200': ok('{ retried: n }') }) },
      '/api/v1/queue/{id}': {
        parameters: [pathParam('id', 'queue id')],
        get: admin('One queued message', { '200': ok('QueueMessage') }),
        delete: admin('Remove a message without delivery or bounce', { '204': ok('Removed') }),
      },
      '/api/v1/queue/{id}/retry': {
        parameters: [pathParam('id', 'queue id')],
        post: admin('Retry this message at the next scan', { '200': ok('{ retried: 1 }') }),
      },
      '/api/v1/users': {
        get: admin('List users', { '200': ok('{ users: User[] }') }, { parameters: [domainQuery] }),
        post: admin('Add a user (and its Maildir)', { '201': ok('The new user', 'User') }, { requestBody: jsonBody(S.createUser) }),
      },
      '/api/v1/users/{address}': {
        parameters: [pathParam('address', 'local@domain')],
        get: admin('Show a user with quota use', { '200': ok('The user', 'User') }),
        patch: admin('Change password, quota or enabled state', { '200': ok('The user', 'User') }, { requestBody: jsonBody(S.patchUser) }),
        delete: admin('Remove a user (the Maildir stays on disk)', { '204': ok('Removed') }),
      },
      '/api/v1/aliases': {
        get: admin('List aliases', { '200': ok('{ aliases: Alias[] }') }, { parameters: [domainQuery] }),
        post: admin('Add an alias or destinations to it', { '201': ok('The alias', 'Alias') }, { requestBody: jsonBody(S.createAlias) }),
      },
      '/api/v1/aliases/{source}': {
        parameters: [pathParam('source', 'local@domain or @domain')],
        delete: admin('Remove an alias, or one destination of it', { '204': ok('Removed') }, {
          parameters: [{ name: 'destination', in: 'query', required: false, schema: { type: 'string' } }],
        }),
      },
      '/api/v1/password': {
        post: {
          summary: "A user changes their own password (Roundcube's password plugin, httpapi driver)",
          requestBody: {
            required: true,
            content: {
              'application/x-www-form-urlencoded': { schema: schema(S.changeOwnPassword) },
              'multipart/form-data': { schema: schema(S.changeOwnPassword) },
              'application/json': { schema: schema(S.changeOwnPassword) },
            },
          },
          responses: {
            '200': { description: 'Changed; the body is `ok`.', content: { 'text/plain': { schema: { type: 'string', const: 'ok' } } } },
            '400': { $ref: '#/components/responses/Error' },
            '403': { $ref: '#/components/responses/Error' },
            '429': { $ref: '#/components/responses/Error' },
          },
        },
      },
      '/ingest': {
        post: {
          summary: 'Deliver one raw RFC 5322 message (the Cloudflare Email Worker)',
          security: [{ bearer: [] }],
          parameters: [
            { name: 'from', in: 'query', required: true, description: 'envelope sender; empty for the null sender', schema: { type: 'string' } },
            { name: 'to', in: 'query', required: true, description: 'envelope recipient; repeat for several', schema: { type: 'array', items: { type: 'string' } }, explode: true },
            { name: 'Idempotency-Key', in: 'header', required: false, description: 'a retried POST with the same key delivers once (kept a day)', schema: { type: 'string' } },
          ],
          requestBody: { required: true, content: { 'message/rfc822': { schema: { type: 'string', format: 'binary' } } } },
          responses: Object.fromEntries(
            [
              ['200', 'accepted (for every recipient, or some accepted and the rest refused for good)'],
              ['413', 'too large: reject the message'],
              ['422', 'every recipient refused for good: reject the message'],
              ['503', 'a temporary failure: retry later'],
            ].map(([code, description]) => [
              code,
              {
                description,
                content: {
                  'application/json': {
                    schema: {
                      type: 'object',
                      properties: { id: { type: 'string' }, results: { type: 'array', items: { $ref: '#/components/schemas/IngestResult' } } },
                    },
                  },
                },
              },
            ]),
          ),
        },
      },
      '/healthz': { get: { summary: 'The process answers', responses: { '200': { description: 'alive' } } } },
      '/readyz': { get: { summary: 'Listeners, store, directory and scanners are usable', responses: { '200': { description: 'ready' }, '503': { description: 'unready, with the failing checks' } } } },
      '/metrics': { get: { summary: 'Prometheus metrics (text format 0.0.4)', responses: { '200': { description: 'metrics' } } } },
    },
  };
  return cached;
}
