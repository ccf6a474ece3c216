// The audit slice on PostgreSQL: the audit_records table, appended in multi-row batches.
import type pg from 'pg'
import { toAuditRow, type AuditColumns } from '../audit-columns.js'
import { auditQuerySql } from '../audit-query.js'
import { confirmStored, type AuditStore } from '../audit-store.js'
import { guarded, inTransaction } from './pool.js'

const COLUMNS = 15
/** Records per INSERT statement (PostgreSQL allows 65535 parameters). */
const INSERT_CHUNK = 1000

export function postgresAuditStore (pool: pg.Pool): AuditStore {
  return {
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
    }
  }
}
