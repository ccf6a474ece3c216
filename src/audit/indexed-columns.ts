// The columns an audit record is searched by, copied out of the record (whose JSON text is
// what the chain links): the trail writes them from here, and verification recomputes them from
// the stored body, so an edited column cannot hide a record from a search unnoticed.
import type { AuditRow } from '../store/store.js'

export type IndexedColumns = Pick<AuditRow, 'action' | 'computationId' | 'capsuleId' | 'pipelineId' | 'status' | 'actor' | 'resumeRunId'>

export function indexedColumnsOf (record: Record<string, unknown>): IndexedColumns {
  const resource = (record.resource ?? {}) as Record<string, unknown>
  const actor = (record.actor ?? {}) as Record<string, unknown>
  const text = (value: unknown): string | null => typeof value === 'string' ? value : null
  return {
    action: text(record.action),
    computationId: text(resource.computation_id),
    capsuleId: text(resource.capsule_id),
    pipelineId: text(resource.pipeline_id),
    status: typeof record.status === 'number' ? record.status : null,
    actor: text(actor.subject),
    resumeRunId: text(resource.resume_run_id)
  }
}
