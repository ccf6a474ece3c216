// When and how long to wait before calling Code Ocean again. Only for calls the caller knows to be
// idempotent reads: this module decides from the outcome alone, not from what was asked.
import { setTimeout as wait } from 'node:timers/promises'
import { retryable, type AttemptOutcome } from './outcome.js'

export interface RetryPolicy {
  /** Total attempts, the first included (1 = never retry). */
  attempts: number
  baseDelayMs: number
  /** The longest single wait; by default the budget itself. */
  maxDelayMs?: number
  /** No attempt starts, and no wait is planned, past this many ms after the first attempt started. */
  budgetMs: number
}

/** ms to wait before the next attempt, or undefined when the call must not be retried (or may not be any more). */
export function retryDelay (
  policy: RetryPolicy,
  outcome: AttemptOutcome,
  attemptsMade: number,
  elapsedMs: number,
  random: () => number = Math.random,
  now: () => number = Date.now
): number | undefined {
  if (!retryable(outcome) || attemptsMade >= policy.attempts) return undefined
  // Full jitter: callers that failed together do not come back together.
  const backoff = Math.round(random() * Math.min(policy.maxDelayMs ?? policy.budgetMs, policy.baseDelayMs * 2 ** (attemptsMade - 1)))
  const retryAfterMs = outcome.kind === 'answer' ? retryAfterToMs(outcome.retryAfter, now) : undefined
  const delay = Math.max(backoff, retryAfterMs ?? 0)
  // A Retry-After past the budget ends here too: the caller then gets Code Ocean's 429/503 as it
  // is, Retry-After included, which tells the client more than a retry cut short would.
  if (elapsedMs + delay > policy.budgetMs) return undefined
  return delay
}

/** A Retry-After value in ms from now, or undefined when there is none or it cannot be read. */
function retryAfterToMs (value: string | undefined, now: () => number): number | undefined {
  if (value === undefined) return undefined
  const trimmed = value.trim()
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000
  // Every HTTP-date form names a day or a month; without a letter, Date would read "1.5" or
  // "3000.5" as some year rather than reject it.
  if (!/[a-z]/i.test(trimmed)) return undefined
  const at = new Date(trimmed).getTime()
  if (Number.isNaN(at)) return undefined
  return Math.max(0, at - now())
}

/** Waits ms; false at once if `signal` aborts (the caller gave up, so no retry should follow). */
export async function sleep (ms: number, signal?: AbortSignal): Promise<boolean> {
  try {
    await wait(ms, undefined, { signal })
    return true
  } catch (error) {
    if ((error as { name?: unknown }).name === 'AbortError') return false
    throw error
  }
}
