import { z } from 'zod';
import { listener } from '../fields.js';

export const submissionSection = z
  .strictObject({
    starttls: listener(587, [], 'Submission with STARTTLS required before AUTH and MAIL (RFC 6409).'),
    tls: listener(465, [], 'Submission over implicit TLS (RFC 8314).'),
  })
  .prefault({})
  .describe('Mail submission by authenticated users.');
