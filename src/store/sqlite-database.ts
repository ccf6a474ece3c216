// The default store's database work: one SQLite file (better-sqlite3, synchronous), in WAL mode,
// created on first open. It runs in a worker thread of its own (sqlite.ts, sqlite-worker.ts), so a
// locked or slow disk never stalls the event loop.
import { closeSync, mkdirSync, openSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import { toAuditRow, type AuditColumns } from './audit-columns.js'
import {
  OWNER_COLUMNS, OWNER_LOOKUP_CHUNK, SERVICE_KEY_COLUMNS, ownerValues, serviceKeyValues, toOwnerRow, toServiceKeyRow,
  type OwnerColumns, type ServiceKeyColumns
} from './identity-columns.js'
import {
  IDEMPOTENCY_COLUMNS, idempotencyValues, settlementValues, toIdempotencyRow, type IdempotencyColumns
} from './idempotency-columns.js'
import { auditQuerySql } from './audit-query.js'
import { MIGRATIONS_TABLE, pendingMigrations } from './migrations.js'
import { confirmStored } from './audit-store.js'
import { StoreError, type AuditRow, type ChainHead, type IdempotencyRow, type OwnerRow, type Store } from './store.js'

/** Runs one store operation, turning any database failure into a StoreError. */
function guarded<T> (what: string, operation: () => T): T {
  try {
    return operation()
  } catch (error) {
    throw new StoreError(`SQLite store: ${what} failed`, { cause: error })
  }
}

export function openSqliteDatabase (path: string): Store {
  const db = guarded('open', () => {
    if (path !== ':memory:') {
      // Owner-only: the trail names callers and computations, and the file holds key hashes.
      // A folder made here is 0700; the file is made 0600 before SQLite opens it, and SQLite
      // gives its -wal and -shm files the database file's permissions.
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
      closeSync(openSync(path, 'a', 0o600))
    }
    const database = new Database(path)
    database.pragma('journal_mode = WAL')
    // Durable on commit: a record the proxy acted on must survive a crash of the machine.
    database.pragma('synchronous = FULL')
    database.pragma('busy_timeout = 5000')
    return database
  })

  guarded('migrate', () => {
    db.exec(MIGRATIONS_TABLE)
    // IMMEDIATE takes the write lock first, so two processes opening one file migrate in turn.
    db.transaction(() => {
      const applied = new Set((db.prepare('SELECT version FROM schema_migrations').all() as Array<{ version: number }>).map((row) => row.version))
      for (const migration of pendingMigrations(applied)) {
        for (const statement of migration.statements) db.exec(statement)
        db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)')
          .run(migration.version, migration.name, new Date().toISOString())
      }
    }).immediate()
  })

  const insert = db.prepare(`INSERT INTO audit_records
    (instance_id, seq, audit_id, stage, recorded_at, body, prev_hash, hash, action, computation_id, capsule_id, pipeline_id, status, actor, resume_run_id)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (instance_id, seq) DO NOTHING`)
  const storedHash = db.prepare('SELECT hash FROM audit_records WHERE instance_id = ? AND seq = ?').pluck()
  // Bound by position: by name, better-sqlite3 looks each parameter up on the row (~1 µs a record).
  const appendAll = db.transaction((rows: readonly AuditRow[]) => {
    for (const row of rows) {
      const { changes } = insert.run(row.instanceId, row.seq, row.auditId, row.stage, row.recordedAt, row.body, row.prevHash, row.hash,
        row.action, row.computationId, row.capsuleId, row.pipelineId, row.status, row.actor, row.resumeRunId)
      if (changes === 0) confirmStored(row, storedHash.get(row.instanceId, row.seq) as string)
    }
  })
  const head = db.prepare('SELECT seq, hash FROM audit_records WHERE instance_id = ? ORDER BY seq DESC LIMIT 1')
  const range = db.prepare('SELECT * FROM audit_records WHERE instance_id = ? AND seq > ? ORDER BY seq LIMIT ?')
  const instances = db.prepare('SELECT DISTINCT instance_id FROM audit_records ORDER BY instance_id')
  const prune = db.prepare(`DELETE FROM audit_records WHERE rowid IN
    (SELECT rowid FROM audit_records WHERE recorded_at < ? ORDER BY recorded_at, instance_id, seq LIMIT ?)`)
  const insertKey = db.prepare(`INSERT INTO service_keys (${SERVICE_KEY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
  const findKey = db.prepare('SELECT * FROM service_keys WHERE key_id = ?')
  const listKeys = db.prepare('SELECT * FROM service_keys ORDER BY created_at, key_id')
  const revokeKey = db.prepare('UPDATE service_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL')
  const touchKey = db.prepare('UPDATE service_keys SET last_used_at = ? WHERE key_id = ?')
  const insertOwner = db.prepare(`INSERT INTO computation_owners (${OWNER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (computation_id) DO NOTHING`)
  // Prepared once per number of ids (at most OWNER_LOOKUP_CHUNK of them): every call on one
  // computation asks with one id, and preparing costs more than the lookup itself.
  const ownerLookups = new Map<number, Database.Statement>()
  const ownerLookup = (ids: number): Database.Statement => {
    let statement = ownerLookups.get(ids)
    if (statement === undefined) {
      statement = db.prepare(`SELECT * FROM computation_owners WHERE computation_id IN (${Array.from({ length: ids }, () => '?').join(', ')})`)
      ownerLookups.set(ids, statement)
    }
    return statement
  }
  const dropExpiredClaim = db.prepare('DELETE FROM idempotency_keys WHERE subject = ? AND idempotency_key = ? AND expires_at <= ?')
  const insertClaim = db.prepare(`INSERT INTO idempotency_keys (${IDEMPOTENCY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (subject, idempotency_key) DO NOTHING`)
  const findClaim = db.prepare('SELECT * FROM idempotency_keys WHERE subject = ? AND idempotency_key = ?')
  // Run in one IMMEDIATE transaction, which holds the file's write lock throughout: the row read
  // back is the one that refused the insert, even with other processes on the file.
  const claim = db.transaction((row: IdempotencyRow): IdempotencyRow | undefined => {
    dropExpiredClaim.run(row.subject, row.key, row.createdAt)
    if (insertClaim.run(idempotencyValues(row)).changes === 1) return undefined
    return toIdempotencyRow(findClaim.get(row.subject, row.key) as IdempotencyColumns)
  })
  const settleClaim = db.prepare(`UPDATE idempotency_keys
    SET state = ?, status = ?, headers_json = ?, body = ?, computation_id = ?, updated_at = ?
    WHERE subject = ? AND idempotency_key = ? AND state = 'in_flight'`)
  const releaseClaim = db.prepare(`DELETE FROM idempotency_keys WHERE subject = ? AND idempotency_key = ? AND state = 'in_flight'
    AND (? IS NULL OR created_at = ?)`)
  const pruneClaims = db.prepare(`DELETE FROM idempotency_keys WHERE rowid IN
    (SELECT rowid FROM idempotency_keys WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)`)

  return {
    kind: 'sqlite',
    async appendAudit (rows) {
      guarded('append', () => appendAll.immediate(rows))
    },
    async chainHead (instanceId) {
      return guarded('read the chain head', () => head.get(instanceId) as ChainHead | undefined)
    },
    async readChain (instanceId, afterSeq, limit) {
      return guarded('read the chain', () => (range.all(instanceId, afterSeq, limit) as AuditColumns[]).map(toAuditRow))
    },
    async chainInstances () {
      return guarded('list chains', () => (instances.all() as Array<{ instance_id: string }>).map((row) => row.instance_id))
    },
    async queryAudit (query) {
      // Named parameters: the cursor condition uses some values twice.
      const { sql, params } = auditQuerySql(query, (index) => `@p${index}`)
      const named = Object.fromEntries(params.map((value, index) => [`p${index + 1}`, value]))
      return guarded('query', () => (db.prepare(sql).all(named) as AuditColumns[]).map(toAuditRow))
    },
    async pruneAudit (before, limit) {
      return guarded('prune', () => prune.run(before, limit).changes)
    },
    async createServiceKey (row) {
      guarded('create a service key', () => insertKey.run(serviceKeyValues(row)))
    },
    async findServiceKey (keyId) {
      const found = guarded('find a service key', () => findKey.get(keyId) as ServiceKeyColumns | undefined)
      return found === undefined ? undefined : toServiceKeyRow(found)
    },
    async listServiceKeys () {
      return guarded('list service keys', () => (listKeys.all() as ServiceKeyColumns[]).map(toServiceKeyRow))
    },
    async revokeServiceKey (keyId, at) {
      return guarded('revoke a service key', () => revokeKey.run(at, keyId).changes === 1)
    },
    async touchServiceKey (keyId, at) {
      guarded('record a service key\'s use', () => touchKey.run(at, keyId))
    },
    async recordOwner (row) {
      guarded('record an owner', () => insertOwner.run(ownerValues(row)))
    },
    async ownersOf (computationIds) {
      return guarded('look up owners', () => {
        const owners = new Map<string, OwnerRow>()
        for (let start = 0; start < computationIds.length; start += OWNER_LOOKUP_CHUNK) {
          const chunk = computationIds.slice(start, start + OWNER_LOOKUP_CHUNK)
          const rows = ownerLookup(chunk.length).all(chunk) as OwnerColumns[]
          for (const row of rows) owners.set(row.computation_id, toOwnerRow(row))
        }
        return owners
      })
    },
    async claimIdempotencyKey (row) {
      return guarded('claim an idempotency key', () => claim.immediate(row))
    },
    async settleIdempotencyKey (subject, key, outcome) {
      guarded('settle an idempotency key', () => settleClaim.run(...settlementValues(outcome), subject, key))
    },
    async releaseIdempotencyKey (subject, key, claimedAt) {
      guarded('release an idempotency key', () => releaseClaim.run(subject, key, claimedAt ?? null, claimedAt ?? null))
    },
    async pruneIdempotencyKeys (before, limit) {
      return guarded('prune idempotency keys', () => pruneClaims.run(before, limit).changes)
    },
    async ping () {
      guarded('ping', () => db.prepare('SELECT 1').get())
    },
    async close () {
      if (db.open) db.close()
    }
  }
}
