// DKIM signing (RFC 6376) with mailauth's signer, fed the stored message bytes as a stream
// (in the relay thread, relay-thread.ts), so the body is hashed in one pass and never
// buffered whole. relaxed/relaxed; rsa-sha256 and ed25519-sha256 (RFC 8463) side by side
// when the domain has both keys.
import { createHash, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { createRequire } from 'node:module';
import type { Writable } from 'node:stream';
import type { Logger } from 'pino';
import { RelaxedBodyHash } from './dkim-body.js';
import { activeKeys, listDomainKeys, type DkimKey } from './dkim-keys.js';

const require = createRequire(import.meta.url);
memoizeKeyParsing();
// mailauth ships no types for its signer class; the shape we use is declared below.
const { DkimSigner } = require('mailauth/lib/dkim/dkim-signer.js') as { DkimSigner: new (opts: unknown) => MailauthSigner };

// mailauth internals the asynchronous finalize() below is built from (see there why).
const tools = require('mailauth/lib/tools.js') as {
  getSigningHeaderLines(parsed: ParsedHeader[], fieldNames: string): unknown;
  formatSignatureHeaderLine(type: string, values: Record<string, unknown>, folded: boolean): string;
  getPrivateKey(key: unknown): KeyObject;
};
const { generateCanonicalizedHeader } = require('mailauth/lib/dkim/header/index.js') as {
  generateCanonicalizedHeader(type: string, lines: unknown, opts: Record<string, unknown>): { canonicalizedHeader: Buffer; dkimHeaderOpts: Record<string, unknown> };
};

interface ParsedHeader {
  key: string;
  casedKey: string;
}
interface SignatureData {
  signingDomain: string;
  selector: string;
  privateKey: string;
  algorithm: string;
  canonicalization: string;
  maxBodyLength: number | '';
}
interface MailauthSigner extends Writable {
  headers: { parsed: ParsedHeader[] } | false;
  headerList: string;
  signTime: Date;
  expires?: Date;
  signatureData: SignatureData[];
  bodyHashes: Map<string, { hash: string | null; hasher: { update(chunk: Buffer): void; digest(enc: 'base64'): string } | null }>;
  signatureHeaders: string[];
  errors: Array<{ err: Error; selector?: string }>;
  byteLength: number;
  messageHeaders(headers: unknown): Promise<void>;
  processChunk(chunk: Buffer): Promise<void>;
  writeAsync(chunk: Buffer): Promise<void>;
  finalize(): Promise<void>;
}

/** The header fields we sign (RFC 6376 5.4.1's list, plus the MIME and list headers). */
export const SIGNED_HEADERS = [
  'From', 'Sender', 'Reply-To', 'Subject', 'Date', 'Message-ID', 'To', 'Cc', 'MIME-Version',
  'Content-Type', 'Content-Transfer-Encoding', 'Content-ID', 'Content-Description',
  'Resent-Date', 'Resent-From', 'Resent-Sender', 'Resent-To', 'Resent-Cc', 'Resent-Message-ID',
  'In-Reply-To', 'References', 'List-Id', 'List-Help', 'List-Unsubscribe', 'List-Subscribe',
  'List-Post', 'List-Owner', 'List-Archive',
];

/**
 * Named once more in h= than they occur (RFC 6376 8.15): a verifier then fails if anyone
 * adds another From or Subject on the way. mailauth lists each present header once, so
 * the extra names are appended to the h= entry of the topmost signed header: that keeps
 * them after every real instance, which is where a verifier looks for them.
 */
const OVERSIGNED = ['From', 'Subject'];

export interface DkimSignature {
  /** Writable the message bytes (CRLF-normalised, as stored: no bare CR or LF) are written to. */
  sink: Writable;
  /** After the sink has finished: the DKIM-Signature header lines (CRLF-terminated), or ''. */
  headers(): string;
}

export interface DkimSigning {
  /** Whether mail from this domain is signed (it has a key). */
  hasKeys(domain: string): Promise<boolean>;
  /** A signer for mail from this domain, or null when it has no key. */
  signerFor(domain: string, log: Logger): Promise<DkimSignature | null>;
}

/**
 * `syncSign`: the private-key operation runs on the calling thread. Only for a thread that
 * serves no client (the relay thread): there the hand-off to libuv's pool and back costs
 * more than the signature, and a 2-core machine has no idle core for it anyway.
 */
export function createDkimSigning(opts: { keyDir: string; selectors: Record<string, string>; cacheMs?: number; now?: () => Date; syncSign?: boolean }): DkimSigning {
  const cache = new Map<string, { at: number; keys: DkimKey[] }>();
  const cacheMs = opts.cacheMs ?? 60_000;

  // Keys are re-read at most once a minute, so `mailserver dkim generate` takes effect
  // without a restart and a busy server does not read them per message.
  async function keysFor(domain: string): Promise<DkimKey[]> {
    const hit = cache.get(domain);
    if (hit && Date.now() - hit.at < cacheMs) return hit.keys;
    const keys = activeKeys(await listDomainKeys(opts.keyDir, domain), opts.selectors[domain]);
    cache.set(domain, { at: Date.now(), keys });
    return keys;
  }

  return {
    async hasKeys(domain) {
      return (await keysFor(domain.toLowerCase())).length > 0;
    },
    async signerFor(domain, log) {
      const keys = await keysFor(domain.toLowerCase());
      if (keys.length === 0) return null;
      const signer = new DkimSigner({
        canonicalization: 'relaxed/relaxed',
        headerList: SIGNED_HEADERS.join(':'),
        signTime: opts.now?.() ?? new Date(),
        signatureData: keys.map((k) => ({
          signingDomain: k.domain,
          selector: k.selector,
          privateKey: k.privateKeyPem,
          algorithm: `${k.type}-sha256`,
          canonicalization: 'relaxed/relaxed',
        })),
      });
      const original = signer.messageHeaders.bind(signer);
      signer.messageHeaders = async (headers: unknown) => {
        await original(headers);
        oversign(signer);
        // relaxed/sha256 without l= (all we sign with): our hasher, mailauth's result.
        for (const [key, entry] of signer.bodyHashes) if (key === 'relaxed:sha256:') entry.hasher = new RelaxedBodyHash();
      };
      signer.finalize = () => finalizeAsync(signer, opts.syncSign ?? false);
      // What is written here is CRLF-normalised already (LineEndNormalizer): mailauth's pass
      // over every byte looking for bare LF (ensureLinebreaks) would find none.
      signer.writeAsync = async (chunk: Buffer) => {
        if (!chunk?.length) return;
        await signer.processChunk(chunk);
        signer.byteLength += chunk.length;
      };
      return {
        sink: signer,
        headers() {
          for (const e of signer.errors) log.error({ err: e.err, selector: e.selector, domain }, 'dkim signing failed');
          return signer.signatureHeaders.map((h) => `${h}\r\n`).join('');
        },
      };
    },
  };
}

/**
 * mailauth's finalize() for our case (DKIM-Signature, relaxed/relaxed, no l=), with the
 * private-key operation given to libuv's thread pool (crypto.sign with a callback) instead
 * of run on the event loop: RSA-2048 takes 1–2 ms, which every other session waited for.
 * The signatures of several keys are made side by side and kept in key order. Header
 * selection, canonicalization and the header line are mailauth's own functions, so the
 * result is byte for byte what its synchronous finalize() produced.
 */
async function finalizeAsync(signer: MailauthSigner, sync: boolean): Promise<void> {
  if (!signer.headers) return;
  const parsed = signer.headers.parsed;
  const made = await Promise.all(
    signer.signatureData.map(async (sd): Promise<string | null> => {
      try {
        const key = tools.getPrivateKey(sd.privateKey);
        const keyType = key.asymmetricKeyType;
        const [signAlgo, hashAlgo] = sd.algorithm.split('-') as [string, string];
        if (keyType !== signAlgo || (keyType !== 'rsa' && keyType !== 'ed25519') || hashAlgo !== 'sha256') {
          throw Object.assign(new Error(`Key type "${keyType}" does not fit algorithm ${sd.algorithm}`), { code: 'EINVALIDTYPE' });
        }
        const bodyCanon = sd.canonicalization.split('/')[1] ?? 'simple';
        const bodyHash = signer.bodyHashes.get(`${bodyCanon}:${hashAlgo}:${sd.maxBodyLength}`)?.hash ?? null;
        const { canonicalizedHeader, dkimHeaderOpts } = generateCanonicalizedHeader('DKIM', tools.getSigningHeaderLines(parsed, signer.headerList), {
          ...sd,
          instance: false, // ARC only
          algorithm: sd.algorithm,
          canonicalization: sd.canonicalization,
          signTime: signer.signTime,
          expires: signer.expires,
          bodyHash,
        });
        // Ed25519 signs the SHA-256 of the canonicalized header (RFC 8463 3), RSA the header itself.
        const data = keyType === 'rsa' ? canonicalizedHeader : createHash('sha256').update(canonicalizedHeader).digest();
        const algorithm = keyType === 'rsa' ? sd.algorithm : null;
        const signature = sync
          ? cryptoSign(algorithm, data, key)
          : await new Promise<Buffer>((resolve, reject) => cryptoSign(algorithm, data, key, (err, sig) => (err ? reject(err) : resolve(sig))));
        dkimHeaderOpts.b = signature.toString('base64');
        return tools.formatSignatureHeaderLine('DKIM', dkimHeaderOpts, true);
      } catch (err) {
        signer.errors.push({ err: err as Error, selector: sd.selector });
        return null;
      }
    }),
  );
  for (const line of made) if (line) signer.signatureHeaders.push(line);
}

function oversign(signer: MailauthSigner): void {
  if (!signer.headers) return;
  const signed = new Set(SIGNED_HEADERS.map((h) => h.toLowerCase()));
  const topmost = signer.headers.parsed.find((h) => signed.has(h.key));
  if (topmost) topmost.casedKey = [topmost.casedKey, ...OVERSIGNED].join(': ');
}

/**
 * mailauth parses the PEM private key for every message (≈1.5 ms for RSA-2048, as much
 * as a third of the signing cost). Its signer takes `getPrivateKey` from its tools module
 * when first loaded, so wrapping that export before loading the signer caches the parsed
 * KeyObject per PEM. If the signer was loaded earlier elsewhere, nothing changes but speed.
 */
function memoizeKeyParsing(): void {
  const tools = require('mailauth/lib/tools.js') as { getPrivateKey: (k: unknown) => unknown; __memo?: boolean };
  if (tools.__memo) return;
  const original = tools.getPrivateKey;
  const cache = new Map<string, unknown>();
  tools.getPrivateKey = (k: unknown) => {
    if (typeof k !== 'string') return original(k);
    let v = cache.get(k);
    if (!v) {
      v = original(k);
      if (cache.size > 256) cache.clear();
      cache.set(k, v);
    }
    return v;
  };
  tools.__memo = true;
}
