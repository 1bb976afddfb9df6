// The per-session mailbox view: sequence numbers stay put until the client is told.
import { describe, expect, it } from 'vitest';
import { MailboxView, type ViewMessage } from '../../src/imap/mailbox-view.js';

const d = new Date('2024-01-02T03:04:05Z');
const msg = (uid: number, flags: string[] = []): ViewMessage => ({ uid, flags, internalDate: d, size: 10, recent: false });
const listing = (uids: number[], flags: Record<number, string[]> = {}) =>
  uids.map((uid) => ({ uid, flags: flags[uid] ?? [], internalDate: d, size: 10 }));

describe('MailboxView', () => {
  it('holds expunged messages at their numbers until a command that allows EXPUNGE', () => {
    const v = new MailboxView([msg(1), msg(2), msg(3), msg(4)], 7, 5);
    v.applyExpunge([2, 4]);
    expect(v.flush(false)).toEqual([]);
    expect(v.count).toBe(4);
    expect(v.at(3)!.uid).toBe(3);
    expect(v.isExpungePending(2)).toBe(true);
    // Highest first: each number is valid when the client reads it.
    expect(v.flush(true)).toEqual([
      { kind: 'expunge', seq: 4, uid: 4 },
      { kind: 'expunge', seq: 2, uid: 2 },
    ]);
    expect(v.all().map((m) => m.uid)).toEqual([1, 3]);
    expect(v.flush(true)).toEqual([]);
  });

  it('announces appends with EXISTS and RECENT, and flag changes as FETCH, even when EXPUNGE must wait', () => {
    const v = new MailboxView([msg(1), msg(2)], 7, 3);
    v.applyExpunge([1]);
    v.applyFlags(2, ['\\Seen']);
    v.reconcile(listing([2, 3, 4], { 2: ['\\Seen'], 4: ['$Junk'] }), 5, (uids) => new Set(uids.filter((u) => u === 4)));
    const out = v.flush(false);
    expect(out).toEqual([
      { kind: 'exists', count: 4 },
      { kind: 'recent', count: 1 },
      { kind: 'flags', keywords: ['$Junk'] },
      { kind: 'fetch', seq: 2, uid: 2, flags: ['\\Seen'], recent: false, modseq: 0 },
    ]);
    expect(v.at(1)!.uid).toBe(1); // still there, expunge pending
    expect(v.flush(true)).toEqual([{ kind: 'expunge', seq: 1, uid: 1 }]);
    expect(v.seqOf(4)).toBe(3);
  });

  it('does not repeat a flag change the client was already sent', () => {
    const v = new MailboxView([msg(1)], 7, 2);
    v.applyFlags(1, ['\\Flagged']);
    v.announced(1);
    expect(v.flush(true)).toEqual([]);
    v.applyFlags(1, ['\\Flagged']); // the bus echoes our own STORE: no change
    expect(v.flush(true)).toEqual([]);
  });

  it('resolves sequence sets strictly and UID sets leniently, up to 4294967295', () => {
    const v = new MailboxView([msg(3), msg(9), msg(4294967295)], 7, 4294967296);
    expect(v.resolve([{ from: 1, to: '*' }], false)).toEqual([1, 2, 3]);
    expect(v.resolve([{ from: '*', to: 2 }], false)).toEqual([2, 3]);
    expect(() => v.resolve([{ from: 4, to: 4 }], false)).toThrow(/Invalid message sequence number 4/);
    expect(v.resolve([{ from: 4, to: 4294967295 }], true)).toEqual([2, 3]);
    expect(v.resolve([{ from: 10, to: 20 }], true)).toEqual([]);
    expect(v.resolve([{ from: '*', to: '*' }], true)).toEqual([3]);
    const empty = new MailboxView([], 7, 1);
    expect(empty.resolve([{ from: '*', to: '*' }], true)).toEqual([]);
    expect(() => empty.resolve([{ from: 1, to: '*' }], false)).toThrow(/No messages/);
  });

  it('drops an append that is expunged before the client heard of it', () => {
    const v = new MailboxView([msg(1)], 7, 2);
    v.reconcile(listing([1, 2]), 3, () => new Set());
    v.applyExpunge([2]);
    expect(v.flush(true)).toEqual([]);
    expect(v.count).toBe(1);
  });
});
