// What became of one call to Code Ocean, retries included: its answer, or the failure that left
// it without one. The client returns it, the audit records it once, and the idempotency of runs
// reads it to decide whether a run may have started.
import type { AnswerSource } from './coalesce.js'
import { failedWhileConnecting, refusedByTheProxy, type UpstreamFailure } from './failures.js'

interface Attempts {
  /** Calls made to Code Ocean, retries included; 0 for one answered from a shared poll or the cache. */
  attempts: number
  /** How long the last attempt took (or, for a shared poll, how long the caller waited for it). */
  durationMs: number
  /** Where the answer came from: Code Ocean itself, another caller's identical poll, or the cache. */
  source: AnswerSource
  /** Some attempt may have reached Code Ocean; false when every one failed before sending anything. */
  sent: boolean
}

export type UpstreamOutcome =
  | ({ kind: 'answer', status: number } & Attempts)
  /** `status`: the answer had begun (with this status) when it broke off. */
  | ({ kind: 'failure', failure: UpstreamFailure, status?: number } & Attempts)

/** One attempt's result, as the retry policy sees it: `retryAfter` is the raw Retry-After value. */
export type AttemptOutcome =
  | { kind: 'answer', status: number, retryAfter?: string }
  | { kind: 'failure', errorClass: UpstreamFailure['errorClass'] }

// Statuses that say "not now" rather than "no": Code Ocean or what fronts it did not act.
const RETRYABLE_STATUSES = new Set([429, 502, 503, 504])

/** Worth another attempt of a read: a "not now" answer, or a failure before anything was sent. */
export function retryable (outcome: AttemptOutcome): boolean {
  return outcome.kind === 'answer'
    ? RETRYABLE_STATUSES.has(outcome.status)
    // A headers or body timeout, a reset or a protocol error may come after Code Ocean received
    // the request: only a failure while connecting is repeated.
    : failedWhileConnecting(outcome.errorClass)
}

/** Nothing of the request reached Code Ocean: no call was made, or every attempt failed before sending. */
export function nothingSent (outcome: UpstreamOutcome | undefined): boolean {
  return outcome === undefined || !outcome.sent
}

/** Whether an attempt that failed this way may have reached Code Ocean. */
export function mayHaveSent (failure: UpstreamFailure): boolean {
  return !refusedByTheProxy(failure.errorClass) && !failedWhileConnecting(failure.errorClass)
}

/** No usable answer came: carries the outcome, shared by every caller of one coalesced poll. */
export class UpstreamCallFailed extends Error {
  readonly outcome: Extract<UpstreamOutcome, { kind: 'failure' }>
  constructor (outcome: Extract<UpstreamOutcome, { kind: 'failure' }>) {
    super(outcome.failure.error.message)
    this.outcome = outcome
  }
}
