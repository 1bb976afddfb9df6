// DKIM keys on disk: `<keyDir>/<domain>/<selector>.<rsa|ed25519>.key`, PKCS#8 PEM, mode
// 0600 in a 0700 directory. One file per key, so a key is added or retired by adding or
// removing a file; the public half and its DNS record are derived from the private key.
import { createPrivateKey, createPublicKey, generateKeyPair as genCb, type KeyObject } from 'node:crypto';
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const generateKeyPair = promisify(genCb);

export type DkimKeyType = 'rsa' | 'ed25519';

export interface DkimKey {
  domain: string;
  selector: string;
  type: DkimKeyType;
  privateKeyPem: string;
  path: string;
  mtimeMs: number;
}

const DOMAIN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/;
const SELECTOR = /^[a-z0-9]([a-z0-9._-]{0,62})$/;
const FILE = /^([a-z0-9][a-z0-9._-]{0,62})\.(rsa|ed25519)\.key$/;

/** Throws for a name that cannot be a path component safely (no `/`, `..`, NUL, leading dot). */
export function keyPath(keyDir: string, domain: string, selector: string, type: DkimKeyType): string {
  const d = domain.toLowerCase();
  const s = selector.toLowerCase();
  if (!DOMAIN.test(d)) throw new Error(`not a domain name: ${domain}`);
  if (!SELECTOR.test(s) || s.includes('..')) throw new Error(`not a selector: ${selector}`);
  return join(keyDir, d, `${s}.${type}.key`);
}

/** Writes a new key; refuses to overwrite one (a published selector must keep its key). */
export async function generateDkimKey(keyDir: string, domain: string, selector: string, type: DkimKeyType): Promise<DkimKey> {
  const path = keyPath(keyDir, domain, selector, type);
  // RFC 8301 3.2: at least 1024 bits, 2048 recommended; DNS TXT of 2048 still fits in one record set.
  const { privateKey } =
    type === 'rsa'
      ? await generateKeyPair('rsa', { modulusLength: 2048 })
      : await generateKeyPair('ed25519');
  const pem = (privateKey as KeyObject).export({ type: 'pkcs8', format: 'pem' }).toString();
  await mkdir(join(keyDir, domain.toLowerCase()), { recursive: true, mode: 0o700 });
  await writeFile(path, pem, { mode: 0o600, flag: 'wx' });
  const st = await stat(path);
  return { domain: domain.toLowerCase(), selector: selector.toLowerCase(), type, privateKeyPem: pem, path, mtimeMs: st.mtimeMs };
}

/** Every key of a domain, newest first. */
export async function listDomainKeys(keyDir: string, domain: string): Promise<DkimKey[]> {
  const d = domain.toLowerCase();
  if (!DOMAIN.test(d)) return [];
  const dir = join(keyDir, d);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const keys: DkimKey[] = [];
  for (const name of names) {
    const m = FILE.exec(name);
    if (!m) continue;
    const path = join(dir, name);
    const [pem, st] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
    keys.push({ domain: d, selector: m[1]!, type: m[2] as DkimKeyType, privateKeyPem: pem, path, mtimeMs: st.mtimeMs });
  }
  return keys.sort((a, b) => b.mtimeMs - a.mtimeMs || a.selector.localeCompare(b.selector));
}

/**
 * The keys to sign with: per type, the configured selector's key, else the newest.
 * With both an RSA and an Ed25519 key the message carries two signatures (RFC 8463 3).
 */
export function activeKeys(keys: DkimKey[], selector?: string): DkimKey[] {
  const out: DkimKey[] = [];
  for (const type of ['rsa', 'ed25519'] as const) {
    const ofType = keys.filter((k) => k.type === type);
    const pick = selector ? ofType.find((k) => k.selector === selector) : ofType[0];
    if (pick) out.push(pick);
  }
  return out;
}

/** The TXT record value for `<selector>._domainkey.<domain>`. */
export function dnsRecordValue(key: Pick<DkimKey, 'type' | 'privateKeyPem'>): string {
  const pub = createPublicKey(createPrivateKey(key.privateKeyPem));
  const der = pub.export({ type: 'spki', format: 'der' });
  // RFC 8463 4.2: an Ed25519 p= is the bare 32-byte key, not the SPKI structure RSA uses.
  const p = key.type === 'ed25519' ? der.subarray(der.length - 32).toString('base64') : der.toString('base64');
  return `v=DKIM1; k=${key.type}; p=${p}`;
}

/** Splits a long TXT value into the quoted 255-byte strings a zone file needs (RFC 1035 3.3.14). */
export function zoneTxt(value: string): string {
  const parts: string[] = [];
  for (let i = 0; i < value.length; i += 255) parts.push(`"${value.slice(i, i + 255)}"`);
  return parts.length > 1 ? `( ${parts.join('\n\t')} )` : parts[0]!;
}
