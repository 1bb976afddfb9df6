import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { encrypt as unixcryptEncrypt } from 'unixcrypt';
import { hashPassword, isVerifiableHash, verifyPassword } from '../../src/directory/password.js';
import { shaCrypt, parseShaCrypt, shaCryptHash, shaCryptVerify } from '../../src/directory/sha-crypt.js';

const run = promisify(execFile);
const PASSWORD = 'Correct horse 9!';

function hasDoveadm(): boolean {
  try {
    execFileSync('doveadm', ['pw', '-l'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const doveadm = hasDoveadm();
if (!doveadm) {
  if (process.env.CI === 'true') throw new Error('doveadm is required in CI: run .ci/install-test-deps.sh');
  console.warn('SKIPPING doveadm cross-checks: doveadm not found (install Dovecot, see .ci/install-test-deps.sh)');
}

// Produced by `doveadm pw -s SCHEME -p 'Correct horse 9!'` (Dovecot 2.3), kept so the
// test means something on machines without Dovecot.
const KNOWN: Array<[string, string]> = [
  ['SHA512-CRYPT', '{SHA512-CRYPT}$6$wdhlYayKfFx746AL$Wac9zVa3LKrUOlFTS9aSeZnK4rGDqParP6lnUCHbVDEtd9aa5VmERGJscI1zXVezNqXkaDqTkOrZ9MURM9dy0/'],
  ['SHA512-CRYPT rounds', '{SHA512-CRYPT}$6$rounds=10000$b3/kqCDL6tW/jJ8a$qMHKUXrp1cpJ6FHCeZDZNTm5LOzXq1hgfO0TubC2T77SEfm3mQAK.GRqAKXqZ3G3oaUd.LRw1knn46cBEhNP4.'],
  ['SHA256-CRYPT', '{SHA256-CRYPT}$5$Fc2yisnyo4PS6G/.$3QQJ.pAGeEpvetvX6o87csYr/Ysw/ld/ULYmp.kSiB9'],
  ['BLF-CRYPT', '{BLF-CRYPT}$2y$05$iHo86g2qVRB6rLBZpSFfiuyo2CtdBbJmwNxbtrT5G1Et11VarQp2q'],
  ['ARGON2ID', '{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$pAzjyRfELSVcOVF8aSgESg$tqXpqnT8Eq9irt34hskvEI7AynIHEiMtw6DaZYYZxRc'],
  ['ARGON2I', '{ARGON2I}$argon2i$v=19$m=32768,t=4,p=1$E/0CbPKBEfj/MvZf9aB4lQ$z0nnyVkevHCYWZ+9cSnWWWKaNLEc6jHGzrmlI82GhO8'],
  ['SSHA512', '{SSHA512}lbiIu0/QIioTJwCPjG7GSloAuG7QhwOhFzQ2maTysWerb0uq5dLIXIRmbyL8J4IOlEjYmIRsu6f8t81TNDDhIl5Vrfg='],
  ['SSHA512.HEX', '{SSHA512.HEX}c7a195500e9eec43d77ad0dc6ed3c546ffe9f2a556202147c73ba83f8fbb8655f928569b47fa7c6b0046a98c56a8c44ce4153f87b12b1fd8c875835b3f27ed95a138fb08'],
  ['SSHA256', '{SSHA256}baaxzc4ABLhT+taH6C9vAjRBThAGBzyEmXqLf+W07Ra0faIc'],
  ['SHA512', '{SHA512}B+lPneQa2vRcNCY23t3gPgKbgnCPDy+Fp/NbDbsuNNb4k2CQM+vLoUdr5MJg8CdLKwQZUcm2RZavoHiUaGRhig=='],
  ['SHA256', '{SHA256}ycCZPMQP3MIEQTHKk1rUkMqmTjyWI9NyR3BjC2sNubQ='],
  ['PLAIN', `{PLAIN}${PASSWORD}`],
  ['CRYPT $2y$', '{CRYPT}$2y$05$EfOVrYRKGR5ZOLtxwNK3Hemsw1iTmV95X4KBmiisfDjGI3YXJVNVe'],
  ['CRYPT $6$', '{CRYPT}$6$wdhlYayKfFx746AL$Wac9zVa3LKrUOlFTS9aSeZnK4rGDqParP6lnUCHbVDEtd9aa5VmERGJscI1zXVezNqXkaDqTkOrZ9MURM9dy0/'],
  ['CRYPT $5$', '{CRYPT}$5$Fc2yisnyo4PS6G/.$3QQJ.pAGeEpvetvX6o87csYr/Ysw/ld/ULYmp.kSiB9'],
];

describe('known-answer vectors', () => {
  it.each(KNOWN)('%s accepts the right password and rejects a wrong one', async (_name, hash) => {
    expect(await verifyPassword(PASSWORD, hash)).toBe(true);
    expect(await verifyPassword(`${PASSWORD}x`, hash)).toBe(false);
    expect(await verifyPassword('', hash)).toBe(false);
    expect(isVerifiableHash(hash)).toBe(true);
  });

  it('matches the SHA-crypt vectors from Drepper\'s specification', async () => {
    expect(await shaCrypt('Hello world!', parseShaCrypt('$5$saltstring')!)).toBe('$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5');
    expect(await shaCrypt('Hello world!', parseShaCrypt('$6$saltstring')!)).toBe(
      '$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1',
    );
    expect(await shaCrypt('Hello world!', parseShaCrypt('$6$rounds=10000$saltstringsaltstring')!)).toBe(
      '$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.',
    );
  });

  it('agrees with unixcrypt on ordinary inputs', async () => {
    for (const pw of ['a', 'sécret pw', 'z'.repeat(100)]) {
      for (const salt of ['$6$saltstring', '$5$rounds=1000$abc']) {
        expect(await shaCrypt(pw, parseShaCrypt(salt)!)).toBe(unixcryptEncrypt(pw, salt));
      }
    }
  });

  it('round-trips its own SHA-crypt hashes', async () => {
    const h = await shaCryptHash(PASSWORD);
    expect(await shaCryptVerify(PASSWORD, h)).toBe(true);
    expect(await shaCryptVerify('nope', h)).toBe(false);
  });
});

describe('new hashes', () => {
  it('ARGON2ID uses Dovecot\'s format and parameters', async () => {
    const h = await hashPassword(PASSWORD, 'ARGON2ID');
    expect(h).toMatch(/^\{ARGON2ID\}\$argon2id\$v=19\$m=65536,t=3,p=1\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/);
    expect(await verifyPassword(PASSWORD, h)).toBe(true);
    expect(await verifyPassword('wrong', h)).toBe(false);
  });

  it('BLF-CRYPT writes $2y$', async () => {
    const h = await hashPassword(PASSWORD, 'BLF-CRYPT');
    expect(h).toMatch(/^\{BLF-CRYPT\}\$2y\$10\$/);
    expect(await verifyPassword(PASSWORD, h)).toBe(true);
    expect(await verifyPassword('wrong', h)).toBe(false);
  });

  it('bcrypt $2a$ and $2b$ bodies verify too', async () => {
    const body = (await hashPassword(PASSWORD, 'BLF-CRYPT')).slice('{BLF-CRYPT}'.length);
    expect(await verifyPassword(PASSWORD, `{BLF-CRYPT}${body.replace('$2y$', '$2b$')}`)).toBe(true);
    expect(await verifyPassword(PASSWORD, `{BLF-CRYPT}${body.replace('$2y$', '$2a$')}`)).toBe(true);
  });
});

describe('unknown and malformed hashes', () => {
  function fakeLogger() {
    const warnings: unknown[][] = [];
    const logger = { warn: (...args: unknown[]) => warnings.push(args) } as unknown as import('pino').Logger;
    return { logger, warnings };
  }

  it('an unknown scheme is false with a warning that names only the scheme', async () => {
    const { logger, warnings } = fakeLogger();
    expect(await verifyPassword(PASSWORD, '{MD5-CRYPT}$1$abc$secretbody', logger)).toBe(false);
    expect(warnings).toHaveLength(1);
    const text = JSON.stringify(warnings);
    expect(text).toContain('MD5-CRYPT');
    expect(text).not.toContain('secretbody');
    expect(text).not.toContain(PASSWORD);
  });

  it.each([
    ['no prefix', '$6$abc$def'],
    ['empty', ''],
    ['broken argon2', '{ARGON2ID}$argon2id$garbage'],
    ['broken bcrypt', '{BLF-CRYPT}$2y$05$short'],
    ['DES crypt', '{CRYPT}abJnggxhB/yWI'],
    ['short SSHA512', '{SSHA512}AAAA'],
  ])('%s is false, never a throw', async (_n, hash) => {
    const { logger, warnings } = fakeLogger();
    expect(await verifyPassword(PASSWORD, hash, logger)).toBe(false);
    expect(JSON.stringify(warnings)).not.toContain(PASSWORD);
  });

  it('an imported hash needs a scheme we can check', () => {
    expect(isVerifiableHash('{MD5}xyz')).toBe(false);
    expect(isVerifiableHash('plain text')).toBe(false);
    expect(isVerifiableHash('{SHA512-CRYPT}')).toBe(false);
  });
});

describe.skipIf(!doveadm)('against the real doveadm pw', () => {
  const schemes = ['SHA512-CRYPT', 'SHA256-CRYPT', 'BLF-CRYPT', 'ARGON2ID', 'ARGON2I', 'SSHA512', 'SSHA256', 'SHA512', 'SHA256', 'PLAIN', 'CRYPT'];
  // Lengths around the SHA digest sizes catch a bug unixcrypt 3.0.4 has there.
  const passwords = [PASSWORD, 'sécret ünïcode', 'x'.repeat(32), 'y'.repeat(64), `p:a$s{w}o'r"d`];

  it.each(schemes)('verifies %s hashes doveadm generates', async (scheme) => {
    for (const pw of passwords) {
      const { stdout } = await run('doveadm', ['pw', '-s', scheme, '-p', pw]);
      const hash = stdout.trim();
      expect(await verifyPassword(pw, hash), `${scheme} ${pw}`).toBe(true);
      expect(await verifyPassword(`${pw}!`, hash)).toBe(false);
    }
  });

  it.each(['ARGON2ID', 'BLF-CRYPT'] as const)('doveadm accepts our %s hashes', async (scheme) => {
    const hash = await hashPassword(PASSWORD, scheme);
    const { stdout } = await run('doveadm', ['pw', '-t', hash, '-p', PASSWORD]);
    expect(stdout).toContain('verified');
    await expect(run('doveadm', ['pw', '-t', hash, '-p', 'wrong'])).rejects.toThrow();
  });
});
