import { z } from 'zod';
import { pathString } from '../fields.js';

export const dkimSection = z
  .strictObject({
    enabled: z.boolean().default(true).describe('Sign submitted mail for every domain that has a key.'),
    keyDir: pathString().optional().describe('Keys as `<keyDir>/<domain>/<selector>.<rsa|ed25519>.key`. Default: `<dataDir>/dkim`.'),
    selectors: z
      .record(z.string(), z.string().regex(/^[a-z0-9][a-z0-9._-]*$/i))
      .default({})
      .describe('Selector to sign with, per domain. Default: the newest key of each type.'),
  })
  .prefault({})
  .describe('DKIM signing (RFC 6376, RFC 8463) of submitted mail.');
