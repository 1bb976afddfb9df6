// Request bodies of the admin API, as zod schemas: validation and the OpenAPI document's
// request schemas (z.toJSONSchema) come from the same objects. Strict objects: an unknown
// field is a 400, not silently ignored (a typo like `quota` for `quotaMb` must not "work").
import { z } from 'zod';

const address = z.string().min(3).max(320).describe('local@domain');
// The directory's own rules (checkPassword in directory/sqlite.ts), checked up front so a
// PATCH with a bad password changes nothing else either.
export const password = z
  .string()
  .min(1)
  .max(1024)
  .refine((p) => !/[\0\r\n]/.test(p), { message: 'password contains NUL or a line break' });
const quotaMb = z.number().int().min(0).max(1024 * 1024 * 1024).describe('MB, 0 = unlimited');

export const createDomain = z.strictObject({ name: z.string().min(1).max(253) });
export const patchDomain = z.strictObject({ active: z.boolean() });
export const createUser = z.strictObject({ address, password, quotaMb: quotaMb.optional() });
export const patchUser = z
  .strictObject({ password: password.optional(), quotaMb: quotaMb.optional(), active: z.boolean().optional() })
  .refine((v) => v.password !== undefined || v.quotaMb !== undefined || v.active !== undefined, { message: 'nothing to change' });
export const createAlias = z.strictObject({
  source: z.string().min(2).max(320).describe('local@domain, or @domain for a catch-all'),
  destinations: z.array(address).min(1).max(100),
});
export const changeOwnPassword = z.strictObject({ user: address, curpass: password, newpass: password });
export const generateDkim = z.strictObject({
  type: z.enum(['rsa', 'ed25519']).optional().describe('rsa (2048 bit, default) or ed25519'),
  selector: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/i).optional().describe('default: rsaYYYYMM or edYYYYMM'),
});
