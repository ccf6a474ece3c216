// The one storage interface behind the audit trail, service keys, computation ownership and
// idempotency keys: a SQLite file by default, PostgreSQL when several instances share them.
// Both adapters run the same versioned migrations (migrations.ts) and pass the same contract tests.

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
  /** The record as canonical JSON: exactly the text that was hashed. */
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

/** A service key as stored: its secret only as a hash. */
export interface ServiceKeyRow {
  keyId: string
  subject: string
  groups: string[]
  description: string | null
  /** SHA-256 of the key's secret, hex. */
  secretHash: string
  /** ISO-8601 UTC, like every time below. */
  createdAt: string
  expiresAt: string | null
  revokedAt: string | null
  lastUsedAt: string | null
  realm: ServiceKeyRealm
}

/**
 * Who a service key is for: a proxy (made with `npm run keys`), or `npm run demo`, whose keys
 * only the demo accepts: a configured proxy refuses them even in a database it shares with one.
 */
export type ServiceKeyRealm = 'proxy' | 'demo'

/** Who started a computation through the proxy, and what it runs. */
export interface OwnerRow {
  computationId: string
  subject: string
  groups: string[]
  capsuleId: string | null
  pipelineId: string | null
  createdAt: string
}

/**
 * An Idempotency-Key as stored: which run it was sent with and, once known, how that run ended.
 * A key belongs to its caller: the same key from two subjects is two keys.
 */
export interface IdempotencyRow {
  subject: string
  key: string
  /** requestHash() of the body the key was first sent with. */
  requestHash: string
  /**
   * in_flight: claimed, the run not yet answered; completed: answered, the answer below is replayed;
   * unknown: sent, but whether Code Ocean started the run is not known, so it is never sent again.
   */
  state: 'in_flight' | 'completed' | 'unknown'
  /** The answer (completed only): status, the headers to replay, and its text (Code Ocean answers JSON). */
  status: number | null
  headers: Record<string, string> | null
  body: string | null
  /** The computation the run started, when the answer named one. */
  computationId: string | null
  /** ISO-8601 UTC, like every time below; keys compare these as text, so always write toISOString(). */
  createdAt: string
  updatedAt: string
  /** The key may be claimed afresh from this time on. */
  expiresAt: string
}

/** How a claimed run ended, for settleIdempotencyKey. */
export interface IdempotencyOutcome {
  state: 'completed' | 'unknown'
  status: number | null
  headers: Record<string, string> | null
  body: string | null
  computationId: string | null
  /** ISO-8601 UTC: becomes the row's updatedAt. */
  at: string
}

export interface Store {
  readonly kind: 'sqlite' | 'postgres'
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
  /** Adds a service key; fails if its id exists. */
  createServiceKey (row: ServiceKeyRow): Promise<void>
  findServiceKey (keyId: string): Promise<ServiceKeyRow | undefined>
  /** Every key, revoked and expired ones included, oldest first. */
  listServiceKeys (): Promise<ServiceKeyRow[]>
  /** Revokes a key now; false if there is no such key or it was already revoked. */
  revokeServiceKey (keyId: string, at: string): Promise<boolean>
  touchServiceKey (keyId: string, at: string): Promise<void>
  /** Records who started a computation; the first record for an id wins. */
  recordOwner (row: OwnerRow): Promise<void>
  /** The owners recorded for these ids (ids without one are absent from the map). */
  ownersOf (computationIds: readonly string[]): Promise<Map<string, OwnerRow>>
  /**
   * Claims a key: inserts `row` (state in_flight) unless an unexpired row exists for (subject, key);
   * an expired one (expires_at <= row.createdAt) is replaced. Returns undefined when this call
   * claimed it, else the existing row. Atomic across instances (two concurrent claims: exactly one
   * gets undefined).
   */
  claimIdempotencyKey (row: IdempotencyRow): Promise<IdempotencyRow | undefined>
  /**
   * Records how the claimed run ended (state completed or unknown, with the answer when completed).
   * Only an in_flight row changes: a settled answer is never overwritten.
   */
  settleIdempotencyKey (subject: string, key: string, outcome: IdempotencyOutcome): Promise<void>
  /**
   * Forgets a claim whose run certainly did not start, so a retry may run. Only an in_flight row
   * is forgotten; with `claimedAt`, only the claim made at that time (the caller's own).
   */
  releaseIdempotencyKey (subject: string, key: string, claimedAt?: string): Promise<void>
  /** Deletes up to `limit` keys that expired before `before` (expires_at <= before, as a claim sees it); returns how many. */
  pruneIdempotencyKeys (before: string, limit: number): Promise<number>
  /** Resolves when the store answers a trivial query. */
  ping (): Promise<void>
  close (): Promise<void>
}

/** A store operation failed: the database is down, closed, read-only or refused the write. */
export class StoreError extends Error {
  constructor (message: string, options: { cause: unknown }) {
    super(message, options)
    this.name = 'StoreError'
  }
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
