// Holds callers until a computation ends, polling Code Ocean once per interval per computation
// however many callers wait for it, instead of each client polling on its own.
import type { BufferedAnswer } from './coalesce.js'

export interface WatchOptions {
  /** Between two polls of one computation (Code Ocean's SDK keeps 5 s as its floor; tests use less). */
  intervalMs: number
  /** One poll of a computation: the coalesced GET. Rejections are upstream failures. */
  fetch: (computationId: string) => Promise<BufferedAnswer>
  isTerminal: (answer: BufferedAnswer) => boolean
}

export type WaitOutcome =
  /** A 200 answer in a terminal state. */
  | { kind: 'terminal', answer: BufferedAnswer }
  /** A non-200 answer (a 404 after a delete, say), passed on as it is. */
  | { kind: 'answer', answer: BufferedAnswer }
  /** The latest 200 answer seen, if any; otherwise the last failure, if any. */
  | { kind: 'timeout', latest: BufferedAnswer | undefined, error: unknown }
  /** The waiter's signal aborted, or the watcher closed. */
  | { kind: 'closed', latest: BufferedAnswer | undefined }

interface Waiter {
  settle: (outcome: WaitOutcome) => void
}

interface PollLoop {
  readonly computationId: string
  readonly waiters: Set<Waiter>
  latest: BufferedAnswer | undefined
  error: unknown
  /** The next poll, while none is in flight. */
  timer: NodeJS.Timeout | undefined
}

/** The longest delay Node's timers keep; beyond it they fire after 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1

export class ComputationWatcher {
  readonly #intervalMs: number
  readonly #fetch: (computationId: string) => Promise<BufferedAnswer>
  readonly #isTerminal: (answer: BufferedAnswer) => boolean
  readonly #loops = new Map<string, PollLoop>()
  #closed = false

  constructor (options: WatchOptions) {
    const { intervalMs } = options
    if (!(intervalMs > 0 && intervalMs <= MAX_TIMER_MS)) {
      throw new RangeError(`intervalMs must be a positive number of at most ${MAX_TIMER_MS}, got ${intervalMs}`)
    }
    this.#intervalMs = intervalMs
    this.#fetch = options.fetch
    this.#isTerminal = options.isTerminal
  }

  /**
   * Waits until the computation ends, or timeoutMs passes, or close(). The first waiter of a
   * computation starts its poll loop (a poll at once, then one intervalMs after each poll lands);
   * later waiters share it, and it stops when its last waiter leaves. A waiter whose signal aborts
   * is dropped with kind 'closed'. A poll that fails does not end the wait.
   */
  async wait (computationId: string, timeoutMs: number, signal?: AbortSignal): Promise<WaitOutcome> {
    if (!(timeoutMs >= 0 && timeoutMs <= MAX_TIMER_MS)) {
      throw new RangeError(`timeoutMs must be a non-negative number of at most ${MAX_TIMER_MS}, got ${timeoutMs}`)
    }
    const existing = this.#loops.get(computationId)
    if (this.#closed || signal?.aborted === true) return { kind: 'closed', latest: existing?.latest }
    const loop = existing ?? this.#start(computationId)

    return await new Promise<WaitOutcome>((resolve) => {
      const waiter: Waiter = {
        settle: (outcome) => {
          clearTimeout(timeout)
          signal?.removeEventListener('abort', onAbort)
          loop.waiters.delete(waiter)
          if (loop.waiters.size === 0) this.#stop(loop)
          resolve(outcome)
        }
      }
      const onAbort = (): void => { waiter.settle({ kind: 'closed', latest: loop.latest }) }
      const timeout = setTimeout(() => {
        // The failure only matters when there is no answer to show instead.
        waiter.settle({ kind: 'timeout', latest: loop.latest, error: loop.latest === undefined ? loop.error : undefined })
      }, timeoutMs)
      signal?.addEventListener('abort', onAbort, { once: true })
      loop.waiters.add(waiter)
      // A new loop polls only now, once its first waiter is in place to hear the answer.
      if (existing === undefined) this.#poll(loop)
    })
  }

  /** Releases every waiter (kind 'closed' with the latest answer) and stops all loops; later wait() calls resolve 'closed' at once. */
  close (): void {
    this.#closed = true
    for (const loop of [...this.#loops.values()]) {
      for (const waiter of [...loop.waiters]) waiter.settle({ kind: 'closed', latest: loop.latest })
    }
  }

  /** Computations being polled now. */
  get watching (): number {
    return this.#loops.size
  }

  /** Waiters on all computations. */
  get waiters (): number {
    let count = 0
    for (const loop of this.#loops.values()) count += loop.waiters.size
    return count
  }

  #start (computationId: string): PollLoop {
    const loop: PollLoop = { computationId, waiters: new Set(), latest: undefined, error: undefined, timer: undefined }
    this.#loops.set(computationId, loop)
    return loop
  }

  #stop (loop: PollLoop): void {
    clearTimeout(loop.timer)
    loop.timer = undefined
    if (this.#loops.get(loop.computationId) === loop) this.#loops.delete(loop.computationId)
  }

  #poll (loop: PollLoop): void {
    loop.timer = undefined
    // A fetch that throws instead of rejecting is a failed poll like any other.
    new Promise<BufferedAnswer>((resolve) => { resolve(this.#fetch(loop.computationId)) }).then(
      (answer) => { this.#heard(loop, answer) },
      (error: unknown) => { this.#failed(loop, error) }
    )
  }

  #heard (loop: PollLoop, answer: BufferedAnswer): void {
    // A loop whose waiters all left while the poll was in flight has nobody to tell.
    if (this.#loops.get(loop.computationId) !== loop) return
    let terminal: boolean
    try {
      terminal = answer.status === 200 && this.#isTerminal(answer)
    } catch (error) {
      this.#failed(loop, error)
      return
    }
    if (answer.status !== 200) this.#finish(loop, { kind: 'answer', answer })
    else if (terminal) this.#finish(loop, { kind: 'terminal', answer })
    else {
      loop.latest = answer
      this.#schedule(loop)
    }
  }

  #failed (loop: PollLoop, error: unknown): void {
    if (this.#loops.get(loop.computationId) !== loop) return
    loop.error = error
    this.#schedule(loop)
  }

  #schedule (loop: PollLoop): void {
    // Unref'd: the waiters' own timeouts keep the process alive while anyone waits.
    loop.timer = setTimeout(() => { this.#poll(loop) }, this.#intervalMs).unref()
  }

  #finish (loop: PollLoop, outcome: WaitOutcome): void {
    this.#stop(loop)
    for (const waiter of [...loop.waiters]) waiter.settle(outcome)
  }
}
