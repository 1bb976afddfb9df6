// Rspamd over its HTTP protocol (issue 7, part 2): POST /checkv2 with the envelope in
// request headers and the spooled message streamed as the body; the JSON answer's action
// becomes a refusal for every recipient or header edits plus a verdict that folderFor()
// (spam-policy.ts) turns into INBOX or Junk per recipient.
//
// Protocol: https://rspamd.com/doc/developers/protocol.html (request headers IP, Helo,
// From, Rcpt (one per recipient), Queue-Id, User, Deliver-To; answer fields action, score,
// required_score, subject, messages.smtp_message, milter.add_headers/remove_headers).
import libmime from 'libmime';
import type { Logger } from 'pino';
import type { ResolvedConfig } from '../config/schema.js';
import { reply } from '../delivery/types.js';
import { headerValue, RspamdError, rspamdRequest } from './rspamd-http.js';
import { noEdits, type HeaderEdits, type MessageScanner, type ScanOutcome, type ScanRequest, type SpamVerdict } from './types.js';

export type RspamdConfig = ResolvedConfig['scan']['rspamd'];

/**
 * The headers this server writes from the verdict. Copies of them that arrived with the
 * message are removed first: a sender must not be able to pre-set `X-Spam-Flag: NO` or a
 * score that a user's client filter trusts.
 */
export const SPAM_HEADERS = ['X-Spam-Flag', 'X-Spam-Status', 'X-Spam-Score', 'X-Spam-Action'] as const;

/** Actions whose mail is flagged as spam (and goes to Junk, see spam-policy.ts). */
const SPAM_ACTIONS = new Set(['add header', 'rewrite subject', 'reject', 'discard', 'quarantine']);

const PING_TIMEOUT_MS = 5000;

export function createRspamdScanner(cfg: RspamdConfig, logger: Logger): MessageScanner {
  const log = logger.child({ scanner: 'rspamd' });
  const base = cfg.url;
  const timeoutMs = cfg.timeoutSeconds * 1000;
  /** The last ping's answer, for /healthz without a network wait (index.ts reads lastPing). */
  let lastPing: boolean | undefined;

  async function scan(req: ScanRequest): Promise<ScanOutcome> {
    if (!base) return { edits: noEdits() }; // spam checks are off while scan.rspamd.url is unset
    const started = process.hrtime.bigint();
    let answer: RspamdAnswer;
    try {
      const res = await rspamdRequest({
        base,
        path: '/checkv2',
        method: 'POST',
        headers: { ...checkHeaders(req), 'Content-Length': req.message.size },
        body: () => req.message.open(),
        timeoutMs,
      });
      if (res.status !== 200) throw new RspamdError(`HTTP ${res.status}`);
      answer = parseAnswer(res.body);
    } catch (err) {
      const reason = err instanceof RspamdError ? err.reason : 'internal error';
      if (!(err instanceof RspamdError)) req.log.error({ err }, 'rspamd client failed');
      return failure(cfg, reason, req.log);
    }
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    const outcome = outcomeOf(answer, cfg, req.log);
    req.log.info({ action: answer.action, score: answer.score, required: answer.required, ms: Math.round(ms) }, 'rspamd verdict');
    return outcome;
  }

  async function ping(): Promise<boolean> {
    if (!base) return false;
    try {
      const res = await rspamdRequest({ base, path: '/ping', method: 'GET', timeoutMs: Math.min(timeoutMs, PING_TIMEOUT_MS), maxResponseBytes: 1024 });
      lastPing = res.status === 200 && res.body.toString('utf8').trim() === 'pong';
    } catch (err) {
      log.debug({ reason: err instanceof RspamdError ? err.reason : String(err) }, 'rspamd ping failed');
      lastPing = false;
    }
    return lastPing;
  }

  const scanner: MessageScanner & { lastPing(): boolean | undefined } = { name: 'rspamd', scan, ping, lastPing: () => lastPing };
  return scanner;
}

/** The envelope in Rspamd's request headers. */
export function checkHeaders(req: ScanRequest): Record<string, string | string[]> {
  const { env } = req;
  const h: Record<string, string | string[]> = {};
  const ip = env.remoteAddress.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
  if (ip) h['IP'] = ip;
  if (env.heloName) h['Helo'] = headerValue(env.heloName);
  // The null reverse-path of bounces is `<>` (RFC 5321 4.5.5); Rspamd parses it as such.
  h['From'] = env.mailFrom ? headerValue(env.mailFrom) : '<>';
  if (env.recipients.length > 0) h['Rcpt'] = env.recipients.map(headerValue);
  // With one recipient Rspamd may apply that user's settings (Deliver-To).
  if (env.recipients.length === 1) h['Deliver-To'] = headerValue(env.recipients[0]!);
  h['Queue-Id'] = headerValue(env.sessionId);
  if (req.user) h['User'] = headerValue(req.user);
  return h;
}

interface RspamdAnswer {
  action: string;
  score: number;
  required: number;
  subject?: string;
  smtpMessage?: string;
  milterAdd: Array<[string, string]>;
  milterRemove: string[];
}

/** Validates the JSON; anything unexpected is a failure like a 500 (onFailure applies). */
export function parseAnswer(body: Buffer): RspamdAnswer {
  let j: unknown;
  try {
    j = JSON.parse(body.toString('utf8'));
  } catch {
    throw new RspamdError('invalid JSON');
  }
  if (!isObject(j)) throw new RspamdError('invalid JSON');
  if (typeof j.error === 'string') throw new RspamdError('error answer');
  const { action, score } = j;
  const required = j.required_score;
  if (typeof action !== 'string' || typeof score !== 'number' || !Number.isFinite(score)) throw new RspamdError('answer without action or score');
  const out: RspamdAnswer = {
    action,
    score,
    required: typeof required === 'number' && Number.isFinite(required) ? required : 0,
    milterAdd: [],
    milterRemove: [],
  };
  if (typeof j.subject === 'string') out.subject = j.subject;
  if (isObject(j.messages) && typeof j.messages.smtp_message === 'string') out.smtpMessage = j.messages.smtp_message;
  if (isObject(j.milter)) {
    out.milterAdd = milterAdds(j.milter.add_headers);
    if (isObject(j.milter.remove_headers)) out.milterRemove = Object.keys(j.milter.remove_headers).filter(isFieldName);
  }
  return out;
}

/**
 * `add_headers` maps a name to a string, an object `{value, order}`, or an array of those
 * (several fields of one name). Rspamd's `order` is a milter insert position; the
 * relative order of the values is what survives into HeaderEdits.add.
 */
function milterAdds(v: unknown): Array<[string, string]> {
  if (!isObject(v)) return [];
  const rows: Array<{ name: string; value: string; order: number }> = [];
  for (const [name, spec] of Object.entries(v)) {
    if (!isFieldName(name)) continue;
    for (const one of Array.isArray(spec) ? spec : [spec]) {
      if (typeof one === 'string') rows.push({ name, value: one, order: 0 });
      else if (isObject(one) && typeof one.value === 'string')
        rows.push({ name, value: one.value, order: typeof one.order === 'number' ? one.order : 0 });
    }
  }
  rows.sort((a, b) => a.order - b.order);
  return rows.map((r) => [r.name, unfold(r.value)]);
}

export function outcomeOf(a: RspamdAnswer, cfg: RspamdConfig, log: Logger): ScanOutcome {
  const spam: SpamVerdict = { score: a.score, required: a.required, action: a.action };
  if (a.action === 'reject' && cfg.rejectAction === 'reject') {
    return { refuse: reply(550, '5.7.1', smtpText(a.smtpMessage, 'Message refused as spam')), edits: noEdits(), spam };
  }
  // Rspamd's own milter answers tempfail for both (the greylist module has already
  // downgraded `greylist` to `no action` when it lets a triplet through).
  if (a.action === 'greylist' || a.action === 'soft reject') {
    return { refuse: reply(451, '4.7.1', smtpText(a.smtpMessage, 'Try again later')), edits: noEdits(), spam };
  }
  // A custom action of a newer or locally configured Rspamd is handled like `add header`.
  const known = SPAM_ACTIONS.has(a.action) || a.action === 'no action';
  if (!known) log.warn({ action: a.action }, 'rspamd action unknown; treated as add header');
  const isSpam = a.action !== 'no action';
  const edits: HeaderEdits = { add: [], remove: [] };
  const fromRspamd = new Set(a.milterAdd.map(([n]) => n.toLowerCase()));
  const ours: Array<[string, string]> = [
    ['X-Spam-Flag', 'YES'],
    ['X-Spam-Status', `${isSpam ? 'Yes' : 'No'}, score=${a.score.toFixed(2)} required=${a.required.toFixed(2)}`],
    ['X-Spam-Score', a.score.toFixed(2)],
    ['X-Spam-Action', a.action.replace(/[^\x20-\x7e]/g, '?')],
  ];
  for (const [name, value] of ours) {
    if (name === 'X-Spam-Flag' && !isSpam) continue;
    // An X-Spam-* header that Rspamd's milter block sets (milter_headers) wins over ours.
    if (!fromRspamd.has(name.toLowerCase())) edits.add.push([name, value]);
  }
  edits.add.push(...a.milterAdd);
  edits.remove = dedupe([...SPAM_HEADERS, ...a.milterRemove]);
  if (a.action === 'rewrite subject' && a.subject !== undefined) edits.subject = encodeSubject(a.subject);
  return { edits, spam: known ? spam : { ...spam, action: 'add header' } };
}

function failure(cfg: RspamdConfig, reason: string, log: Logger): ScanOutcome {
  log.warn({ reason, onFailure: cfg.onFailure }, 'rspamd unavailable');
  if (cfg.onFailure === 'tempfail') return { refuse: reply(451, '4.7.0', 'Spam scanner unavailable, try again later'), edits: noEdits() };
  // The stage (index.ts) writes `X-Scan-Skipped: rspamd (<reason>)` from `skipped`.
  return { edits: noEdits(), skipped: reason };
}

/**
 * Rspamd 3.x sends the rewritten subject already RFC 2047-encoded when it holds non-ASCII
 * text (it decodes the original, e.g. ISO-2022-JP encoded-words, and re-encodes as UTF-8);
 * a raw UTF-8 answer (other versions) is encoded here.
 */
export function encodeSubject(s: string): string {
  const flat = unfold(s);
  return /[^\x00-\x7f]/.test(flat) ? libmime.encodeWords(flat, 'Q', 52) : flat;
}

/**
 * One line per value: HeaderEdits values are written as `Name: value` on one line (the
 * stage's header writer flattens any CR/LF), so Rspamd's own folding (RFC 5322 2.2.3) is
 * unfolded here and control characters become spaces.
 */
export function unfold(value: string): string {
  // eslint-disable-next-line no-control-regex
  return value.replace(/\r?\n(?=[ \t])/g, '').replace(/[\x00-\x08\x0a-\x1f\x7f]+/g, ' ').trim();
}

/** A reply text from Rspamd for the sender: printable ASCII, bounded. */
function smtpText(msg: string | undefined, fallback: string): string {
  const t = (msg ?? '').replace(/[^\x21-\x7e]+/g, ' ').trim().slice(0, 200);
  return t || fallback;
}

/** RFC 5322 3.6.8: printable US-ASCII except colon. */
function isFieldName(n: string): boolean {
  return /^[\x21-\x39\x3b-\x7e]{1,76}$/.test(n);
}

function dedupe(names: string[]): string[] {
  const seen = new Set<string>();
  return names.filter((n) => !seen.has(n.toLowerCase()) && seen.add(n.toLowerCase()));
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
