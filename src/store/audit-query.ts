// The SQL of an audit query, shared by both adapters (they differ only in placeholders).
import type { AuditQuery } from './audit-store.js'

export function auditQuerySql (query: AuditQuery, placeholder: (index: number) => string): { sql: string, params: unknown[] } {
  const conditions: string[] = []
  const params: unknown[] = []
  const compare = (column: string, operator: string, value: unknown): void => {
    if (value === undefined) return
    params.push(value)
    conditions.push(`${column} ${operator} ${placeholder(params.length)}`)
  }
  compare('stage', '=', query.stage)
  compare('action', '=', query.action)
  compare('computation_id', '=', query.computationId)
  compare('capsule_id', '=', query.capsuleId)
  compare('pipeline_id', '=', query.pipelineId)
  compare('resume_run_id', '=', query.resumeRunId)
  compare('actor', '=', query.actor)
  compare('status', '>=', query.statusFrom)
  compare('status', '<=', query.statusTo)
  compare('recorded_at', '>=', query.since)
  compare('recorded_at', '<', query.until)
  if (query.after !== undefined) {
    params.push(query.after.recordedAt, query.after.instanceId, query.after.seq)
    const [at, instance, seq] = [params.length - 2, params.length - 1, params.length].map(placeholder)
    conditions.push(`(recorded_at > ${at} OR (recorded_at = ${at} AND (instance_id > ${instance} OR (instance_id = ${instance} AND seq > ${seq}))))`)
  }
  params.push(query.limit)
  const sql = `SELECT * FROM audit_records${conditions.length === 0 ? '' : ` WHERE ${conditions.join(' AND ')}`}` +
    ` ORDER BY recorded_at, instance_id, seq LIMIT ${placeholder(params.length)}`
  return { sql, params }
}
