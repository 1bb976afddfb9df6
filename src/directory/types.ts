// The user directory's typed interface. Everything outside src/directory reaches
// domains, users and aliases only through this; the SQLite implementation is the
// default, and a MariaDB/PostgreSQL one can slot in later behind the same shape.

export interface DomainRecord {
  name: string; // lower-case, IDNA A-label form
  active: boolean;
  createdAt: Date;
}

export interface UserRecord {
  /** `local@domain`, lower-case. */
  address: string;
  localPart: string;
  domain: string;
  /** Stored hash with a Dovecot scheme prefix, e.g. `{ARGON2ID}$argon2id$...`. */
  passwordHash: string;
  quotaMb: number; // 0 = unlimited
  active: boolean;
  createdAt: Date;
}

export interface AliasRecord {
  /** `local@domain`, or `@domain` for a catch-all. Lower-case. */
  source: string;
  destinations: string[];
}

/** Result of resolving one RCPT TO address for inbound delivery. */
export type Resolution =
  | {
      kind: 'deliver';
      /** Local mailboxes that get a copy (deduplicated, active users only). */
      users: UserRecord[];
      /** Non-local alias destinations (forwarding; handled by the relay queue later). */
      external: string[];
    }
  | { kind: 'unknown' } // no such user, alias or catch-all (550 5.1.1)
  | { kind: 'disabled' }; // the address exists but its user or domain is inactive (550 5.2.1)

export interface Directory {
  // Domains
  addDomain(name: string): Promise<DomainRecord>;
  removeDomain(name: string): Promise<void>; // refuses while users/aliases remain
  listDomains(): Promise<DomainRecord[]>;
  getDomain(name: string): Promise<DomainRecord | null>;

  // Users
  addUser(address: string, password: string, opts?: { quotaMb?: number }): Promise<UserRecord>;
  /** Insert a user with an already-hashed password (import from a Dovecot passwd-file). */
  addUserWithHash(address: string, passwordHash: string, opts?: { quotaMb?: number }): Promise<UserRecord>;
  removeUser(address: string): Promise<void>;
  listUsers(domain?: string): Promise<UserRecord[]>;
  getUser(address: string): Promise<UserRecord | null>;
  setPassword(address: string, password: string): Promise<void>;
  setQuota(address: string, quotaMb: number): Promise<void>;
  setActive(address: string, active: boolean): Promise<void>;
  /** Returns the user when the password matches and user and domain are active; null otherwise. */
  authenticate(address: string, password: string): Promise<UserRecord | null>;

  // Aliases
  addAlias(source: string, destinations: string[]): Promise<AliasRecord>;
  removeAlias(source: string, destination?: string): Promise<void>;
  listAliases(domain?: string): Promise<AliasRecord[]>;

  /** Inbound recipient resolution: alias, user, plus-address, catch-all (see directory/resolve.ts). */
  resolveRecipient(address: string): Promise<Resolution>;

  close(): Promise<void>;
}

/** Thrown for the caller's mistakes (bad address, duplicate, missing): the CLI prints the message. */
export class DirectoryError extends Error {
  constructor(
    readonly code: 'invalid' | 'exists' | 'not-found' | 'in-use',
    message: string,
  ) {
    super(message);
    this.name = 'DirectoryError';
  }
}
