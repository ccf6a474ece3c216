// The idempotency slice on SQLite: the idempotency_keys table, claimed under the file's write lock.
import type Database from 'better-sqlite3'
import { IDEMPOTENCY_COLUMNS, idempotencyValues, settlementValues, toIdempotencyRow, type IdempotencyColumns } from '../idempotency-columns.js'
import type { IdempotencyRow, IdempotencyStore } from '../idempotency-store.js'
import { guarded } from './guarded.js'

export function sqliteIdempotencyStore (db: Database.Database): IdempotencyStore {
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
    }
  }
}
