// The one connection pool to Code Ocean and the call that forwards a validated request on it,
// behind a global limit (calls at once and per second, a bounded queue) and a circuit breaker
// that stops calling a Code Ocean that keeps failing, so the proxy never piles load onto it.
import { rootCertificates } from 'node:tls'
import { performance } from 'node:perf_hooks'
import { Pool, type Dispatcher } from 'undici'
import { readConfiguredFile } from '../config-file.js'
import { ConfigError } from '../errors.js'
import { CircuitBreaker, type BreakerOptions } from './breaker.js'
import type { Credential } from './credential.js'
import { UpstreamLimiter, type LimiterOptions } from './limiter.js'
import { classifyUpstreamFailure, type UpstreamFailure, type UpstreamTimeouts } from './failures.js'
import type { UpstreamTarget } from './url.js'

/** Answers that say Code Ocean is failing or overloaded: they count toward opening the circuit. */
const OVERLOAD_STATUSES = new Set([502, 503, 504])

export interface UpstreamOptions extends UpstreamTimeouts {
  target: UpstreamTarget
  credential: Credential
  connections: number
  /** PEM certificates to trust for Code Ocean in addition to the system's (see readCaFile). */
  ca?: string
  /** A dispatcher to use instead of creating a pool (left open on close: its owner closes it). */
  dispatcher?: Dispatcher
  limits: Omit<LimiterOptions, 'now'>
  breaker: Omit<BreakerOptions, 'now'>
  /** Told of every call's outcome (the status Code Ocean answered, or why none came) and duration. */
  observe?: (operation: string, outcome: number | string, durationMs: number) => void
}

export interface UpstreamCall {
  /** The operationId the call is made for (metrics name calls by it). */
  operation: string
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE'
  /** From upstreamPath(): already encoded, already checked. */
  path: string
  headers: Record<string, string>
  body?: string
}

export type UpstreamResult =
  | { ok: true, response: Dispatcher.ResponseData, durationMs: number }
  | { ok: false, failure: UpstreamFailure, durationMs: number }

export interface UpstreamClient {
  readonly target: UpstreamTarget
  readonly credential: Credential
  readonly timeouts: UpstreamTimeouts
  readonly limiter: UpstreamLimiter
  readonly breaker: CircuitBreaker
  /** The pool's connections: open, and busy with a call; undefined for a dispatcher given from outside. */
  connections (): { connected: number, busy: number } | undefined
  call (request: UpstreamCall): Promise<UpstreamResult>
  close (): Promise<void>
}

/** Reads CODEOCEAN_CA_FILE at start-up; an unreadable or empty file stops the process. */
export function readCaFile (path: string): string {
  const pem = readConfiguredFile('CODEOCEAN_CA_FILE', path)
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new ConfigError([`CODEOCEAN_CA_FILE ${path} holds no PEM certificate`])
  return pem
}

export function createUpstreamClient (options: UpstreamOptions): UpstreamClient {
  const { target, credential, connectTimeoutMs, headersTimeoutMs, bodyTimeoutMs } = options
  const ownsDispatcher = options.dispatcher === undefined
  const dispatcher = options.dispatcher ?? new Pool(target.origin, {
    connections: options.connections,
    headersTimeout: headersTimeoutMs,
    bodyTimeout: bodyTimeoutMs,
    connect: {
      timeout: connectTimeoutMs,
      // TLS verification stays on; a private CA is added, never a bypass.
      // Node's `ca` replaces the default roots; keep them so a private CA only adds trust.
      ...(options.ca === undefined ? {} : { ca: [...rootCertificates, options.ca] })
    }
  })

  const limiter = new UpstreamLimiter(options.limits)
  const breaker = new CircuitBreaker(options.breaker)
  const { observe } = options
  const attempt = async (request: UpstreamCall): Promise<UpstreamResult> => {
    const started = performance.now()
    // Refused here, nothing is sent: the failure classes say so (idempotency keys rely on it).
    let release: () => void
    try {
      release = await limiter.acquire()
    } catch (error) {
      return { ok: false, failure: { errorClass: 'overloaded', error: error as UpstreamFailure['error'] }, durationMs: performance.now() - started }
    }
    try {
      breaker.admit()
    } catch (error) {
      release()
      return { ok: false, failure: { errorClass: 'circuit_open', error: error as UpstreamFailure['error'] }, durationMs: performance.now() - started }
    }
    // The slot is held until the answer's headers arrive (or the call fails), not while its body streams.
    let response: Dispatcher.ResponseData
    try {
      response = await dispatcher.request({
        origin: target.origin,
        method: request.method,
        path: request.path,
        headers: request.headers,
        body: request.body ?? null,
        headersTimeout: headersTimeoutMs,
        bodyTimeout: bodyTimeoutMs
      })
    } catch (error) {
      release()
      breaker.failure()
      return { ok: false, failure: classifyUpstreamFailure(error, options), durationMs: performance.now() - started }
    }
    release()
    if (OVERLOAD_STATUSES.has(response.statusCode)) breaker.failure()
    else breaker.success()
    return { ok: true, response, durationMs: performance.now() - started }
  }
  return {
    target,
    credential,
    timeouts: { connectTimeoutMs, headersTimeoutMs, bodyTimeoutMs },
    limiter,
    breaker,
    connections () {
      if (!(dispatcher instanceof Pool)) return undefined
      const { connected, running } = dispatcher.stats
      return { connected, busy: running }
    },
    async call (request) {
      const result = await attempt(request)
      observe?.(request.operation, result.ok ? result.response.statusCode : result.failure.errorClass, result.durationMs)
      return result
    },
    async close () {
      credential.close()
      if (ownsDispatcher) await dispatcher.close()
    }
  }
}
