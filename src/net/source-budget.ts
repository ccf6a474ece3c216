// A budget of requests per source address, refilled continuously (a token bucket per address):
// what bounds callers who prove nothing, before any identity or audit work is spent on them.
// Bounded in memory: past maxSources addresses, the least recently seen is forgotten.

export interface SourceBudgetOptions {
  /** Requests a source may make per minute, in a burst or spread out. */
  perMinute: number
  /** Addresses remembered at most. Default 10,000. */
  maxSources?: number
  now?: () => number
}

interface Bucket { tokens: number, at: number }

export class SourceBudget {
  readonly #perMinute: number
  readonly #maxSources: number
  readonly #now: () => number
  // Insertion order is recency: a source is moved to the end each time it is seen.
  readonly #buckets = new Map<string, Bucket>()

  constructor (options: SourceBudgetOptions) {
    if (!(Number.isInteger(options.perMinute) && options.perMinute >= 1)) throw new RangeError(`perMinute must be a whole number ≥ 1, got ${options.perMinute}`)
    this.#perMinute = options.perMinute
    this.#maxSources = options.maxSources ?? 10_000
    this.#now = options.now ?? Date.now
  }

  /** Takes one request from `source`'s budget: 0 when it may go on, else the seconds until it may. */
  take (source: string): number {
    const bucket = this.#refilled(source)
    const seconds = this.#secondsUntilOne(bucket)
    if (seconds === 0) bucket.tokens -= 1
    return seconds
  }

  /** Gives back one request taken from `source`'s budget (never past its full size). */
  refund (source: string): void {
    const bucket = this.#refilled(source)
    bucket.tokens = Math.min(this.#perMinute, bucket.tokens + 1)
  }

  #secondsUntilOne (bucket: Bucket): number {
    return bucket.tokens < 1 ? Math.max(1, Math.ceil((1 - bucket.tokens) * 60 / this.#perMinute)) : 0
  }

  /** `source`'s bucket, refilled to now and made the most recently seen. */
  #refilled (source: string): Bucket {
    const now = this.#now()
    const bucket = this.#buckets.get(source) ?? { tokens: this.#perMinute, at: now }
    this.#buckets.delete(source)
    // max(0, …): a clock set back must not drain the bucket.
    bucket.tokens = Math.min(this.#perMinute, bucket.tokens + Math.max(0, now - bucket.at) * this.#perMinute / 60_000)
    bucket.at = now
    this.#buckets.set(source, bucket)
    for (const oldest of this.#buckets.keys()) {
      if (this.#buckets.size <= this.#maxSources) break
      this.#buckets.delete(oldest)
    }
    return bucket
  }

  /** Addresses remembered now. */
  get size (): number {
    return this.#buckets.size
  }
}
