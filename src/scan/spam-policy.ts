// Which folder a recipient's copy goes to, from Rspamd's verdict and the user's settings
// (issue 7, part 2). Pure: the pipeline asks once per recipient.
import type { ResolvedConfig } from '../config/schema.js';
import type { ScanOutcome } from './types.js';

export type SpamSettings = ResolvedConfig['scan']['rspamd'];

const JUNK_ACTIONS = new Set(['add header', 'rewrite subject']);

export function folderFor(userAddress: string, outcome: ScanOutcome, cfg: SpamSettings): 'INBOX' | 'Junk' {
  const spam = outcome.spam;
  if (!spam) return 'INBOX';
  const own = cfg.users[userAddress.toLowerCase()] ?? {};
  if (!(own.junk ?? cfg.junk)) return 'INBOX';
  if (own.threshold !== undefined && spam.score >= own.threshold) return 'Junk';
  // A `reject` that reaches delivery was configured to go to Junk (rejectAction: junk).
  return JUNK_ACTIONS.has(spam.action) || spam.action === 'reject' ? 'Junk' : 'INBOX';
}
