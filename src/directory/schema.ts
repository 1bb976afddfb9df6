// SQLite schema as an ordered list of migrations; `schema_migrations` records which
// ran. Append new steps, never edit old ones: existing files have already applied them.
import type { Database } from 'better-sqlite3';

const MIGRATIONS: string[] = [
  `
  CREATE TABLE domains (
    name       TEXT PRIMARY KEY,
    active     INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at INTEGER NOT NULL
  );
  CREATE TABLE users (
    address       TEXT PRIMARY KEY,
    local_part    TEXT NOT NULL,
    domain        TEXT NOT NULL REFERENCES domains(name) ON DELETE RESTRICT,
    password_hash TEXT NOT NULL,
    quota_mb      INTEGER NOT NULL CHECK (quota_mb >= 0),
    active        INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at    INTEGER NOT NULL,
    UNIQUE (domain, local_part)
  );
  -- One row per source → destination; source is 'local@domain' or '@domain' (catch-all).
  CREATE TABLE aliases (
    source        TEXT NOT NULL,
    source_domain TEXT NOT NULL REFERENCES domains(name) ON DELETE RESTRICT,
    destination   TEXT NOT NULL,
    position      INTEGER NOT NULL,
    PRIMARY KEY (source, destination)
  );
  CREATE INDEX aliases_domain ON aliases(source_domain);
  `,
];

export function migrate(db: Database): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)');
  const row = db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null };
  const current = row.v ?? 0;
  if (current > MIGRATIONS.length) {
    throw new Error(`directory schema version ${current} is newer than this program (${MIGRATIONS.length})`);
  }
  for (let v = current + 1; v <= MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v - 1]!);
      db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(v, Date.now());
    }).immediate();
  }
}
