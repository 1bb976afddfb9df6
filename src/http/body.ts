// Request bodies for the admin API, the web UI and the password endpoint: small, read into
// memory up to a limit (the ingest endpoint streams instead, see ingest.ts). JSON is
// validated against a zod schema; forms may be urlencoded or multipart/form-data (PHP's
// curl, which Roundcube's httpapi password driver uses, sends an array of POST fields as
// multipart).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { HttpError } from './errors.js';

export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw new HttpError(413, 'too-large', `body larger than ${limit} bytes`, { Connection: 'close' });
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new HttpError(413, 'too-large', `body larger than ${limit} bytes`, { Connection: 'close' });
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

export function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

function issuesText(err: z.ZodError): string {
  return err.issues
    .map((i) => {
      const path = i.path.length ? i.path.join('.') : 'body';
      return `${path}: ${i.message}`;
    })
    .join('; ');
}

/** Parses a JSON body against a schema: 415 for another media type, 400 for bad JSON or fields. */
export async function readJson<T extends z.ZodType>(req: IncomingMessage, schema: T, limit: number): Promise<z.infer<T>> {
  if (mediaType(req) !== 'application/json') {
    throw new HttpError(415, 'unsupported-media-type', 'expected Content-Type: application/json');
  }
  const raw = await readBody(req, limit);
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new HttpError(400, 'malformed-json', 'the body is not valid JSON');
  }
  return validate(schema, value);
}

export function validate<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new HttpError(400, 'invalid', issuesText(parsed.error), {}, parsed.error.issues.map((i) => ({ path: i.path, message: i.message })));
  }
  return parsed.data;
}

/** Form fields from urlencoded or multipart bodies (text fields only; repeated names keep the first). */
export async function readForm(req: IncomingMessage, limit: number): Promise<Record<string, string>> {
  const type = mediaType(req);
  const raw = await readBody(req, limit);
  if (type === 'application/x-www-form-urlencoded') {
    const out: Record<string, string> = {};
    for (const [k, v] of new URLSearchParams(raw.toString('utf8'))) if (!(k in out)) out[k] = v;
    return out;
  }
  if (type === 'multipart/form-data') return parseMultipart(raw, req.headers['content-type'] ?? '');
  if (type === 'application/json') {
    let value: unknown;
    try {
      value = JSON.parse(raw.toString('utf8'));
    } catch {
      throw new HttpError(400, 'malformed-json', 'the body is not valid JSON');
    }
    return validate(z.record(z.string(), z.string()), value);
  }
  throw new HttpError(415, 'unsupported-media-type', 'expected a form (urlencoded or multipart) or JSON');
}

/** RFC 7578 multipart/form-data, text fields only. */
function parseMultipart(body: Buffer, contentType: string): Record<string, string> {
  const m = /boundary=(?:"([^"]{1,70})"|([^;\s]{1,70}))/i.exec(contentType);
  const boundary = m?.[1] ?? m?.[2];
  if (!boundary) throw new HttpError(400, 'bad-request', 'multipart body without a boundary');
  const delim = Buffer.from(`--${boundary}`);
  const out: Record<string, string> = {};
  let pos = body.indexOf(delim);
  if (pos < 0) throw new HttpError(400, 'bad-request', 'malformed multipart body');
  for (;;) {
    pos += delim.length;
    if (body.subarray(pos, pos + 2).toString() === '--') break; // closing delimiter
    const next = body.indexOf(delim, pos);
    if (next < 0) throw new HttpError(400, 'bad-request', 'malformed multipart body');
    const part = body.subarray(pos, next);
    const headerEnd = part.indexOf('\r\n\r\n');
    if (headerEnd < 0) throw new HttpError(400, 'bad-request', 'malformed multipart part');
    const headers = part.subarray(0, headerEnd).toString('utf8');
    // The part body ends with the CRLF that precedes the next delimiter.
    let value = part.subarray(headerEnd + 4);
    if (value.subarray(-2).toString() === '\r\n') value = value.subarray(0, -2);
    const name = /content-disposition:[^\r\n]*\bname="([^"]*)"/i.exec(headers)?.[1];
    if (name !== undefined && !/filename=/i.test(headers) && !(name in out)) out[name] = value.toString('utf8');
    pos = next;
  }
  return out;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
    ...headers,
  });
  res.end(text);
}

export function sendText(res: ServerResponse, status: number, text: string, type = 'text/plain; charset=utf-8', headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store', ...headers });
  res.end(text);
}
