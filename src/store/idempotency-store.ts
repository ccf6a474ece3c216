// The idempotency slice of the store: each Idempotency-Key claimed for a run and how that run ended,
// so a retried POST /computations is answered from here instead of starting a second run.

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

export interface IdempotencyStore {
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
}
