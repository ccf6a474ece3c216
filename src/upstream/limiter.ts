// One limit on all calls to Code Ocean: how many at once, how many start per second, and how many
// callers may wait for a turn (and for how long) before being told to come back. Each caller's
// share of it is capped too, so one caller's hanging calls cannot take every slot and queue place.
import assert from 'node:assert'
import { clearTimeout, setTimeout } from 'node:timers'
import { retryAfter, UpstreamOverloaded, UpstreamShareExceeded } from '../errors.js'

export interface LimiterOptions {
  maxConcurrent: number
  /** Calls started per rolling second (token bucket with capacity maxPerSecond, refilled continuously). */
  maxPerSecond: number
  /** Callers allowed to wait; past this, acquire rejects at once. */
  queueLimit: number
  /** Longest a caller waits in the queue before acquire rejects. */
  queueTimeoutMs: number
  /** Calls one caller may have running and waiting at once; past this, acquire rejects at once. Default: no cap. */
  maxPerCaller?: number
  now?: () => number
}

interface Waiter {
  /** Gives its place in its caller's share back. */
  leave: () => void
  resolve: (release: () => void) => void
  reject: (reason: unknown) => void
  timeout: NodeJS.Timeout
  signal: AbortSignal | undefined
  onAbort: () => void
}

export class UpstreamLimiter {
  readonly #maxConcurrent: number
  readonly #maxPerSecond: number
  readonly #queueLimit: number
  readonly #queueTimeoutMs: number
  readonly #maxPerCaller: number
  /** Calls running or waiting, per caller that has any. */
  readonly #perCaller = new Map<string, number>()
  readonly #now: () => number
  readonly #queue: Waiter[] = []
  #active = 0
  #tokens: number
  #refilledAt: number
  #rateTimer: NodeJS.Timeout | undefined

  constructor (options: LimiterOptions) {
    assert(Number.isInteger(options.maxConcurrent) && options.maxConcurrent >= 1, 'maxConcurrent must be a whole number ≥ 1')
    // Below 1 the bucket could never hold a whole token, and nothing would ever start.
    assert(Number.isFinite(options.maxPerSecond) && options.maxPerSecond >= 1, 'maxPerSecond must be a number ≥ 1')
    assert(Number.isInteger(options.queueLimit) && options.queueLimit >= 0, 'queueLimit must be a whole number ≥ 0')
    assert(Number.isFinite(options.queueTimeoutMs) && options.queueTimeoutMs >= 0, 'queueTimeoutMs must be a number ≥ 0')
    this.#maxConcurrent = options.maxConcurrent
    this.#maxPerSecond = options.maxPerSecond
    this.#queueLimit = options.queueLimit
    this.#queueTimeoutMs = options.queueTimeoutMs
    const { maxPerCaller = Number.POSITIVE_INFINITY } = options
    assert(maxPerCaller >= 1, 'maxPerCaller must be ≥ 1')
    this.#maxPerCaller = maxPerCaller
    this.#now = options.now ?? Date.now
    this.#tokens = options.maxPerSecond
    this.#refilledAt = this.#now()
  }

  get active (): number {
    return this.#active
  }

  get queued (): number {
    return this.#queue.length
  }

  /**
   * Resolves with `release` (idempotent) once the call may start; rejects with UpstreamOverloaded
   * when the queue is full or the wait times out, with UpstreamShareExceeded when `caller` has its
   * whole share running or waiting already, or with the signal's reason when it aborts. FIFO.
   * The call counts against `caller`'s share until it is released (see enter).
   */
  acquire (signal?: AbortSignal, caller?: string): Promise<() => void> {
    if (signal?.aborted === true) return Promise.reject(signal.reason)
    let leave: () => void
    try {
      leave = this.enter(caller)
    } catch (error) {
      return Promise.reject(error)
    }
    // Those already waiting go first, even when a slot is free at this instant.
    if (this.#queue.length === 0 && this.#takeSlot()) return Promise.resolve(this.#releaser(leave))
    if (this.#queue.length >= this.#queueLimit) {
      leave()
      return Promise.reject(this.#overloaded())
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        leave,
        resolve,
        reject,
        signal,
        timeout: setTimeout(() => this.#drop(waiter, this.#overloaded()), this.#queueTimeoutMs),
        onAbort: () => this.#drop(waiter, signal?.reason)
      }
      signal?.addEventListener('abort', waiter.onAbort, { once: true })
      this.#queue.push(waiter)
      this.#scheduleRefill()
    })
  }

  /**
   * Counts one call of `caller`'s against its share until the function returned is called
   * (idempotent); the proxy's own calls (no caller) have no share. For a call of several turns
   * (a read retried after a pause): entered once, it keeps its place through the pauses, and its
   * turns acquire without a caller, so a retry is never refused for a share the caller filled
   * meanwhile. Throws UpstreamShareExceeded when `caller` has its whole share running or waiting.
   */
  enter (caller: string | undefined): () => void {
    if (caller === undefined) return () => {}
    const held = this.#perCaller.get(caller) ?? 0
    if (held >= this.#maxPerCaller) throw retryAfter(new UpstreamShareExceeded(), 1)
    this.#perCaller.set(caller, held + 1)
    let left = false
    return () => {
      if (left) return
      left = true
      // Counted when it entered: the entry is there until its last call leaves.
      const remaining = (this.#perCaller.get(caller) as number) - 1
      if (remaining === 0) this.#perCaller.delete(caller)
      else this.#perCaller.set(caller, remaining)
    }
  }

  /** Starts as many waiters as the limits allow, in order. */
  #startWaiters (): void {
    let waiter = this.#queue[0]
    while (waiter !== undefined && this.#takeSlot()) {
      this.#queue.shift()
      this.#forget(waiter)
      waiter.resolve(this.#releaser(waiter.leave))
      waiter = this.#queue[0]
    }
    this.#scheduleRefill()
  }

  /** Takes a concurrency slot and a token if both are free. */
  #takeSlot (): boolean {
    if (this.#active >= this.#maxConcurrent) return false
    const now = this.#now()
    // max(0, …): a wall clock set back must not drain the bucket.
    const earned = Math.max(0, now - this.#refilledAt) * this.#maxPerSecond / 1000
    this.#tokens = Math.min(this.#maxPerSecond, this.#tokens + earned)
    this.#refilledAt = now
    if (this.#tokens < 1) return false
    this.#tokens -= 1
    this.#active += 1
    return true
  }

  /**
   * Keeps one timer for the next token while the rate, not concurrency, holds the queue back:
   * a release starts the next waiter on its own, but nothing else would when a token accrues.
   */
  #scheduleRefill (): void {
    const rateBound = this.#queue.length > 0 && this.#active < this.#maxConcurrent
    if (!rateBound) {
      clearTimeout(this.#rateTimer)
      this.#rateTimer = undefined
      return
    }
    if (this.#rateTimer !== undefined) return
    const waitMs = Math.ceil((1 - this.#tokens) * 1000 / this.#maxPerSecond)
    this.#rateTimer = setTimeout(() => {
      this.#rateTimer = undefined
      this.#startWaiters()
    }, waitMs)
    // Every waiter has its own queue timeout keeping the process alive, so this one need not.
    this.#rateTimer.unref()
  }

  #releaser (leave: () => void): () => void {
    let released = false
    return () => {
      if (released) return
      released = true
      leave()
      this.#active -= 1
      this.#startWaiters()
    }
  }

  /** Takes a waiter out of the queue without starting it (timed out or aborted). */
  #drop (waiter: Waiter, reason: unknown): void {
    this.#queue.splice(this.#queue.indexOf(waiter), 1)
    this.#forget(waiter)
    waiter.leave()
    waiter.reject(reason)
    this.#scheduleRefill()
  }

  #forget (waiter: Waiter): void {
    clearTimeout(waiter.timeout)
    waiter.signal?.removeEventListener('abort', waiter.onAbort)
  }

  #overloaded (): Error {
    // Within queueTimeoutMs every caller waiting now has started or given up.
    const retryAfterSeconds = Math.max(1, Math.ceil(this.#queueTimeoutMs / 1000))
    return retryAfter(new UpstreamOverloaded(), retryAfterSeconds)
  }
}
