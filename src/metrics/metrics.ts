// The proxy's Prometheus metrics: each request by operation and status, each call to Code Ocean,
// the audit trail's writes and the store's errors, and gauges read when scraped (connections to
// Code Ocean, calls queued, the circuit, records waiting to be written, the event loop).
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import { budgetOf, type RouteContract } from '../contract/route-contract.js'

/** Request and call latencies: from a cached poll (sub-millisecond) to a slow Code Ocean (a minute). */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]
const STORE_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5]
const CIRCUIT_STATES = ['closed', 'half-open', 'open'] as const

/** What a finished request tells the metrics: fields of its completed audit record. */
export interface FinishedRequest {
  action: string | null
  status: number
  durationMs: number
  upstreamAttempts: number
  answerSource: string | null
  errorCode: string | null
}

/** Read at each scrape, from the parts that hold them. */
/** What the upstream client reports when scraped. */
export interface UpstreamState {
  /** The pool's connections to Code Ocean; undefined when the app was given a dispatcher it does not own. */
  connections: () => { connected: number, busy: number } | undefined
  calls: () => { active: number, queued: number }
  circuit: () => { state: typeof CIRCUIT_STATES[number], openings: number }
}

const RATE_LIMITED = 'PROXY_RATE_LIMITED'
/** Why Node's HTTP parser refused a request (see plugins/parser-rejections.ts). */
export const PARSER_REJECTION_REASONS = ['request_timeout', 'headers_too_large', 'incomplete_body', 'malformed'] as const

let processRegistry: Registry | undefined
/** The process's own metrics (CPU, memory, event-loop delay, GC), made once however many apps a process builds. */
function processMetrics (): Registry {
  if (processRegistry === undefined) {
    processRegistry = new Registry()
    collectDefaultMetrics({ register: processRegistry })
  }
  return processRegistry
}

export class ProxyMetrics {
  readonly registry = new Registry()
  readonly contentType = this.registry.contentType
  readonly #requests: Histogram<'operation' | 'status'>
  readonly #upstream: Histogram<'operation' | 'outcome'>
  readonly #retries: Counter<'operation'>
  readonly #answers: Counter<'operation' | 'source'>
  readonly #rateLimited: Counter<'budget'>
  readonly #rateLimitsSkipped: Counter
  readonly #auditWrites: Histogram
  readonly #auditFailures: Counter
  readonly #store: Histogram<'operation'>
  readonly #storeErrors: Counter<'operation'>
  readonly #parserRejections: Counter<'reason'>
  readonly #connectionsDropped: Counter
  readonly #unauthenticatedLimited: Counter
  readonly #revocationsHeard: Counter
  readonly #foreignWritesHeard: Counter
  readonly #process = processMetrics()

  constructor () {
    const registers = [this.registry]
    this.#requests = new Histogram({
      name: 'codeocean_proxy_request_duration_seconds',
      help: 'Requests answered, by operationId ("none" where no route matched) and status, and how long they took.',
      labelNames: ['operation', 'status'],
      buckets: LATENCY_BUCKETS,
      registers
    })
    this.#upstream = new Histogram({
      name: 'codeocean_proxy_upstream_duration_seconds',
      help: 'Calls to Code Ocean (each retry counts), by operationId and outcome: the status it answered, or why no answer came.',
      labelNames: ['operation', 'outcome'],
      buckets: LATENCY_BUCKETS,
      registers
    })
    this.#retries = new Counter({ name: 'codeocean_proxy_upstream_retries_total', help: 'Reads sent to Code Ocean again after a failure.', labelNames: ['operation'], registers })
    this.#answers = new Counter({
      name: 'codeocean_proxy_answers_total',
      help: 'Where answers came from: upstream (a call of its own), coalesced (another caller\'s identical poll), cache (a finished computation), replay (an idempotent run answered again).',
      labelNames: ['operation', 'source'],
      registers
    })
    this.#rateLimited = new Counter({ name: 'codeocean_proxy_rate_limited_total', help: 'Requests refused with 429 by the per-caller limits, by budget (runs or calls).', labelNames: ['budget'], registers })
    this.#rateLimitsSkipped = new Counter({
      name: 'codeocean_proxy_rate_limit_checks_skipped_total',
      help: 'Calls let through unlimited because the rate-limit counters (Redis) failed or did not answer in time.',
      registers
    })
    this.#auditWrites = new Histogram({ name: 'codeocean_proxy_audit_write_duration_seconds', help: 'Batches of audit records written to the store.', buckets: STORE_BUCKETS, registers })
    this.#auditFailures = new Counter({ name: 'codeocean_proxy_audit_write_failures_total', help: 'Batches of audit records the store refused (they stay queued and are retried).', registers })
    this.#store = new Histogram({ name: 'codeocean_proxy_store_duration_seconds', help: 'Store operations, by operation.', labelNames: ['operation'], buckets: STORE_BUCKETS, registers })
    this.#storeErrors = new Counter({ name: 'codeocean_proxy_store_errors_total', help: 'Store operations that failed, by operation.', labelNames: ['operation'], registers })
    this.#parserRejections = new Counter({
      name: 'codeocean_proxy_parser_rejections_total',
      help: 'Requests refused at the HTTP level, their connection closed, by reason: request_timeout, headers_too_large, incomplete_body, malformed.',
      labelNames: ['reason'],
      registers
    })
    // Every reason is exported from the start, at 0, so a rate over it exists before the first refusal.
    for (const reason of PARSER_REJECTION_REASONS) this.#parserRejections.inc({ reason }, 0)
    this.#revocationsHeard = new Counter({ name: 'codeocean_proxy_key_revocations_heard_total', help: 'Service key revocations announced through PostgreSQL and heard by this instance (its held copy of the key dropped at once).', registers })
    this.#foreignWritesHeard = new Counter({ name: 'codeocean_proxy_store_foreign_writes_heard_total', help: 'Reads of the SQLite file\'s data version that found it written by another process (the keys command, an operator) since the last read: each time, every service key row this instance held was dropped.', registers })
    this.#unauthenticatedLimited = new Counter({ name: 'codeocean_proxy_unauthenticated_limited_total', help: 'Requests refused with 429 past UNAUTHENTICATED_PER_MINUTE from their address, without a credential or after too many that failed (not audited one by one).', registers })
    this.#connectionsDropped = new Counter({ name: 'codeocean_proxy_connections_dropped_total', help: 'Connections closed as soon as accepted, because MAX_CONNECTIONS were open.', registers })
  }

  /** Registers the gauges of the upstream client; called by whatever owns it. */
  watchUpstream (state: UpstreamState): void {
    this.#stateGauge('codeocean_proxy_upstream_connections', 'Connections to Code Ocean: open, and busy with a call.', () => {
      const connections = state.connections()
      return connections === undefined ? undefined : { open: connections.connected, busy: connections.busy }
    })
    this.#stateGauge('codeocean_proxy_upstream_calls',
      'Calls to Code Ocean in progress, and waiting for a turn under UPSTREAM_MAX_CONCURRENT and UPSTREAM_MAX_PER_SECOND.', () => state.calls())
    this.#stateGauge('codeocean_proxy_upstream_circuit', 'The circuit to Code Ocean: 1 for the state it is in, 0 for the others.', () => {
      const { state: current } = state.circuit()
      return Object.fromEntries(CIRCUIT_STATES.map((name) => [name, name === current ? 1 : 0]))
    })
    new Gauge({
      name: 'codeocean_proxy_upstream_circuit_openings',
      help: 'Times the circuit to Code Ocean has opened since the process started.',
      registers: [this.registry],
      collect () { this.set(state.circuit().openings) }
    })
  }

  /** Registers the gauge of the audit trail's queue; called by whatever owns the trail. */
  watchAuditQueue (queued: () => number): void {
    new Gauge({
      name: 'codeocean_proxy_audit_queued_records',
      help: 'Audit records waiting to be written to the store; new requests are refused at AUDIT_QUEUE_LIMIT.',
      registers: [this.registry],
      collect () { this.set(queued()) }
    })
  }

  /** Registers the gauge of waits; called by whatever owns the wait endpoint's watcher. */
  watchWaits (read: () => { callers: number, computations: number }): void {
    this.#stateGauge('codeocean_proxy_waits', 'Callers waiting at /computations/{id}/wait, and the computations polled for them.', read)
  }

  /** A gauge with one sample per `state` label, read when scraped; none when `read` has nothing. */
  #stateGauge (name: string, help: string, read: () => Record<string, number> | undefined): void {
    new Gauge({
      name,
      help,
      labelNames: ['state'],
      registers: [this.registry],
      collect () {
        for (const [state, value] of Object.entries(read() ?? {})) this.set({ state }, value)
      }
    })
  }

  /** One request answered; its route's contract (none for an unmatched URL) says which rate-limit budget refused it. */
  requestFinished (request: FinishedRequest, contract?: RouteContract): void {
    const operation = request.action ?? 'none'
    this.#requests.observe({ operation, status: request.status }, request.durationMs / 1000)
    if (request.upstreamAttempts > 1) this.#retries.inc({ operation }, request.upstreamAttempts - 1)
    if (request.answerSource !== null) this.#answers.inc({ operation, source: request.answerSource })
    const budget = contract === undefined ? undefined : budgetOf(contract)
    if (request.errorCode === RATE_LIMITED && budget !== undefined) this.#rateLimited.inc({ budget })
  }

  parserRejected (reason: typeof PARSER_REJECTION_REASONS[number]): void {
    this.#parserRejections.inc({ reason })
  }

  unauthenticatedLimited (): void {
    this.#unauthenticatedLimited.inc()
  }

  revocationHeard (): void {
    this.#revocationsHeard.inc()
  }

  foreignWritesHeard (): void {
    this.#foreignWritesHeard.inc()
  }

  connectionDropped (): void {
    this.#connectionsDropped.inc()
  }

  /** A call went through without its rate limit: the counters could not be read. */
  rateLimitCheckSkipped (): void {
    this.#rateLimitsSkipped.inc()
  }

  upstreamCallFinished (operation: string, outcome: string | number, durationMs: number): void {
    this.#upstream.observe({ operation, outcome }, durationMs / 1000)
  }

  storeCallFinished (operation: string, durationMs: number, failed: boolean): void {
    this.#store.observe({ operation }, durationMs / 1000)
    if (failed) this.#storeErrors.inc({ operation })
    if (operation !== 'appendAudit') return
    this.#auditWrites.observe(durationMs / 1000)
    if (failed) this.#auditFailures.inc()
  }

  /** The Prometheus text exposition: this app's metrics, then the process's. */
  async exposition (): Promise<string> {
    const [own, process] = await Promise.all([this.registry.metrics(), this.#process.metrics()])
    return `${own}\n${process}`
  }
}
