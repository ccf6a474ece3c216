// The two kinds of load: saturation (autocannon, a fixed number of connections each sending its
// next request as soon as the last is answered) and an open-loop fixed rate (our own, with undici,
// timing each request in µs: autocannon records latency in whole milliseconds).
import type { IncomingHttpHeaders } from 'node:http'
import autocannon from 'autocannon'
import { Agent } from 'undici'

export interface RequestSpec {
  method: 'GET' | 'POST'
  path: string
  headers: Record<string, string>
  body?: string
}

export interface Saturation {
  requests: number
  rps: number
  /** Answers that were not 2xx, where they were allowed (`refusals: 'count'`). */
  non2xx: number
}

/**
 * `connections` connections as fast as they go for `seconds`; any error throws, and so does a
 * non-2xx answer unless `refusals` is 'count' (a measure of memory, where a refusal is an answer).
 */
export async function saturate (origin: string, spec: RequestSpec, connections: number, seconds: number, refusals: 'throw' | 'count' = 'throw'): Promise<Saturation> {
  const codes = new Map<string, number>()
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon({
      url: `${origin}${spec.path}`, method: spec.method, headers: spec.headers, connections, duration: seconds, timeout: 10,
      ...(spec.body === undefined ? {} : { body: spec.body })
    }, (error, result) => { if (error !== null && error !== undefined) reject(error as Error); else resolve(result) })
    instance.on('reqError', (error: { code?: string }) => { codes.set(error.code ?? String(error), (codes.get(error.code ?? String(error)) ?? 0) + 1) })
  })
  if ((result.non2xx > 0 && refusals === 'throw') || result.errors > 0) {
    const statuses = Object.entries((result as { statusCodeStats?: Record<string, { count: number }> }).statusCodeStats ?? {})
      .filter(([status]) => !status.startsWith('2')).map(([status, { count }]) => `status ${status} × ${count}`)
    const why = [...[...codes].map(([code, count]) => `${code} × ${count}`), ...statuses].join(', ')
    throw new Error(`${spec.method} ${origin}${spec.path}, ${connections} connections: ${result.non2xx} non-2xx, ${result.errors} errors (${why})`)
  }
  return { requests: result.requests.total, rps: result.requests.total / seconds, non2xx: result.non2xx }
}

export interface Outcome {
  index: number
  /** When it was sent, in ms since the load started. */
  sentAtMs: number
  latencyMs: number
  status?: number
  headers?: IncomingHttpHeaders
  /** The undici or system error code when it got no answer. */
  error?: string
}

export interface FixedRate {
  /** Sent (or skipped) after the warm-up. */
  sent: number
  /** Not sent because `maxInFlight` requests were already waiting: the target fell behind. */
  skipped: number
  /** Latencies of the 2xx answers, in ms, ascending. */
  latenciesMs: Float64Array
  non2xx: number
  errors: number
  /** Why requests failed without an answer (the error's code, or its text), and how many each. */
  errorCodes: Map<string, number>
  /** Statuses of the answers that were not 2xx, and how many each. */
  non2xxStatuses: Map<number, number>
  seconds: number
}

export interface FixedRateOptions {
  rate: number
  seconds: number
  /** The i-th request. */
  request: (index: number) => RequestSpec
  maxInFlight?: number
  /** Sent at the same rate first and not counted: connections opened, caches warm. Default 0. */
  warmUpSeconds?: number
  onOutcome?: (outcome: Outcome) => void
}

/**
 * Sends `rate` requests a second for `seconds` whatever the answers (open loop), over kept-alive
 * connections, then waits (at most 30 s) for the last answers. Latency is from sending to the
 * last byte of the body.
 */
export async function fixedRate (origin: string, options: FixedRateOptions): Promise<FixedRate> {
  const maxInFlight = options.maxInFlight ?? 512
  const agent = new Agent({ connections: maxInFlight, pipelining: 1, connectTimeout: 5_000, headersTimeout: 30_000, bodyTimeout: 30_000 })
  const uncounted = Math.round(options.rate * (options.warmUpSeconds ?? 0))
  const total = uncounted + Math.round(options.rate * options.seconds)
  const latencies: number[] = []
  let sent = 0
  let skipped = 0
  let non2xx = 0
  let errors = 0
  const errorCodes = new Map<string, number>()
  const non2xxStatuses = new Map<number, number>()
  let inFlight = 0
  let settled: (() => void) | undefined
  const start = process.hrtime.bigint()
  const sinceStartMs = (): number => Number(process.hrtime.bigint() - start) / 1e6

  const send = (index: number): void => {
    const spec = options.request(index)
    inFlight++
    const sentAt = process.hrtime.bigint()
    const sentAtMs = Number(sentAt - start) / 1e6
    agent.request({ origin, path: spec.path, method: spec.method, headers: spec.headers, body: spec.body ?? null })
      .then(async (response) => {
        await response.body.text()
        const latencyMs = Number(process.hrtime.bigint() - sentAt) / 1e6
        if (response.statusCode < 200 || response.statusCode >= 300) {
          non2xx++
          non2xxStatuses.set(response.statusCode, (non2xxStatuses.get(response.statusCode) ?? 0) + 1)
        } else if (index >= uncounted) latencies.push(latencyMs)
        options.onOutcome?.({ index, sentAtMs, latencyMs, status: response.statusCode, headers: response.headers })
      }, (error: { code?: string }) => {
        errors++
        const code = error.code ?? String(error)
        errorCodes.set(code, (errorCodes.get(code) ?? 0) + 1)
        options.onOutcome?.({ index, sentAtMs, latencyMs: Number(process.hrtime.bigint() - sentAt) / 1e6, error: code })
      })
      .finally(() => {
        inFlight--
        if (inFlight === 0) settled?.()
      })
  }

  let issued = 0
  while (issued < total) {
    const due = Math.min(total, Math.floor(sinceStartMs() / 1000 * options.rate) + 1)
    for (; issued < due; issued++) {
      if (inFlight >= maxInFlight) skipped++
      else send(issued)
      if (issued >= uncounted) sent++
    }
    await new Promise((resolve) => setTimeout(resolve, 1))
  }
  const seconds = sinceStartMs() / 1000 - (options.warmUpSeconds ?? 0)
  if (inFlight > 0) {
    await Promise.race([
      new Promise<void>((resolve) => { settled = resolve }),
      new Promise((resolve) => setTimeout(resolve, 30_000).unref())
    ])
  }
  await agent.destroy()
  return { sent, skipped, latenciesMs: Float64Array.from(latencies).sort(), non2xx, errors, errorCodes, non2xxStatuses, seconds }
}

/** What went wrong at a fixed rate, as a clause of an error message: "2 ECONNRESET, 3 × 503". */
export function failuresOf (result: Pick<FixedRate, 'errorCodes' | 'non2xxStatuses'>): string {
  return [...result.errorCodes, ...result.non2xxStatuses].map(([why, count]) => `${count} × ${why}`).join(', ')
}
