// The shared store for several proxy instances: PostgreSQL through a pg pool. Opening migrates the
// schema, then composes the slices (postgres/*.ts), one module per table, over that one pool.
import pg from 'pg'
import { MIGRATIONS_TABLE, pendingMigrations } from './migrations.js'
import { postgresAuditStore } from './postgres/audit.js'
import { postgresIdempotencyStore } from './postgres/idempotency.js'
import { postgresKeyStore } from './postgres/keys.js'
import { postgresOwnershipStore } from './postgres/ownership.js'
import { guarded, inTransaction } from './postgres/pool.js'
import type { Store } from './store.js'

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

/** Serialises migrations across instances starting at once (any fixed 64-bit key will do). */
const MIGRATION_LOCK_KEY = 0x636f5f70726f78

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
    ...postgresAuditStore(pool),
    ...postgresKeyStore(pool),
    ...postgresOwnershipStore(pool),
    ...postgresIdempotencyStore(pool),
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
