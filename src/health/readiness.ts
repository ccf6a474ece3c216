// Whether this instance should be sent traffic: not draining, not overloaded, its store answering, the gateway's
// keys loaded (when a gateway is configured), the circuit to Code Ocean not open, and the audit
// trail writing (red as soon as a write fails, not only once its queue is full). Cheap enough for a load balancer to ask every second: one store ping, shared
// by probes that arrive together.
import type { HealthStore } from '../store/store.js'

export interface ReadinessSources {
  draining: () => boolean
  /** Past the overload thresholds: new requests are being refused. */
  overloaded: () => boolean
  store: HealthStore
  /** The gateway's verifier, when one is configured: ready once it holds keys. */
  gateway?: { ready: () => boolean }
  circuit: () => 'closed' | 'open' | 'half-open'
  /** The trail's backlog, and whether its writes are failing now. */
  auditQueue: () => { queued: number, limit: number, failing: boolean }
  /** How long the store gets to answer its ping. */
  storeTimeoutMs: number
}

export interface Check { ok: boolean, message?: string }

export interface ReadinessReport {
  ready: boolean
  checks: Record<string, Check>
}

const OK: Check = { ok: true }

export class Readiness {
  readonly #sources: ReadinessSources
  #ping: Promise<Check> | undefined

  constructor (sources: ReadinessSources) {
    this.#sources = sources
  }

  async check (): Promise<ReadinessReport> {
    const { draining, overloaded, gateway, circuit, auditQueue } = this.#sources
    const checks: Record<string, Check> = {
      draining: draining() ? { ok: false, message: 'shutting down: finishing the requests in flight' } : OK,
      load: overloaded() ? { ok: false, message: 'overloaded: new requests are refused until it recovers' } : OK,
      store: await this.#pingStore()
    }
    if (gateway !== undefined) checks.gateway = gateway.ready() ? OK : { ok: false, message: 'the gateway\'s signing keys have not been fetched yet' }
    checks.upstream = circuit() === 'open' ? { ok: false, message: 'the circuit to Code Ocean is open after repeated failures' } : OK
    const { queued, limit, failing } = auditQueue()
    checks.audit = queued >= limit
      ? { ok: false, message: `${queued} audit records are waiting to be written: new requests are refused` }
      : failing
        ? { ok: false, message: `audit records cannot be written (${queued} waiting): changes are refused until the store takes them again` }
        : OK
    return { ready: Object.values(checks).every((check) => check.ok), checks }
  }

  /** One ping at a time: probes that arrive while one is out share its answer. */
  async #pingStore (): Promise<Check> {
    this.#ping ??= this.#timedPing().finally(() => { this.#ping = undefined })
    return await this.#ping
  }

  async #timedPing (): Promise<Check> {
    const { store, storeTimeoutMs } = this.#sources
    let timer: NodeJS.Timeout | undefined
    const timedOut = new Promise<Check>((resolve) => {
      timer = setTimeout(() => resolve({ ok: false, message: `the store did not answer within ${storeTimeoutMs} ms` }), storeTimeoutMs)
    })
    const pinged = store.ping().then(() => OK, () => ({ ok: false, message: 'the store cannot be reached' }))
    const check = await Promise.race([pinged, timedOut])
    clearTimeout(timer)
    return check
  }
}
