// SHA-crypt ($5$ / $6$, https://www.akkadia.org/drepper/SHA-crypt.txt), used to verify
// hashes imported from Dovecot ({SHA512-CRYPT}, {SHA256-CRYPT}, {CRYPT}).
//
// Why not unixcrypt directly: it is synchronous, and 5,000 rounds cost ~14 ms of CPU,
// which would stall every IMAP/SMTP session during a login. A worker thread would need
// a separate JS entry file, which vitest (running TS sources) cannot start. So the
// rounds loop here yields to the event loop every ROUNDS_PER_SLICE rounds (~1 ms slices);
// unixcrypt stays as the cross-check oracle in the tests.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const ROUNDS_DEFAULT = 5000;
const ROUNDS_MIN = 1000;
const ROUNDS_MAX = 999_999_999;
const ROUNDS_PER_SLICE = 400;
const ITOA64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

type Variant = { id: '5' | '6'; algorithm: 'sha256' | 'sha512'; size: number; order: number[][] };

// Byte triples in the order the spec's b64_from_24bit calls emit them: (i, i+n, i+2n)
// rotated by i mod 3, to the left for SHA-512 and to the right for SHA-256.
function order(size: number): number[][] {
  const n = size === 64 ? 21 : 10;
  const triples: number[][] = [];
  for (let i = 0; i < n; i++) {
    const t = [i, i + n, i + 2 * n];
    const r = size === 64 ? i % 3 : (3 - (i % 3)) % 3;
    triples.push([...t.slice(r), ...t.slice(0, r)]);
  }
  return triples;
}

const VARIANTS: Record<'5' | '6', Variant> = {
  '5': { id: '5', algorithm: 'sha256', size: 32, order: order(32) },
  '6': { id: '6', algorithm: 'sha512', size: 64, order: order(64) },
};

export interface ShaCryptSetting {
  variant: Variant;
  rounds: number;
  roundsExplicit: boolean;
  salt: string;
  /** The encoded digest after the last '$', when parsing a full hash. */
  digest?: string;
}

/** Parses `$6$[rounds=N$]salt[$digest]`; null when it is not SHA-crypt. */
export function parseShaCrypt(hash: string): ShaCryptSetting | null {
  const m = /^\$([56])\$(?:rounds=(\d{1,10})\$)?([^$]*)(?:\$([./0-9A-Za-z]*))?$/.exec(hash);
  if (!m) return null;
  const variant = VARIANTS[m[1] as '5' | '6'];
  let rounds = m[2] === undefined ? ROUNDS_DEFAULT : Number(m[2]);
  rounds = Math.min(ROUNDS_MAX, Math.max(ROUNDS_MIN, rounds));
  const setting: ShaCryptSetting = { variant, rounds, roundsExplicit: m[2] !== undefined, salt: (m[3] ?? '').slice(0, 16) };
  if (m[4] !== undefined) setting.digest = m[4];
  return setting;
}

function repeatTo(digest: Buffer, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let off = 0; off < length; off += digest.length) digest.copy(out, off, 0, Math.min(digest.length, length - off));
  return out;
}

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

async function digestOf(password: Buffer, setting: ShaCryptSetting): Promise<string> {
  const { algorithm, size } = setting.variant;
  const h = () => createHash(algorithm);
  const salt = Buffer.from(setting.salt, 'latin1');
  const plen = password.length;

  const b = h().update(password).update(salt).update(password).digest();
  const a = h().update(password).update(salt);
  let cnt = plen;
  for (; cnt > size; cnt -= size) a.update(b);
  a.update(b.subarray(0, cnt));
  for (cnt = plen; cnt > 0; cnt >>= 1) a.update(cnt & 1 ? b : password);
  let c = a.digest();

  const dp = h();
  for (let i = 0; i < plen; i++) dp.update(password);
  const p = repeatTo(dp.digest(), plen);

  const ds = h();
  for (let i = 0; i < 16 + c[0]!; i++) ds.update(salt);
  const s = repeatTo(ds.digest(), salt.length);

  for (let i = 0; i < setting.rounds; i++) {
    if (i > 0 && i % ROUNDS_PER_SLICE === 0) await yieldToLoop();
    const ctx = h();
    ctx.update(i & 1 ? p : c);
    if (i % 3) ctx.update(s);
    if (i % 7) ctx.update(p);
    ctx.update(i & 1 ? c : p);
    c = ctx.digest();
  }

  let out = '';
  const emit = (b2: number, b1: number, b0: number, n: number) => {
    let w = (b2 << 16) | (b1 << 8) | b0;
    for (let i = 0; i < n; i++, w >>= 6) out += ITOA64[w & 0x3f];
  };
  for (const [x, y, z] of setting.variant.order) emit(c[x!]!, c[y!]!, c[z!]!, 4);
  if (size === 64) emit(0, 0, c[63]!, 2);
  else emit(0, c[31]!, c[30]!, 3);
  return out;
}

function prefix(setting: ShaCryptSetting): string {
  const rounds = setting.roundsExplicit ? `rounds=${setting.rounds}$` : '';
  return `$${setting.variant.id}$${rounds}${setting.salt}`;
}

export async function shaCrypt(password: string, setting: ShaCryptSetting): Promise<string> {
  return `${prefix(setting)}$${await digestOf(Buffer.from(password, 'utf8'), setting)}`;
}

export async function shaCryptVerify(password: string, hash: string): Promise<boolean> {
  const setting = parseShaCrypt(hash);
  if (!setting || setting.digest === undefined) return false;
  const expected = Buffer.from(setting.digest, 'latin1');
  const actual = Buffer.from(await digestOf(Buffer.from(password, 'utf8'), setting), 'latin1');
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** A new `$6$` hash; only used for tests and tools, new passwords use ARGON2ID/BLF-CRYPT. */
export async function shaCryptHash(password: string, id: '5' | '6' = '6'): Promise<string> {
  const salt = Array.from(randomBytes(16), (x) => ITOA64[x & 0x3f]).join('');
  return shaCrypt(password, { variant: VARIANTS[id], rounds: ROUNDS_DEFAULT, roundsExplicit: false, salt });
}
