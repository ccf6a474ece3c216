// The schema, as numbered migrations shared by both adapters. A migration is applied once, in
// order, inside a transaction with its row in schema_migrations; adapters serialise concurrent
// starts (SQLite: an immediate write transaction; PostgreSQL: an advisory lock).

export interface Migration {
  version: number
  name: string
  /** Statements in SQL both SQLite and PostgreSQL accept. */
  statements: string[]
}

export const MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  applied_at TEXT NOT NULL
)`

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'audit records, one hash chain per instance',
    statements: [
      `CREATE TABLE audit_records (
        instance_id TEXT NOT NULL,
        seq BIGINT NOT NULL,
        audit_id TEXT NOT NULL,
        stage TEXT NOT NULL CHECK (stage IN ('received', 'completed')),
        recorded_at TEXT NOT NULL,
        body TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL,
        PRIMARY KEY (instance_id, seq)
      )`,
      'CREATE INDEX audit_records_audit_id ON audit_records (audit_id)',
      'CREATE INDEX audit_records_recorded_at ON audit_records (recorded_at)'
    ]
  },
  {
    version: 2,
    name: 'audit record columns to query by',
    statements: [
      'ALTER TABLE audit_records ADD COLUMN action TEXT',
      'ALTER TABLE audit_records ADD COLUMN computation_id TEXT',
      'ALTER TABLE audit_records ADD COLUMN capsule_id TEXT',
      'ALTER TABLE audit_records ADD COLUMN pipeline_id TEXT',
      'ALTER TABLE audit_records ADD COLUMN status INTEGER',
      'CREATE INDEX audit_records_computation ON audit_records (computation_id, recorded_at)',
      'CREATE INDEX audit_records_action ON audit_records (action, recorded_at)'
    ]
  },
  {
    version: 3,
    name: 'service keys, computation owners, audit actor',
    statements: [
      `CREATE TABLE service_keys (
        key_id TEXT PRIMARY KEY,
        subject TEXT NOT NULL,
        groups_json TEXT NOT NULL,
        description TEXT,
        secret_hash TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT,
        revoked_at TEXT,
        last_used_at TEXT
      )`,
      `CREATE TABLE computation_owners (
        computation_id TEXT PRIMARY KEY,
        subject TEXT NOT NULL,
        groups_json TEXT NOT NULL,
        capsule_id TEXT,
        pipeline_id TEXT,
        created_at TEXT NOT NULL
      )`,
      'ALTER TABLE audit_records ADD COLUMN actor TEXT',
      'CREATE INDEX audit_records_actor ON audit_records (actor, recorded_at)'
    ]
  },
  {
    version: 4,
    name: 'idempotency keys',
    statements: [
      `CREATE TABLE idempotency_keys (
        subject TEXT NOT NULL,
        idempotency_key TEXT NOT NULL,
        request_hash TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('in_flight', 'completed', 'unknown')),
        status INTEGER,
        headers_json TEXT,
        body TEXT,
        computation_id TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        PRIMARY KEY (subject, idempotency_key)
      )`,
      'CREATE INDEX idempotency_keys_expires ON idempotency_keys (expires_at)'
    ]
  },
  {
    version: 5,
    name: 'audit records searchable by the run they resume',
    statements: [
      'ALTER TABLE audit_records ADD COLUMN resume_run_id TEXT',
      'CREATE INDEX audit_records_resume_run ON audit_records (resume_run_id, recorded_at)'
    ]
  },
  {
    version: 6,
    name: 'service keys bound to the proxy or to the demo',
    statements: [
      "ALTER TABLE service_keys ADD COLUMN realm TEXT NOT NULL DEFAULT 'proxy' CHECK (realm IN ('proxy', 'demo'))"
    ]
  },
  {
    version: 7,
    name: 'service keys in a namespace of their own',
    statements: [
      // Every key made so far becomes `key:<subject>`: none was made to act as a person.
      "UPDATE service_keys SET subject = 'key:' || subject",
      // An owner recorded so far under the bare subject of a key may be that key's (see
      // policy.ts, ownedBy), and stays 0; every other one, and every one recorded from now on,
      // is 1: its subject is exactly its owner's.
      'ALTER TABLE computation_owners ADD COLUMN namespaced INTEGER NOT NULL DEFAULT 0',
      'UPDATE computation_owners SET namespaced = 1 WHERE subject NOT IN (SELECT substr(subject, 5) FROM service_keys)'
    ]
  }
]

/** Migrations not yet applied, given the versions that are. */
export function pendingMigrations (applied: ReadonlySet<number>): Migration[] {
  return MIGRATIONS.filter((migration) => !applied.has(migration.version))
}
