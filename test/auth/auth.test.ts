// The shared throttle and SASL decoding: every protocol's login goes through these.
import { describe, expect, it } from 'vitest';
import { AuthThrottle } from '../../src/auth/throttle.js';
import { decodeLoginStep, decodePlain, SaslError } from '../../src/auth/sasl.js';

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

describe('AuthThrottle', () => {
  function make() {
    let now = 1_000_000;
    const t = new AuthThrottle({
      maxFailuresPerIp: 3,
      maxFailuresPerUser: 5,
      windowMs: 60_000,
      delayStepMs: 100,
      maxDelayMs: 250,
      now: () => now,
    });
    return { t, advance: (ms: number) => (now += ms) };
  }

  it('delays each failure more, up to the cap, then refuses the address until the window passes', () => {
    const { t, advance } = make();
    expect(t.check('10.0.0.1', 'a@x')).toEqual({ allowed: true, delayMs: 0 });
    expect(t.fail('10.0.0.1', 'a@x')).toBe(100);
    expect(t.fail('10.0.0.1', 'b@x')).toBe(200);
    expect(t.fail('10.0.0.1', 'c@x')).toBe(250);
    expect(t.check('10.0.0.1', 'd@x').allowed).toBe(false);
    expect(t.check('10.0.0.2', 'd@x')).toEqual({ allowed: true, delayMs: 0 });
    advance(60_001);
    expect(t.check('10.0.0.1', 'd@x')).toEqual({ allowed: true, delayMs: 0 });
  });

  it('refuses a user name guessed from many addresses, case-insensitively', () => {
    const { t } = make();
    for (let i = 0; i < 5; i++) t.fail(`10.0.1.${i}`, 'Victim@X');
    expect(t.check('10.9.9.9', 'victim@x').allowed).toBe(false);
    expect(t.check('10.9.9.9', 'other@x').allowed).toBe(true);
  });

  it('a correct password clears the user but not the address', () => {
    const { t } = make();
    t.fail('10.0.0.1', 'a@x');
    t.fail('10.0.0.1', 'a@x');
    t.succeed('10.0.0.1', 'a@x');
    expect(t.check('10.0.0.9', 'a@x')).toEqual({ allowed: true, delayMs: 0 });
    expect(t.check('10.0.0.1', 'z@x').delayMs).toBe(200);
  });
});

describe('SASL', () => {
  it('decodes PLAIN with and without an authorization identity', () => {
    expect(decodePlain(b64('\0user@x\0pässword'))).toEqual({ authzid: '', username: 'user@x', password: 'pässword' });
    expect(decodePlain(b64('admin@x\0user@x\0pw'))).toEqual({ authzid: 'admin@x', username: 'user@x', password: 'pw' });
  });

  it.each([
    ['not base64', '!!!!'],
    ['bad padding', 'dXNlcg='],
    ['one NUL only', b64('user@x\0pw')],
    ['a NUL inside the password (never truncated)', b64('\0user@x\0pw\0rest')],
    ['empty password', b64('\0user@x\0')],
    ['empty user', b64('\0\0pw')],
    ['invalid UTF-8', Buffer.from([0, 0x75, 0, 0xff, 0xfe]).toString('base64')],
  ])('refuses PLAIN: %s', (_what, input) => {
    expect(() => decodePlain(input)).toThrow(SaslError);
  });

  it('decodes LOGIN steps and refuses a NUL', () => {
    expect(decodeLoginStep(b64('user@x'))).toBe('user@x');
    expect(() => decodeLoginStep(b64('user\0x'))).toThrow(SaslError);
  });
});
