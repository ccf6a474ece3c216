// Stops calling Code Ocean for a while after it has failed several times in a row, so callers get a
// quick 503 instead of waiting for timeouts, and a struggling upstream gets room to recover. Only
// failures that show Code Ocean itself is unwell open it: failures spread over several different
// calls (paths), or failures to connect at all. One computation that keeps answering 504 is that
// computation's trouble, and must not cut every other caller off.
import assert from 'node:assert'
import { retryAfter, UpstreamCircuitOpen } from '../errors.js'

export interface BreakerOptions {
  /** Consecutive failures that open the circuit. */
  failureThreshold: number
  /** How long it stays open before one probe call is let through. */
  cooldownMs: number
  /**
   * Different calls (by path) the consecutive failures must come from before they open the
   * circuit; a failure to connect counts as a different one each time. 1: any failures do.
   */
  minPaths?: number
  now?: () => number
}

type BreakerState = 'closed' | 'open' | 'half-open'

export class CircuitBreaker {
  readonly #failureThreshold: number
  readonly #cooldownMs: number
  readonly #minPaths: number
  readonly #now: () => number
  #state: BreakerState = 'closed'
  #failures = 0
  /** The calls the current run of failures came from. */
  readonly #failedPaths = new Set<string | symbol>()
  #openedAt = 0
  #probing = false
  #openings = 0

  constructor (options: BreakerOptions) {
    assert(Number.isInteger(options.failureThreshold) && options.failureThreshold >= 1, 'failureThreshold must be a whole number ≥ 1')
    assert(Number.isFinite(options.cooldownMs) && options.cooldownMs >= 0, 'cooldownMs must be a number ≥ 0')
    const { minPaths = 1 } = options
    assert(Number.isInteger(minPaths) && minPaths >= 1, 'minPaths must be a whole number ≥ 1')
    this.#failureThreshold = options.failureThreshold
    this.#cooldownMs = options.cooldownMs
    // More different paths than failures could never be seen.
    this.#minPaths = Math.min(minPaths, options.failureThreshold)
    this.#now = options.now ?? Date.now
  }

  /** 'half-open' as soon as the cooldown has passed, whether or not the probe has been admitted yet. */
  get state (): BreakerState {
    // Moving on when asked rather than on a timer: nothing to clear, and the clock can be injected.
    if (this.#state === 'open' && this.#now() - this.#openedAt >= this.#cooldownMs) this.#state = 'half-open'
    return this.#state
  }

  /** For logs/metrics: how many times it has opened. */
  get openings (): number {
    return this.#openings
  }

  /** Throws UpstreamCircuitOpen when open; once the cooldown has passed, lets exactly one probe through and throws for others until that probe reports. */
  admit (): void {
    const state = this.state
    if (state === 'closed') return
    if (state === 'half-open' && !this.#probing) {
      this.#probing = true
      return
    }
    // While the probe is out the cooldown is over: 1 s is the honest "soon".
    const secondsLeft = Math.ceil((this.#openedAt + this.#cooldownMs - this.#now()) / 1000)
    throw retryAfter(new UpstreamCircuitOpen(), Math.max(1, secondsLeft))
  }

  /** Reports that an admitted call succeeded. */
  success (): void {
    if (this.#state === 'closed') {
      this.#reset()
    } else if (this.#probing) {
      this.#state = 'closed'
      this.#reset()
      this.#probing = false
    }
    // Open, or half-open with no probe out: a call admitted before the circuit opened, reporting
    // late. It says nothing about Code Ocean now.
  }

  /**
   * Reports that an admitted call failed (the caller decides what counts): `path` is the call's,
   * or undefined for a failure to reach Code Ocean at all.
   */
  failure (path?: string): void {
    if (this.#state === 'closed') {
      this.#failures += 1
      this.#failedPaths.add(path ?? Symbol('unreachable'))
      if (this.#failures >= this.#failureThreshold && this.#failedPaths.size >= this.#minPaths) this.#open()
    } else if (this.#probing) {
      this.#open()
    }
    // Open, or half-open with no probe out: a late report, ignored so as not to stretch the cooldown.
  }

  #open (): void {
    this.#state = 'open'
    this.#openedAt = this.#now()
    this.#probing = false
    this.#reset()
    this.#openings += 1
  }

  #reset (): void {
    this.#failures = 0
    this.#failedPaths.clear()
  }
}
