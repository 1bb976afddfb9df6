// Who may send as whom (RFC 6409 6.1: the submission server may check that the sender is
// authorised), and how much. The envelope sender and every From: address must be the
// user's own address (also with a +tag), or, with `senders: aliases`, an alias whose
// resolution delivers to this user. A catch-all does not count: it would let a user send
// as every unknown name in the domain.
import type { Directory, UserRecord } from '../directory/types.js';

export type SenderMode = 'own' | 'aliases' | 'any';

export interface SenderPolicyConfig {
  senders: SenderMode;
  maxRecipients: number;
  maxMessagesPerHour: number;
  users: Record<string, { senders?: SenderMode | undefined; extraSenders: string[]; maxRecipients?: number | undefined; maxMessagesPerHour?: number | undefined }>;
}

export interface UserLimits {
  maxRecipients: number;
  maxMessagesPerHour: number;
}

export interface SenderPolicy {
  limits(user: UserRecord): UserLimits;
  mayUse(user: UserRecord, address: string): Promise<boolean>;
}

export function createSenderPolicy(directory: Directory, cfg: SenderPolicyConfig, delimiter: string): SenderPolicy {
  const perUser = new Map(Object.entries(cfg.users).map(([k, v]) => [k.toLowerCase(), v]));

  const base = (address: string): string => {
    const at = address.lastIndexOf('@');
    const local = address.slice(0, at);
    const cut = delimiter ? local.indexOf(delimiter) : -1;
    return cut > 0 ? `${local.slice(0, cut)}@${address.slice(at + 1)}` : address;
  };

  async function isAliasOf(user: UserRecord, address: string): Promise<boolean> {
    const domain = address.slice(address.lastIndexOf('@') + 1);
    const aliases = await directory.listAliases(domain);
    const candidates = new Set([address, base(address)]);
    const alias = aliases.find((a) => candidates.has(a.source));
    if (!alias) return false;
    const res = await directory.resolveRecipient(alias.source);
    return res.kind === 'deliver' && res.users.some((u) => u.address === user.address);
  }

  return {
    limits(user) {
      const o = perUser.get(user.address);
      return {
        maxRecipients: o?.maxRecipients ?? cfg.maxRecipients,
        maxMessagesPerHour: o?.maxMessagesPerHour ?? cfg.maxMessagesPerHour,
      };
    },
    async mayUse(user, address) {
      const a = address.trim().toLowerCase();
      if (a.lastIndexOf('@') <= 0) return false;
      const o = perUser.get(user.address);
      const mode = o?.senders ?? cfg.senders;
      if (mode === 'any') return true;
      if (a === user.address || base(a) === user.address) return true;
      const domain = a.slice(a.lastIndexOf('@'));
      if (o?.extraSenders.some((e) => e.toLowerCase() === a || e.toLowerCase() === domain)) return true;
      return mode === 'aliases' && (await isAliasOf(user, a));
    },
  };
}

/** Messages per user per rolling hour, across all connections of this process. */
export class HourlyLimiter {
  private readonly sent = new Map<string, number[]>();
  constructor(private readonly now: () => number = Date.now) {}

  /** True when the user may submit one more message now. */
  allowed(user: string, limit: number): boolean {
    if (limit === 0) return true;
    return this.recent(user).length < limit;
  }

  record(user: string): void {
    this.recent(user).push(this.now());
  }

  private recent(user: string): number[] {
    const cutoff = this.now() - 3600_000;
    let list = this.sent.get(user);
    if (!list) {
      list = [];
      this.sent.set(user, list);
    }
    while (list.length > 0 && list[0]! < cutoff) list.shift();
    return list;
  }
}
