// What GET /computations/{id}/wait answers, given how the wait ended: the computation once it
// finished, 202 with it as it last was when time ran out, or Code Ocean's own trouble when it
// never answered well in all that time.
import { ProxyUnavailable, WaitUnanswered } from '../errors.js'
import type { BufferedAnswer } from './coalesce.js'
import type { WaitOutcome } from './computation-watch.js'
import { UpstreamCallFailed } from './outcome.js'

const TERMINAL_STATES = new Set(['completed', 'failed'])
/** Answers that say "not now" rather than anything about the computation: a wait polls on through them. */
export const PASSING_TROUBLE = new Set([429, 500, 502, 503, 504])

/** A 200 answer for a computation that will not change state again. */
export function isTerminal (answer: BufferedAnswer): boolean {
  if (answer.status !== 200) return false
  try {
    return TERMINAL_STATES.has(String((JSON.parse(answer.body.toString('utf8')) as { state?: unknown }).state))
  } catch {
    return false
  }
}

/** A poll Code Ocean answered with passing trouble; passed on only if the wait ends on it. */
export class TroubledPoll extends Error {
  readonly answer: BufferedAnswer
  constructor (answer: BufferedAnswer) {
    super(`Code Ocean answered ${answer.status}`)
    this.answer = answer
  }
}

export type WaitAnswer =
  /** Send this answer, with `status` instead of Code Ocean's where given. */
  | { kind: 'send', answer: BufferedAnswer, status?: number }
  /** The caller has left: nothing to send. */
  | { kind: 'left' }
  | { kind: 'error', error: Error }

/** What a caller who waited up to `timeoutMs` is answered. */
export function waitAnswer (outcome: WaitOutcome, timeoutMs: number, callerLeft: boolean): WaitAnswer {
  if (outcome.kind === 'terminal' || outcome.kind === 'answer') return { kind: 'send', answer: outcome.answer }
  if (callerLeft) return { kind: 'left' }
  // Not finished yet (timeout, or the proxy is closing): 202 with the computation as it last was.
  if (outcome.latest !== undefined) return { kind: 'send', answer: outcome.latest, status: 202 }
  if (outcome.kind === 'closed') return { kind: 'error', error: new ProxyUnavailable() }
  // Code Ocean never answered well in all that time: its last answer, its last failure, or, if
  // it just hung, that the caller's wait ran out (not one of the proxy's timeouts for Code Ocean).
  if (outcome.error instanceof TroubledPoll) return { kind: 'send', answer: outcome.error.answer }
  return { kind: 'error', error: outcome.error instanceof UpstreamCallFailed ? outcome.error.outcome.failure.error : new WaitUnanswered(timeoutMs / 1000) }
}
