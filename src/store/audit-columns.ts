// An audit_records row as both databases return it, and its conversion to an AuditRow.
import type { AuditRow } from './audit-store.js'

export interface AuditColumns {
  instance_id: string
  /** PostgreSQL returns BIGINT as a string. */
  seq: number | string
  audit_id: string
  stage: AuditRow['stage']
  recorded_at: string
  body: string
  prev_hash: string
  hash: string
  action: string | null
  computation_id: string | null
  capsule_id: string | null
  pipeline_id: string | null
  status: number | null
  actor: string | null
  resume_run_id: string | null
}

export function toAuditRow (row: AuditColumns): AuditRow {
  return {
    instanceId: row.instance_id,
    seq: Number(row.seq),
    auditId: row.audit_id,
    stage: row.stage,
    recordedAt: row.recorded_at,
    body: row.body,
    prevHash: row.prev_hash,
    hash: row.hash,
    action: row.action,
    computationId: row.computation_id,
    capsuleId: row.capsule_id,
    pipelineId: row.pipeline_id,
    status: row.status,
    actor: row.actor,
    resumeRunId: row.resume_run_id
  }
}
