// One error family for the HTTP side. Handlers throw HttpError for the client's mistakes;
// the server maps it (and DirectoryError, StoreError) to a status and a JSON or HTML body in
// one place (server.ts). Anything else is our failure: logged with its stack, and the client
// sees a generic 500 with the request id.
import { DirectoryError } from '../directory/types.js';

/** Stable machine-readable codes; the OpenAPI document lists them. */
export type ErrorCode =
  | 'bad-request'
  | 'malformed-json'
  | 'invalid'
  | 'unsupported-media-type'
  | 'too-large'
  | 'unauthorized'
  | 'forbidden'
  | 'not-found'
  | 'method-not-allowed'
  | 'exists'
  | 'in-use'
  | 'conflict'
  | 'csrf'
  | 'throttled'
  | 'unavailable'
  | 'internal';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
    /** Extra JSON fields (e.g. zod issues). */
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

const DIRECTORY_STATUS: Record<DirectoryError['code'], [number, ErrorCode]> = {
  invalid: [400, 'invalid'],
  exists: [409, 'exists'],
  'not-found': [404, 'not-found'],
  'in-use': [409, 'in-use'],
};

/** The client's mistakes as HttpError; null for our own failures. */
export function toHttpError(err: unknown): HttpError | null {
  if (err instanceof HttpError) return err;
  if (err instanceof DirectoryError) {
    const [status, code] = DIRECTORY_STATUS[err.code];
    return new HttpError(status, code, err.message);
  }
  return null;
}
