// The idempotency slice on PostgreSQL: the idempotency_keys table, claimed under a row lock.
import type pg from 'pg'
import { IDEMPOTENCY_COLUMNS, idempotencyValues, settlementValues, toIdempotencyRow, type IdempotencyColumns } from '../idempotency-columns.js'
import type { IdempotencyStore } from '../idempotency-store.js'
import { guarded, inTransaction } from './pool.js'

export function postgresIdempotencyStore (pool: pg.Pool): IdempotencyStore {
  return {
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
    }
  }
}
