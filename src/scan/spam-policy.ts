// Which folder a recipient's copy goes to, from Rspamd's verdict and the user's settings
// (issue 7, part 2). Pure: the pipeline asks once per recipient.
import type { ResolvedConfig } from '../config/schema.js';
import type { ScanOutcome } from './types.js';

export type SpamSettings = ResolvedConfig['scan']['rspamd'];

// A `reject` that reaches delivery was configured to go to Junk (rejectAction: junk);
// `discard` and `quarantine` are Rspamd actions an MTA without those facilities files as spam.
const JUNK_ACTIONS = new Set(['add header', 'rewrite subject', 'reject', 'discard', 'quarantine']);

export function folderFor(userAddress: string, outcome: ScanOutcome, cfg: SpamSettings): 'INBOX' | 'Junk' {
  const spam = outcome.spam;
  if (!spam) return 'INBOX';
  const own = settingsOf(userAddress, cfg);
  if (!(own.junk ?? cfg.junk)) return 'INBOX';
  // A user's own threshold decides both ways: stricter or more lenient than Rspamd's actions.
  if (own.threshold !== undefined) return spam.score >= own.threshold ? 'Junk' : 'INBOX';
  return JUNK_ACTIONS.has(spam.action) ? 'Junk' : 'INBOX';
}

/** Addresses compare case-insensitively (RFC 5321 2.4 allows case-sensitive local parts; the directory does not). */
function settingsOf(address: string, cfg: SpamSettings): SpamSettings['users'][string] {
  const lower = address.toLowerCase();
  return cfg.users[lower] ?? Object.entries(cfg.users).find(([k]) => k.toLowerCase() === lower)?.[1] ?? {};
}
