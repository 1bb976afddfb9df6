// The contract between the delivery pipeline and the scanners (issue 7). ClamAV and Rspamd
// each implement MessageScanner; src/scan/index.ts runs them in order (ClamAV first: a
// virus needs no spam score) and folds their answers into one ScanOutcome per message.
import type { Logger } from 'pino';
import type { DeliveryReply, InboundEnvelope } from '../delivery/types.js';
import type { SpooledMessage } from '../delivery/spool.js';

/** Header changes applied to every delivered copy (Rspamd's milter block, X-Spam-*, subject rewrite). */
export interface HeaderEdits {
  /** Added at the top of the header, in order. Values are already encoded (RFC 2047 where needed). */
  add: Array<[name: string, value: string]>;
  /** Header names (case-insensitive) whose every occurrence is removed. */
  remove: string[];
  /** Replaces the Subject: field's value (raw, already encoded). */
  subject?: string;
}

export interface SpamVerdict {
  score: number;
  required: number;
  /** Rspamd's action: 'no action' | 'add header' | 'rewrite subject' | 'greylist' | 'soft reject' | 'reject'. */
  action: string;
}

/**
 * One scanner's answer for one message. `refuse` answers every recipient (virus: 554 5.7.1,
 * spam reject: 550 5.7.1, greylist: 451 4.7.1, scanner down with tempfail: 451 4.7.0).
 */
export interface ScanOutcome {
  refuse?: DeliveryReply;
  edits: HeaderEdits;
  spam?: SpamVerdict;
  /** Set when the message went through unscanned because the scanner failed (onFailure: accept). */
  skipped?: string;
}

export interface ScanRequest {
  env: InboundEnvelope;
  message: SpooledMessage;
  log: Logger;
  /** Authenticated submitter (submission only), passed to Rspamd as `User`. */
  user?: string;
}

export interface MessageScanner {
  readonly name: 'clamav' | 'rspamd';
  scan(req: ScanRequest): Promise<ScanOutcome>;
  /** Reachability for /readyz and /healthz; never throws. */
  ping(): Promise<boolean>;
}

export const noEdits = (): HeaderEdits => ({ add: [], remove: [] });
