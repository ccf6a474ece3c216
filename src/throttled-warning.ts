// A warning about a failure that recurs on every request (a shared service that stopped
// answering): logged when it first happens, then at most once per interval, each line saying how
// many times it happened since the last, so a flood of failing requests cannot flood the log.
import type { FastifyBaseLogger } from 'fastify'

export interface ThrottledWarningOptions {
  log: FastifyBaseLogger
  message: string
  intervalMs: number
  /** The clock, in milliseconds. */
  now?: () => number
}

export class ThrottledWarning {
  readonly #options: ThrottledWarningOptions
  readonly #now: () => number
  #lastLoggedAt: number | undefined
  #unlogged = 0

  constructor (options: ThrottledWarningOptions) {
    this.#options = options
    this.#now = options.now ?? Date.now
  }

  /** One more occurrence: logged with how many were not, unless a line went out less than an interval ago. */
  occurred (error: Error): void {
    this.#unlogged++
    const now = this.#now()
    if (this.#lastLoggedAt !== undefined && now - this.#lastLoggedAt < this.#options.intervalMs) return
    this.#options.log.warn({ errMessage: error.message, occurrences: this.#unlogged }, this.#options.message)
    this.#lastLoggedAt = now
    this.#unlogged = 0
  }
}
