import { z } from 'zod';
import { listener } from '../fields.js';

const idle = 'A client silent this long is disconnected (RFC 1939 3: at least 10 minutes).';

export const pop3Section = z
  .strictObject({
    starttls: listener(110, [], 'POP3 with STLS (before TLS: no USER/PASS/AUTH unless `auth.loopbackIsSecure` and loopback).', 600, idle),
    tls: listener(995, [], 'POP3 over implicit TLS.', 600, idle),
  })
  .prefault({})
  .describe('POP3 access (RFC 1939) to the INBOX.');
