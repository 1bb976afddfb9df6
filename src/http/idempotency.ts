// Idempotency keys for the ingest endpoint: a retried POST with the same key delivers once.
// Kept in a small SQLite file under dataDir (so they survive a restart) for a day.
//
// better-sqlite3 is synchronous; these are indexed point queries on a tiny table
// (microseconds), like the directory's lookups, so they run inline.
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

export const KEY_TTL_MS = 24 * 60 * 60 * 1000;

export interface StoredOutcome {
  /** Envelope fingerprint: a reused key with another envelope is refused. */
  fingerprint: string;
  /** Per-recipient results as last answered. */
  results: IngestResult[];
}

export interface IngestResult {
  recipient: string;
  status: 'accepted' | 'rejected' | 'deferred';
  code: number;
  enhanced: string;
  message: string;
}

export interface IdempotencyStore {
  get(key: string): StoredOutcome | null;
  put(key: string, outcome: StoredOutcome): void;
  close(): void;
}

export async function openIdempotencyStore(path: string, now: () => number = Date.now): Promise<IdempotencyStore> {
  await mkdir(dirname(path), { recursive: true, mode: 0o750 });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.exec(`CREATE TABLE IF NOT EXISTS idempotency_keys (
    key         TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    results     TEXT NOT NULL,
    created_at  INTEGER NOT NULL
  )`);
  const q = {
    get: db.prepare<[string, number], { fingerprint: string; results: string }>(
      'SELECT fingerprint, results FROM idempotency_keys WHERE key = ? AND created_at > ?',
    ),
    // A retry that completes deferred recipients keeps the key's original age.
    put: db.prepare(
      `INSERT INTO idempotency_keys (key, fingerprint, results, created_at) VALUES (?, ?, ?, ?)
       ON CONFLICT(key) DO UPDATE SET results = excluded.results`,
    ),
    purge: db.prepare('DELETE FROM idempotency_keys WHERE created_at <= ?'),
  };
  const purge = (): void => {
    q.purge.run(now() - KEY_TTL_MS);
  };
  purge();
  const timer = setInterval(purge, 60 * 60 * 1000);
  timer.unref();
  return {
    get(key) {
      const row = q.get.get(key, now() - KEY_TTL_MS);
      return row ? { fingerprint: row.fingerprint, results: JSON.parse(row.results) as IngestResult[] } : null;
    },
    put(key, outcome) {
      q.put.run(key, outcome.fingerprint, JSON.stringify(outcome.results), now());
    },
    close() {
      clearInterval(timer);
      db.close();
    },
  };
}
