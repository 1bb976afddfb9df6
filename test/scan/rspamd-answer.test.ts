// Rspamd's JSON answer → ScanOutcome, for the shapes the real daemon in the other tests does
// not produce on demand: milter blocks in each form Rspamd's protocol allows, header
// injection attempts, custom actions, a raw UTF-8 subject, malformed answers.
import libmime from 'libmime';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { scanSection } from '../../src/config/sections/scan.js';
import { RspamdError } from '../../src/scan/rspamd-http.js';
import { outcomeOf, parseAnswer } from '../../src/scan/rspamd.js';
import { folderFor } from '../../src/scan/spam-policy.js';

const quiet = pino({ level: 'silent' });
const cfg = (over: Record<string, unknown> = {}) => scanSection.parse({ rspamd: { url: 'http://127.0.0.1:1', ...over } }).rspamd;
const answer = (j: unknown) => parseAnswer(Buffer.from(JSON.stringify(j)));
const outcome = (j: Record<string, unknown>, over: Record<string, unknown> = {}) =>
  outcomeOf(answer({ score: 1, required_score: 15, action: 'no action', ...j }), cfg(over), quiet);

describe('Rspamd answer mapping', () => {
  it('milter add_headers in every form, in order; bad names dropped; folding and CR/LF flattened', () => {
    const o = outcome({
      milter: {
        add_headers: {
          'X-Plain': 'plain value',
          'X-Ordered': { value: 'second', order: 2 },
          'X-First': { value: 'first', order: 0 },
          'X-Multi': [{ value: 'm1', order: 1 }, 'm2'],
          'Bad Name': 'dropped',
          'X-Colon:': 'dropped',
          'X-Folded': 'default: False [1.00 / 15.00];\r\n\tSYM_A(1.00)[x];\n\tSYM_B(0.00)',
          'X-Inject': 'a\r\nBcc: victim@example.org',
          'X-Number': { value: 5 },
        },
        remove_headers: { 'X-Old': 0, 'Bad Name': 1, 'X-Spam-Flag': 1 },
      },
    });
    const added = o.edits.add.filter(([n]) => !n.startsWith('X-Spam-'));
    expect(added.map(([n]) => n)).toEqual(['X-Plain', 'X-First', 'X-Multi', 'X-Folded', 'X-Inject', 'X-Multi', 'X-Ordered']);
    for (const [, v] of added) expect(v).not.toMatch(/[\r\n]/);
    expect(Object.fromEntries(added)['X-Folded']).toBe('default: False [1.00 / 15.00];\tSYM_A(1.00)[x];\tSYM_B(0.00)');
    expect(Object.fromEntries(added)['X-Inject']).toBe('a Bcc: victim@example.org');
    expect(o.edits.remove).toEqual(['X-Spam-Flag', 'X-Spam-Status', 'X-Spam-Score', 'X-Spam-Action', 'X-Old']);
  });

  it('an X-Spam-* header from Rspamd\'s milter block replaces ours', () => {
    const o = outcome({ action: 'add header', score: 7, milter: { add_headers: { 'X-Spam-Status': 'Yes, score=7.00' } } });
    expect(o.edits.add.filter(([n]) => n === 'X-Spam-Status')).toEqual([['X-Spam-Status', 'Yes, score=7.00']]);
  });

  it('reject: 550 5.7.1 with Rspamd\'s message made safe; rejectAction junk files it as spam', () => {
    const o = outcome({ action: 'reject', score: 20, messages: { smtp_message: 'Spam\r\n250 OK\u00e9 bye' } });
    expect(o.refuse).toEqual({ code: 550, enhanced: '5.7.1', text: 'Spam 250 OK bye' });
    const junk = outcome({ action: 'reject', score: 20 }, { rejectAction: 'junk' });
    expect(junk.refuse).toBeUndefined();
    expect(junk.edits.add).toContainEqual(['X-Spam-Flag', 'YES']);
  });

  it('soft reject and greylist: 451 4.7.1', () => {
    expect(outcome({ action: 'soft reject' }).refuse).toEqual({ code: 451, enhanced: '4.7.1', text: 'Try again later' });
    expect(outcome({ action: 'greylist', messages: { smtp_message: 'Greylisted, come back in 5 minutes' } }).refuse).toEqual({
      code: 451,
      enhanced: '4.7.1',
      text: 'Greylisted, come back in 5 minutes',
    });
  });

  it('a custom action is treated as add header', () => {
    const o = outcome({ action: 'my quarantine', score: 9 });
    expect(o.spam?.action).toBe('add header');
    expect(o.edits.add).toContainEqual(['X-Spam-Action', 'my quarantine']);
    expect(o.edits.add).toContainEqual(['X-Spam-Flag', 'YES']);
  });

  it('rewrite subject: raw UTF-8 from Rspamd is encoded; ASCII kept; control characters flattened', () => {
    const utf8 = outcome({ action: 'rewrite subject', score: 8, subject: '[SPAM] 会議の資料' }).edits.subject!;
    expect(utf8).toMatch(/^[\x20-\x7e]+$/);
    expect(libmime.decodeWords(utf8)).toBe('[SPAM] 会議の資料');
    expect(outcome({ action: 'rewrite subject', score: 8, subject: '[SPAM]\r\nBcc: x hi' }).edits.subject).toBe('[SPAM] Bcc: x hi');
    expect(outcome({ action: 'add header', score: 8, subject: 'ignored' }).edits.subject).toBeUndefined();
  });

  it('malformed answers are RspamdErrors (onFailure applies), never anything else', () => {
    const bad: Array<[string, string]> = [
      ['not json', 'invalid JSON'],
      ['[1,2]', 'invalid JSON'],
      ['null', 'invalid JSON'],
      ['{"error":"Message is too big"}', 'error answer'],
      ['{"action":"no action"}', 'answer without action or score'],
      ['{"score":1}', 'answer without action or score'],
      ['{"action":"no action","score":"1"}', 'answer without action or score'],
    ];
    for (const [text, reason] of bad) {
      expect(() => parseAnswer(Buffer.from(text)), text).toThrow(RspamdError);
      try {
        parseAnswer(Buffer.from(text));
      } catch (err) {
        expect((err as RspamdError).reason).toBe(reason);
      }
    }
    // Random bytes and truncations of a real answer: only RspamdError, or a valid answer.
    const real = '{"action":"add header","score":6.5,"required_score":15,"milter":{"add_headers":{"X-A":{"value":"v","order":0}},"remove_headers":{"X-B":0}}}';
    for (let i = 0; i <= real.length; i++) {
      try {
        const a = parseAnswer(Buffer.from(real.slice(0, i)));
        expect(i).toBe(real.length);
        expect(a.milterAdd).toEqual([['X-A', 'v']]);
      } catch (err) {
        expect(err).toBeInstanceOf(RspamdError);
      }
    }
  });

  it('per-user settings match the address case-insensitively, in the key and in the recipient', () => {
    const settings = cfg({ users: { 'Bob@Example.TEST': { junk: false }, 'carol@example.test': { threshold: 3 } } });
    const spam = outcome({ action: 'add header', score: 6 });
    const ham = outcome({ action: 'no action', score: 3.5 });
    expect(folderFor('bob@example.test', spam, settings)).toBe('INBOX');
    expect(folderFor('alice@example.test', spam, settings)).toBe('Junk');
    expect(folderFor('Carol@example.test', ham, settings)).toBe('Junk'); // 3.5 >= her 3
    expect(folderFor('alice@example.test', ham, settings)).toBe('INBOX');
    expect(folderFor('alice@example.test', { edits: { add: [], remove: [] } }, settings)).toBe('INBOX'); // not scanned
  });
});
