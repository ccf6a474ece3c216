// Lets identical concurrent reads share one upstream call, and keeps answers that can no longer
// change (a computation in a terminal state) in memory for a short while, bounded by count and
// by bytes: an answer may carry a run's parameters (up to about a megabyte), and each version a
// poll names is its own entry.

/** A whole upstream answer, read into memory so several callers can be sent it. */
export interface BufferedAnswer { status: number, headers: Record<string, string | string[]>, body: Buffer }

export interface CoalescerOptions {
  /** How long a terminal answer is served from memory; 0 turns the cache off. */
  terminalCacheMs: number
  isTerminal: (answer: BufferedAnswer) => boolean
  /** Entries kept at most (oldest dropped first), so the cache is bounded. Default 10_000. */
  maxEntries?: number
  /** Their size kept at most (answerBytes; oldest dropped first). Default POLL_CACHE_BYTES. */
  maxBytes?: number
  now?: () => number
}

/** What remembered answers may hold in all by default: some thousands of ordinary computations. */
export const POLL_CACHE_BYTES = 32 * 1024 * 1024

/** About what a remembered answer holds in memory: its body, its headers, and the objects around them. */
export function answerBytes (key: string, answer: BufferedAnswer): number {
  let bytes = answer.body.length + 2 * key.length + 256
  for (const [name, value] of Object.entries(answer.headers)) {
    bytes += 2 * name.length + 64
    for (const item of typeof value === 'string' ? [value] : value) bytes += 2 * item.length
  }
  return bytes
}

export type AnswerSource = 'upstream' | 'coalesced' | 'cache'

interface Flight {
  /** Tells this fetch from a later one for the same key, started after an invalidate. */
  generation: number
  answer: Promise<BufferedAnswer>
}

interface CachedAnswer {
  answer: BufferedAnswer
  expiresAt: number
  bytes: number
}

/**
 * What invalidate matches a key by: the key before its first line break (a variant's version
 * follows it), in lower case.
 */
const foldedBase = (key: string): string => {
  const lineBreak = key.indexOf('\n')
  return (lineBreak === -1 ? key : key.slice(0, lineBreak)).toLowerCase()
}

/** The keys of a map, grouped by foldedBase, so that invalidate finds its few among thousands at once. */
class KeysByBase {
  readonly #groups = new Map<string, Set<string>>()

  add (key: string): void {
    const base = foldedBase(key)
    const group = this.#groups.get(base)
    if (group === undefined) this.#groups.set(base, new Set([key]))
    else group.add(key)
  }

  /** Only for a key added and not yet deleted. */
  delete (key: string): void {
    const base = foldedBase(key)
    const group = this.#groups.get(base) as Set<string>
    group.delete(key)
    if (group.size === 0) this.#groups.delete(base)
  }

  /** The keys whose foldedBase is `base`, copied: the caller may delete them meanwhile. */
  of (base: string): string[] {
    return [...this.#groups.get(base) ?? []]
  }
}

export class Coalescer {
  readonly #terminalCacheMs: number
  readonly #isTerminal: (answer: BufferedAnswer) => boolean
  readonly #maxEntries: number
  readonly #maxBytes: number
  readonly #now: () => number
  readonly #flights = new Map<string, Flight>()
  readonly #flightKeys = new KeysByBase()
  // Insertion order is expiry order (every entry lives as long), so the oldest come first.
  readonly #cache = new Map<string, CachedAnswer>()
  readonly #cacheKeys = new KeysByBase()
  /** The cache's size, by answerBytes. */
  #bytes = 0
  #generation = 0

  constructor (options: CoalescerOptions) {
    const { terminalCacheMs, maxEntries = 10_000, maxBytes = POLL_CACHE_BYTES } = options
    if (!(Number.isFinite(terminalCacheMs) && terminalCacheMs >= 0)) {
      throw new RangeError(`terminalCacheMs must be a non-negative number, got ${terminalCacheMs}`)
    }
    if (!(Number.isInteger(maxEntries) && maxEntries > 0)) {
      throw new RangeError(`maxEntries must be a positive integer, got ${maxEntries}`)
    }
    if (!(Number.isInteger(maxBytes) && maxBytes > 0)) {
      throw new RangeError(`maxBytes must be a positive integer, got ${maxBytes}`)
    }
    this.#terminalCacheMs = terminalCacheMs
    this.#isTerminal = options.isTerminal
    this.#maxEntries = maxEntries
    this.#maxBytes = maxBytes
    this.#now = options.now ?? Date.now
  }

  /**
   * The answer for `key`: from a fresh cached terminal answer, or by joining a fetch already in
   * flight for the key, or by running `fetch`. A rejection of the shared fetch rejects every
   * joiner with the same error. Only 200 answers that isTerminal are cached. Every caller of one
   * fetch gets the same answer object: copy before changing it.
   */
  async run (key: string, fetch: () => Promise<BufferedAnswer>): Promise<{ answer: BufferedAnswer, source: AnswerSource }> {
    const cached = this.#fresh(key)
    if (cached !== undefined) return { answer: cached, source: 'cache' }
    const flight = this.#flights.get(key)
    if (flight !== undefined) return { answer: await flight.answer, source: 'coalesced' }
    const generation = ++this.#generation
    // A fetch that throws instead of rejecting must still reach its joiners as a rejection.
    const answer = this.#land(key, generation, new Promise((resolve) => { resolve(fetch()) }))
    this.#flights.set(key, { generation, answer })
    this.#flightKeys.add(key)
    return { answer: await answer, source: 'upstream' }
  }

  /**
   * Drops the cached answers for `key` and for every variant of it, `key` followed by a line
   * break and anything (a poll naming a Min-Server-Version: see poll-keys.ts), after a rename or
   * delete through the proxy; in any letter case, since Code Ocean's ids are the same in either
   * and callers may poll one computation under several spellings. A fetch in flight is detached:
   * it still answers its callers but is not cached, and later callers start a fresh fetch rather
   * than join one that may predate the change. It looks only at the keys of `key`'s computation
   * (see KeysByBase), however many others are held.
   */
  invalidate (key: string): void {
    const base = key.toLowerCase()
    for (const candidate of this.#cacheKeys.of(base)) this.#forget(candidate)
    for (const candidate of this.#flightKeys.of(base)) this.#endFlight(candidate)
  }

  /** Keys with a fetch that callers can join now. */
  get inFlight (): number {
    return this.#flights.size
  }

  /** Terminal answers held and still fresh. */
  get cached (): number {
    this.#dropExpired()
    return this.#cache.size
  }

  /** Their size, by answerBytes. */
  get cachedBytes (): number {
    this.#dropExpired()
    return this.#bytes
  }

  async #land (key: string, generation: number, pending: Promise<BufferedAnswer>): Promise<BufferedAnswer> {
    try {
      const answer = await pending
      if (this.#isCurrent(key, generation) && this.#cacheable(answer)) this.#remember(key, answer)
      return answer
    } finally {
      if (this.#isCurrent(key, generation)) this.#endFlight(key)
    }
  }

  #endFlight (key: string): void {
    this.#flights.delete(key)
    this.#flightKeys.delete(key)
  }

  #isCurrent (key: string, generation: number): boolean {
    return this.#flights.get(key)?.generation === generation
  }

  #cacheable (answer: BufferedAnswer): boolean {
    return this.#terminalCacheMs > 0 && answer.status === 200 && this.#isTerminal(answer)
  }

  #remember (key: string, answer: BufferedAnswer): void {
    // Forgotten first so the entry moves to the end, keeping insertion order equal to expiry order.
    this.#forget(key)
    const bytes = answerBytes(key, answer)
    // An answer too big to keep at all is fetched each time.
    if (bytes > this.#maxBytes) return
    this.#cache.set(key, { answer, expiresAt: this.#now() + this.#terminalCacheMs, bytes })
    this.#cacheKeys.add(key)
    this.#bytes += bytes
    this.#dropExpired()
    for (const oldest of this.#cache.keys()) {
      if (this.#cache.size <= this.#maxEntries && this.#bytes <= this.#maxBytes) break
      this.#forget(oldest)
    }
  }

  #forget (key: string): void {
    const entry = this.#cache.get(key)
    if (entry === undefined) return
    this.#cache.delete(key)
    this.#cacheKeys.delete(key)
    this.#bytes -= entry.bytes
  }

  #fresh (key: string): BufferedAnswer | undefined {
    this.#dropExpired()
    return this.#cache.get(key)?.answer
  }

  #dropExpired (): void {
    const now = this.#now()
    for (const [key, entry] of this.#cache) {
      if (entry.expiresAt > now) break
      this.#forget(key)
    }
  }
}
