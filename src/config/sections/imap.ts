import { z } from 'zod';
import { listener } from '../fields.js';

const idle = 'A client silent this long is logged out (RFC 3501 5.4: at least 30 minutes).';

export const imapSection = z
  .strictObject({
    starttls: listener(143, [], 'IMAP with STARTTLS (before TLS: LOGINDISABLED unless `auth.loopbackIsSecure` and loopback).', 1800, idle),
    tls: listener(993, [], 'IMAP over implicit TLS.', 1800, idle),
  })
  .prefault({})
  .describe('IMAP access (RFC 3501/9051).');
