// The scan stage: builds the configured scanners (ClamAV first - a virus needs no spam
// score - then Rspamd) and folds their answers into one ScanOutcome per message.
//
//   - the first refusal wins and ends the stage (554 5.7.1 virus, 550 5.7.1 spam reject,
//     451 4.7.1 greylist, 451 4.7.0 scanner failure with onFailure: tempfail);
//   - header edits accumulate in scanner order (a later subject rewrite wins);
//   - a scanner that was skipped (onFailure: accept) is noted as `X-Scan-Skipped: <name> (<reason>)`;
//   - every call is timed and counted here, in one place (metrics.scanSeconds/scanResults).
import type { Logger } from 'pino';
import type { ResolvedConfig } from '../config/schema.js';
import { reply } from '../delivery/types.js';
import type { ReadinessCheck } from '../http/health.js';
import { metrics } from '../metrics/index.js';
import type { ArchiveScanner } from '../backup/scanner.js';
import { createClamavScanner, type ClamavScanner } from './clamd.js';
import { createRspamdScanner } from './rspamd.js';
import { noEdits, type MessageScanner, type ScanOutcome, type ScanRequest } from './types.js';
import type { SpamSettings } from './spam-policy.js';

export interface ScanStage {
  /** Configured scanners in the order they run; empty when scanning is off. */
  readonly scanners: readonly MessageScanner[];
  /** Rspamd's per-user settings, for folderFor(). */
  readonly spam: SpamSettings;
  /** Inbound mail: every scanner, folded. */
  inbound(req: ScanRequest): Promise<ScanOutcome>;
  /** Submitted mail: ClamAV only, when scan.clamav.scanSubmission is on. */
  submission(req: ScanRequest): Promise<ScanOutcome>;
  readonly submissionScanned: boolean;
  /** One readiness check per scanner (its cached PING). */
  readinessChecks(): ReadinessCheck[];
  /** The ClamAV client as restore's ArchiveScanner, or null when ClamAV is not configured. */
  readonly archiveScanner: ArchiveScanner | null;
}

type ScanConfig = ResolvedConfig['scan'];

export function createScanStage(cfg: ScanConfig, logger: Logger): ScanStage {
  const clamav: ClamavScanner | null = cfg.clamav.host ? createClamavScanner(cfg.clamav, logger) : null;
  const scanners: MessageScanner[] = [];
  if (clamav) scanners.push(clamav);
  if (cfg.rspamd.url) scanners.push(createRspamdScanner(cfg.rspamd, logger));
  return scanStageOf(scanners, cfg, clamav?.archive ?? null);
}

/** The folding on its own, for any list of scanners (tests pass fakes). */
export function scanStageOf(scanners: MessageScanner[], cfg: ScanConfig, archiveScanner: ArchiveScanner | null = null): ScanStage {
  const onFailure = (name: MessageScanner['name']): 'tempfail' | 'accept' => cfg[name].onFailure;
  const forSubmission = scanners.filter((s) => s.name === 'clamav' && cfg.clamav.scanSubmission);
  return {
    scanners,
    spam: cfg.rspamd,
    inbound: (req) => runAll(scanners, req, onFailure),
    submission: (req) => runAll(forSubmission, req, onFailure),
    submissionScanned: forSubmission.length > 0,
    readinessChecks: () =>
      scanners.map((s) => ({
        name: `scanner:${s.name}`,
        async check() {
          if (!(await s.ping())) throw new Error(`${s.name} is unreachable`);
        },
        status: () => {
          const last = (s as Partial<ClamavScanner>).lastPing?.();
          return last === undefined ? 'unknown' : last ? 'up' : 'down';
        },
      })),
    archiveScanner,
  };
}

async function runAll(scanners: readonly MessageScanner[], req: ScanRequest, onFailure: (n: MessageScanner['name']) => 'tempfail' | 'accept'): Promise<ScanOutcome> {
  const out: ScanOutcome = { edits: noEdits() };
  const skipped: string[] = [];
  for (const s of scanners) {
    const o = await runOne(s, req, onFailure(s.name));
    if (o.skipped) {
      skipped.push(`${s.name} (${o.skipped})`);
      out.edits.add.push(['X-Scan-Skipped', `${s.name} (${o.skipped})`]);
    }
    out.edits.add.push(...o.edits.add);
    out.edits.remove.push(...o.edits.remove);
    if (o.edits.subject !== undefined) out.edits.subject = o.edits.subject;
    if (o.spam) out.spam = o.spam;
    if (o.refuse) {
      out.refuse = o.refuse;
      break;
    }
  }
  if (skipped.length) out.skipped = skipped.join(', ');
  return out;
}

async function runOne(s: MessageScanner, req: ScanRequest, onFailure: 'tempfail' | 'accept'): Promise<ScanOutcome> {
  const end = metrics.scanSeconds.startTimer({ scanner: s.name });
  let o: ScanOutcome;
  try {
    o = await s.scan(req);
  } catch (err) {
    // A scanner's own bug or our spool failing to read: the same choice as scanner trouble.
    req.log.error({ err, scanner: s.name }, 'scan failed');
    o = onFailure === 'accept' ? { edits: noEdits(), skipped: 'error' } : { refuse: reply(451, '4.7.0', 'Message scan temporarily unavailable, try again later'), edits: noEdits() };
  } finally {
    end();
  }
  metrics.scanResults.inc({ scanner: s.name, result: resultOf(s.name, o) });
  return o;
}

function resultOf(name: MessageScanner['name'], o: ScanOutcome): 'clean' | 'spam' | 'virus' | 'error' {
  if (o.skipped || o.refuse?.enhanced === '4.7.0') return 'error';
  if (name === 'clamav') return o.refuse ? 'virus' : 'clean';
  if (o.refuse) return 'spam';
  return o.spam && o.spam.action !== 'no action' ? 'spam' : 'clean';
}
