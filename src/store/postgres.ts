// The shared store for several proxy instances: PostgreSQL through a pg pool.
import pg from 'pg'
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
import { StoreError, type OwnerRow, type Store } from './store.js'

export interface PostgresStoreOptions {
  connectionString: string
  /** A schema to keep the tables in (created if missing); the connection's default otherwise. */
  schema?: string
  /** Pool size; default 10. */
  connections?: number
  /**
   * The most one query, or the wait for a pooled connection, may take, client-side (default
   * 5000 ms): a connection that stops answering without a reset is given up and replaced, and the
   * caller gets a StoreError instead of waiting for ever.
   */
  timeoutMs?: number
}

export const DEFAULT_STORE_TIMEOUT_MS = 5_000

const COLUMNS = 15
/** Records per INSERT statement (PostgreSQL allows 65535 parameters). */
const INSERT_CHUNK = 1000

/** Serialises migrations across instances starting at once (any fixed 64-bit key will do). */
const MIGRATION_LOCK_KEY = 0x636f5f70726f78

async function guarded<T> (what: string, operation: () => Promise<T>): Promise<T> {
  try {
    return await operation()
  } catch (error) {
    throw new StoreError(`PostgreSQL store: ${what} failed`, { cause: error })
  }
}

/** Runs `work` in one transaction on one pooled connection. */
async function inTransaction<T> (pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect()
  // A connection lost while checked out also emits 'error' on the client: unheard, it would
  // crash the process. The failing query rejects as well, which is what is acted on.
  const ignore = (): void => {}
  client.on('error', ignore)
  try {
    await client.query('BEGIN')
    const result = await work(client)
    await client.query('COMMIT')
    client.off('error', ignore)
    client.release()
    return result
  } catch (error) {
    // Destroyed, not rolled back: the connection may be the reason (stalled, cut), and a
    // ROLLBACK on it would wait out another timeout. Closing it ends the transaction server-side.
    client.off('error', ignore)
    client.release(true)
    throw error
  }
}

export async function openPostgresStore (options: PostgresStoreOptions): Promise<Store> {
  const { schema } = options
  if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new TypeError(`invalid schema name ${schema}`)
  const timeoutMs = options.timeoutMs ?? DEFAULT_STORE_TIMEOUT_MS
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.connections ?? 10,
    // Client-side bounds: the server cannot enforce its own on a query it never receives.
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs,
    // The server's bounds, for the other side of a stalled connection: a statement, or a
    // transaction whose client vanished mid-way (holding its locks), ends on its own.
    statement_timeout: timeoutMs,
    idle_in_transaction_session_timeout: 2 * timeoutMs,
    // A peer that vanished without a reset is noticed on an idle connection, too.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    ...(schema === undefined ? {} : { options: `-c search_path=${schema}` })
  })
  // An idle connection dropped by the server must not crash the process; the next query reconnects.
  pool.on('error', () => {})

  await guarded('migrate', async () => {
    await inTransaction(pool, async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY])
      if (schema !== undefined) await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`)
      await client.query(MIGRATIONS_TABLE)
      const applied = new Set((await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((row) => row.version))
      for (const migration of pendingMigrations(applied)) {
        for (const statement of migration.statements) await client.query(statement)
        await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)',
          [migration.version, migration.name, new Date().toISOString()])
      }
    })
  }).catch(async (error: unknown) => {
    await pool.end()
    throw error
  })

  let closed = false
  return {
    kind: 'postgres',
    async appendAudit (rows) {
      await guarded('append', async () => {
        // One multi-row INSERT per chunk: a batch costs one round trip, not one per record.
        await inTransaction(pool, async (client) => {
          for (let start = 0; start < rows.length; start += INSERT_CHUNK) {
            const chunk = rows.slice(start, start + INSERT_CHUNK)
            const values = chunk.map((_, index) => `(${Array.from({ length: COLUMNS }, (_, column) => `$${index * COLUMNS + column + 1}`).join(', ')})`)
            const inserted = await client.query(`INSERT INTO audit_records
              (instance_id, seq, audit_id, stage, recorded_at, body, prev_hash, hash, action, computation_id, capsule_id, pipeline_id, status, actor, resume_run_id)
              VALUES ${values.join(', ')} ON CONFLICT (instance_id, seq) DO NOTHING`,
            chunk.flatMap((row) => [row.instanceId, row.seq, row.auditId, row.stage, row.recordedAt, row.body, row.prevHash, row.hash,
              row.action, row.computationId, row.capsuleId, row.pipelineId, row.status, row.actor, row.resumeRunId]))
            if (inserted.rowCount === chunk.length) continue
            // Some were there already: the same records committed by an attempt whose answer was
            // lost, or another writer's. Only the former may pass.
            const { rows: stored } = await client.query<{ instance_id: string, seq: string, hash: string }>(
              'SELECT instance_id, seq, hash FROM audit_records WHERE (instance_id, seq) IN (SELECT * FROM unnest($1::text[], $2::bigint[]))',
              [chunk.map((row) => row.instanceId), chunk.map((row) => row.seq)])
            const hashes = new Map(stored.map((row) => [`${row.instance_id} ${row.seq}`, row.hash]))
            for (const row of chunk) confirmStored(row, hashes.get(`${row.instanceId} ${row.seq}`) as string)
          }
        })
      })
    },
    async chainHead (instanceId) {
      return await guarded('read the chain head', async () => {
        const { rows } = await pool.query<{ seq: string, hash: string }>(
          'SELECT seq, hash FROM audit_records WHERE instance_id = $1 ORDER BY seq DESC LIMIT 1', [instanceId])
        const [row] = rows
        return row === undefined ? undefined : { seq: Number(row.seq), hash: row.hash }
      })
    },
    async readChain (instanceId, afterSeq, limit) {
      return await guarded('read the chain', async () => {
        const { rows } = await pool.query<AuditColumns>(
          'SELECT * FROM audit_records WHERE instance_id = $1 AND seq > $2 ORDER BY seq LIMIT $3', [instanceId, afterSeq, limit])
        return rows.map(toAuditRow)
      })
    },
    async chainInstances () {
      return await guarded('list chains', async () => {
        const { rows } = await pool.query<{ instance_id: string }>('SELECT DISTINCT instance_id FROM audit_records ORDER BY instance_id')
        return rows.map((row) => row.instance_id)
      })
    },
    async queryAudit (query) {
      return await guarded('query', async () => {
        const { sql, params } = auditQuerySql(query, (index) => `$${index}`)
        return (await pool.query<AuditColumns>(sql, params)).rows.map(toAuditRow)
      })
    },
    async pruneAudit (before, limit) {
      return await guarded('prune', async () => {
        const result = await pool.query(`DELETE FROM audit_records WHERE (instance_id, seq) IN
          (SELECT instance_id, seq FROM audit_records WHERE recorded_at < $1 ORDER BY recorded_at, instance_id, seq LIMIT $2)`, [before, limit])
        return Number(result.rowCount)
      })
    },
    async createServiceKey (row) {
      await guarded('create a service key', async () => {
        await pool.query(`INSERT INTO service_keys (${SERVICE_KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, serviceKeyValues(row))
      })
    },
    async findServiceKey (keyId) {
      return await guarded('find a service key', async () => {
        const [found] = (await pool.query<ServiceKeyColumns>('SELECT * FROM service_keys WHERE key_id = $1', [keyId])).rows
        return found === undefined ? undefined : toServiceKeyRow(found)
      })
    },
    async listServiceKeys () {
      return await guarded('list service keys', async () =>
        (await pool.query<ServiceKeyColumns>('SELECT * FROM service_keys ORDER BY created_at, key_id')).rows.map(toServiceKeyRow))
    },
    async revokeServiceKey (keyId, at) {
      return await guarded('revoke a service key', async () =>
        (await pool.query('UPDATE service_keys SET revoked_at = $1 WHERE key_id = $2 AND revoked_at IS NULL', [at, keyId])).rowCount === 1)
    },
    async touchServiceKey (keyId, at) {
      await guarded('record a service key\'s use', async () => {
        await pool.query('UPDATE service_keys SET last_used_at = $1 WHERE key_id = $2', [at, keyId])
      })
    },
    async recordOwner (row) {
      await guarded('record an owner', async () => {
        await pool.query(`INSERT INTO computation_owners (${OWNER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (computation_id) DO NOTHING`, ownerValues(row))
      })
    },
    async ownersOf (computationIds) {
      return await guarded('look up owners', async () => {
        const owners = new Map<string, OwnerRow>()
        for (let start = 0; start < computationIds.length; start += OWNER_LOOKUP_CHUNK) {
          const chunk = computationIds.slice(start, start + OWNER_LOOKUP_CHUNK)
          const { rows } = await pool.query<OwnerColumns>('SELECT * FROM computation_owners WHERE computation_id = ANY($1)', [chunk])
          for (const row of rows) owners.set(row.computation_id, toOwnerRow(row))
        }
        return owners
      })
    },
    async claimIdempotencyKey (row) {
      return await guarded('claim an idempotency key', async () => await inTransaction(pool, async (client) => {
        await client.query('DELETE FROM idempotency_keys WHERE subject = $1 AND idempotency_key = $2 AND expires_at <= $3',
          [row.subject, row.key, row.createdAt])
        // Not DO NOTHING: that leaves the existing row unlocked, so its holder could release it
        // before the SELECT below and the claim would find neither its own row nor another.
        // DO UPDATE ... WHERE false updates nothing but locks that row until this transaction ends.
        const inserted = await client.query(`INSERT INTO idempotency_keys (${IDEMPOTENCY_COLUMNS})
          VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
          ON CONFLICT (subject, idempotency_key) DO UPDATE SET state = idempotency_keys.state WHERE false
          RETURNING subject`, idempotencyValues(row))
        if (inserted.rowCount === 1) return undefined
        const { rows } = await client.query<IdempotencyColumns>('SELECT * FROM idempotency_keys WHERE subject = $1 AND idempotency_key = $2',
          [row.subject, row.key])
        return toIdempotencyRow(rows[0] as IdempotencyColumns)
      }))
    },
    async settleIdempotencyKey (subject, key, outcome) {
      await guarded('settle an idempotency key', async () => {
        await pool.query(`UPDATE idempotency_keys
          SET state = $1, status = $2, headers_json = $3, body = $4, computation_id = $5, updated_at = $6
          WHERE subject = $7 AND idempotency_key = $8 AND state = 'in_flight'`, [...settlementValues(outcome), subject, key])
      })
    },
    async releaseIdempotencyKey (subject, key, claimedAt) {
      await guarded('release an idempotency key', async () => {
        await pool.query(`DELETE FROM idempotency_keys WHERE subject = $1 AND idempotency_key = $2 AND state = 'in_flight'
          AND ($3::text IS NULL OR created_at = $3)`, [subject, key, claimedAt ?? null])
      })
    },
    async pruneIdempotencyKeys (before, limit) {
      return await guarded('prune idempotency keys', async () => {
        const result = await pool.query(`DELETE FROM idempotency_keys WHERE (subject, idempotency_key) IN
          (SELECT subject, idempotency_key FROM idempotency_keys WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2)`, [before, limit])
        return Number(result.rowCount)
      })
    },
    async ping () {
      await guarded('ping', async () => { await pool.query('SELECT 1') })
    },
    async close () {
      if (closed) return
      closed = true
      await pool.end()
    }
  }
}
