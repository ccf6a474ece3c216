// The audit slice on SQLite: the audit_records table, each batch appended in one IMMEDIATE transaction.
import type Database from 'better-sqlite3'
import { toAuditRow, type AuditColumns } from '../audit-columns.js'
import { auditQuerySql } from '../audit-query.js'
import { confirmStored, type AuditRow, type AuditStore, type ChainHead } from '../audit-store.js'
import { guarded } from './guarded.js'

export function sqliteAuditStore (db: Database.Database): AuditStore {
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

  return {
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
      return guarded('query', () => {
        // Named parameters: the cursor condition uses some values twice.
        const { sql, params } = auditQuerySql(query, (index) => `@p${index}`)
        const named = Object.fromEntries(params.map((value, index) => [`p${index + 1}`, value]))
        return (db.prepare(sql).all(named) as AuditColumns[]).map(toAuditRow)
      })
    },
    async pruneAudit (before, limit) {
      return guarded('prune', () => prune.run(before, limit).changes)
    }
  }
}
