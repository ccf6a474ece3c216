// Fault injection: the rules tests register to make the simulator slow, fail, hang or drop the
// connection, matched per request before anything else happens.
import { validateHeaderName, validateHeaderValue } from 'node:http'
import type { Fault } from './types.js'

interface ActiveFault {
  readonly fault: Fault
  remaining: number
}

export class FaultBook {
  readonly #active: ActiveFault[] = []

  add (fault: Fault): void {
    assertValidFault(fault)
    const remaining = fault.times ?? Number.POSITIVE_INFINITY
    if (remaining === 0) return
    // A copy, so a test mutating its object later cannot change a registered fault.
    this.#active.push({ fault: { ...fault, ...(fault.headers ? { headers: { ...fault.headers } } : {}) }, remaining })
  }

  clear (): void {
    this.#active.length = 0
  }

  /** The first fault matching the request, counted as used. */
  take (method: string, path: string): Fault | undefined {
    const index = this.#active.findIndex(({ fault }) => matches(fault, method, path))
    const found = this.#active[index]
    if (!found) return undefined
    found.remaining -= 1
    if (found.remaining <= 0) this.#active.splice(index, 1)
    return found.fault
  }
}

function matches (fault: Fault, method: string, path: string): boolean {
  if (fault.method !== undefined && fault.method.toUpperCase() !== method.toUpperCase()) return false
  if (fault.path === undefined) return true
  if (typeof fault.path === 'string') return fault.path === path
  // A global or sticky RegExp remembers where it stopped; every request must be tested afresh.
  fault.path.lastIndex = 0
  return fault.path.test(path)
}

function assertValidFault (fault: Fault): void {
  if (fault.times !== undefined && !(Number.isInteger(fault.times) && fault.times >= 0)) {
    throw new RangeError(`Fault.times must be a non-negative integer, got ${fault.times}`)
  }
  if (fault.status !== undefined && !(Number.isInteger(fault.status) && fault.status >= 200 && fault.status <= 599)) {
    throw new RangeError(`Fault.status must be an integer HTTP status from 200 to 599, got ${fault.status}`)
  }
  if (fault.delayMs !== undefined && !(Number.isFinite(fault.delayMs) && fault.delayMs >= 0)) {
    throw new RangeError(`Fault.delayMs must be a non-negative number, got ${fault.delayMs}`)
  }
  // Checked now: a bad header would otherwise only fail later, in the middle of answering.
  for (const [name, value] of Object.entries(fault.headers ?? {})) {
    validateHeaderName(name)
    validateHeaderValue(name, value)
  }
}

export interface FaultAnswer {
  status: number
  body: string
  headers: Record<string, string>
}

/** The answer a fault with a `status` sends (its own `headers` are added by the sender). */
export function faultAnswer (fault: Fault & { status: number }): FaultAnswer {
  const { status, body } = fault
  if (typeof body === 'string') return { status, body, headers: { 'content-type': 'text/plain; charset=utf-8' } }
  if (body !== undefined) return { status, body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }
  if (status >= 400) {
    return { status, body: JSON.stringify({ message: 'Simulated fault' }), headers: { 'content-type': 'application/json' } }
  }
  return { status, body: '', headers: {} }
}

/** Timers for delay faults, cancellable all at once so close() never waits on them. */
export class Delays {
  readonly #pending = new Map<NodeJS.Timeout, (completed: boolean) => void>()

  /** Resolves true after `ms`, or false if cancelled first. */
  sleep (ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#pending.delete(timer)
        resolve(true)
      }, ms)
      this.#pending.set(timer, resolve)
    })
  }

  cancelAll (): void {
    for (const [timer, resolve] of this.#pending) {
      clearTimeout(timer)
      resolve(false)
    }
    this.#pending.clear()
  }
}
