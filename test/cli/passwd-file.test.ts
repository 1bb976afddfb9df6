import { describe, expect, it } from 'vitest';
import { parsePasswdFile, quotaFromExtra } from '../../src/cli/passwd-file.js';

describe('parsePasswdFile', () => {
  it('takes address and hash as they are, and the quota from extra fields', () => {
    const text = [
      '# comment',
      '',
      'Alice@Example.com:{SHA512-CRYPT}$6$abc$def:5000:5000::/home/alice::userdb_quota_rule=*:storage=1G',
      'bob@example.com:{PLAIN}pw:::::: userdb_mail=maildir:~/Maildir userdb_quota_rule=*:storage=512M',
      'carol@example.com:{BLF-CRYPT}$2y$05$iHo86g2qVRB6rLBZpSFfiuyo2CtdBbJmwNxbtrT5G1Et11VarQp2q',
    ].join('\n');
    const { entries, errors } = parsePasswdFile(text);
    expect(errors).toEqual([]);
    expect(entries).toEqual([
      { line: 3, address: 'alice@example.com', passwordHash: '{SHA512-CRYPT}$6$abc$def', quotaMb: 1024 },
      { line: 4, address: 'bob@example.com', passwordHash: '{PLAIN}pw', quotaMb: 512 },
      { line: 5, address: 'carol@example.com', passwordHash: '{BLF-CRYPT}$2y$05$iHo86g2qVRB6rLBZpSFfiuyo2CtdBbJmwNxbtrT5G1Et11VarQp2q' },
    ]);
  });

  it('reports every bad line with its number', () => {
    const { errors } = parsePasswdFile(['../x@example.com:{PLAIN}a', 'a@example.com:nohash', 'b@example.com:{MD5}x', 'c@example.com:{PLAIN}a', 'c@example.com:{PLAIN}b'].join('\n'));
    expect(errors).toHaveLength(4);
    expect(errors[0]).toMatch(/^line 1: invalid address/);
    expect(errors[1]).toMatch(/^line 2: .*scheme/);
    expect(errors[2]).toMatch(/^line 3: .*scheme/);
    expect(errors[3]).toMatch(/^line 5: c@example\.com appears twice/);
  });
});

describe('quotaFromExtra', () => {
  it.each([
    ['userdb_quota_rule=*:storage=1G', 1024],
    ['quota_rule=*:storage=2048', 2], // Dovecot: bare storage= is kilobytes
    ['userdb_quota_rule=*:bytes=1048576', 1],
    ['userdb_quota_rule=*:storage=0', 0],
    ['userdb_quota_storage_size=3G', 3072],
    ['userdb_quota_rule=Trash:storage=+100M', undefined],
    ['userdb_mail=maildir:~/Maildir', undefined],
    ['', undefined],
  ])('%s → %s', (extra, mb) => {
    expect(quotaFromExtra(extra)).toBe(mb);
  });

  it('refuses a size it cannot read', () => {
    expect(() => quotaFromExtra('userdb_quota_rule=*:storage=10%')).toThrow(/size/);
  });
});
