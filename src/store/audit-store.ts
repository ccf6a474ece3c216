// The audit slice of the store: the hash-chained records each instance appends, read back by
// verification, queried by GET /audit/events and pruned by retention.

/** One audit record as stored: a link in its instance's hash chain. */
export interface AuditRow {
  /** The proxy instance whose chain this record belongs to. */
  instanceId: string
  /** Position in that chain, from 1, without gaps. */
  seq: number
  auditId: string
  stage: 'received' | 'completed'
  /** ISO-8601 UTC. */
  recordedAt: string
  /** The record as JSON: exactly the text that was hashed (verification reads it as it is). */
  body: string
  /** The previous record's hash in this chain (the chain's anchor for seq 1). */
  prevHash: string
  hash: string
  /** Copied out of the body so records can be queried by them (the body stays what is hashed). */
  action: string | null
  computationId: string | null
  capsuleId: string | null
  pipelineId: string | null
  status: number | null
  /** The caller's subject, null where no caller was identified. */
  actor: string | null
  /** The computation a run resumes (records written before this column existed have null). */
  resumeRunId: string | null
}

/** What GET /audit/events may ask for; every field narrows the answer. */
export interface AuditQuery {
  stage?: AuditRow['stage']
  action?: string
  computationId?: string
  capsuleId?: string
  pipelineId?: string
  resumeRunId?: string
  actor?: string
  /** Status range, inclusive, e.g. 500 to 599. */
  statusFrom?: number
  statusTo?: number
  /** ISO-8601 bounds on recordedAt: since inclusive, until exclusive. */
  since?: string
  until?: string
  /** Continue after this record, in (recordedAt, instanceId, seq) order. */
  after?: { recordedAt: string, instanceId: string, seq: number }
  limit: number
}

export interface ChainHead {
  seq: number
  hash: string
}

export interface AuditStore {
  /**
   * Appends records atomically: all or none. Idempotent: a record whose (instanceId, seq) is
   * already stored with the same hash is taken as written (a retry after a commit whose answer
   * was lost); one stored with another hash fails the whole batch, so two writers can never fork
   * one chain.
   */
  appendAudit (rows: readonly AuditRow[]): Promise<void>
  /** The last record of an instance's chain, or undefined for an empty chain. */
  chainHead (instanceId: string): Promise<ChainHead | undefined>
  /** Up to `limit` records of a chain after `afterSeq`, in order. */
  readChain (instanceId: string, afterSeq: number, limit: number): Promise<AuditRow[]>
  /** Every instance that has records. */
  chainInstances (): Promise<string[]>
  /** Records matching a query, oldest first. */
  queryAudit (query: AuditQuery): Promise<AuditRow[]>
  /**
   * Deletes up to `limit` of the oldest records older than `before` (ISO-8601); returns how many.
   * Each chain loses only its beginning, so what remains still verifies.
   */
  pruneAudit (before: string, limit: number): Promise<number>
}

/**
 * For an append that found (instanceId, seq) taken: passes when the stored record is this one
 * (same hash), throws when it is another, which would fork the chain.
 */
export function confirmStored (row: AuditRow, storedHash: string): void {
  if (storedHash !== row.hash) {
    throw new Error(`audit record ${row.seq} of chain ${row.instanceId} is already stored with another hash: a second writer on this chain?`)
  }
}
