// The one connection pool to Code Ocean and the call that forwards a validated request on it,
// behind a global limit (calls at once and per second, a bounded queue, each caller's share of
// them) and a circuit breaker that stops calling a Code Ocean that keeps failing, so the proxy
// never piles load onto it. The client retries the reads it is told it may, reads answers whole
// where asked, and says what became of each call as an UpstreamOutcome (see outcome.ts).
import { rootCertificates } from 'node:tls'
import { performance } from 'node:perf_hooks'
import { Pool, type Dispatcher } from 'undici'
import { readConfiguredFile } from '../config-file.js'
import { ConfigError, UpstreamProtocolError } from '../errors.js'
import { CircuitBreaker, type BreakerOptions } from './breaker.js'
import type { Credential } from './credential.js'
import { UpstreamLimiter, type LimiterOptions } from './limiter.js'
import { classifyUpstreamFailure, failedWhileConnecting, type UpstreamFailure, type UpstreamTimeouts } from './failures.js'
import { mayHaveSent, type UpstreamOutcome } from './outcome.js'
import { retryDelay, sleep, type RetryPolicy } from './retry.js'
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
  /** How reads that may be retried are (see retry.ts). */
  retry: RetryPolicy
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
  /** Whose call it is (their share of the limits is capped); undefined for the proxy's own. */
  caller?: string
}

export interface CallOptions {
  /** A read the route allows to be retried (see RouteContract.retries); false: one attempt. */
  retries: boolean
  /** Where a retry is logged (the request's log, which carries its id). */
  log: { info: (facts: object, message: string) => void }
}

/** A call's result: the answer, its body still to be read, or no answer; with what became of the call. */
export type UpstreamResult =
  | { ok: true, response: Dispatcher.ResponseData, outcome: Extract<UpstreamOutcome, { kind: 'answer' }> }
  | { ok: false, outcome: Extract<UpstreamOutcome, { kind: 'failure' }> }

/** An answer read whole; its headers as Code Ocean sent them. */
export interface WholeAnswer {
  status: number
  headers: Dispatcher.ResponseData['headers']
  body: Buffer
}

/** A call whose answer was read whole: or no answer, or one that broke off while it was read. */
export type WholeResult =
  | { ok: true, answer: WholeAnswer, outcome: UpstreamOutcome }
  | { ok: false, outcome: Extract<UpstreamOutcome, { kind: 'failure' }> }

/** An answer the proxy must read whole (to filter or share it); Code Ocean's are far smaller. */
export const MAX_WHOLE_ANSWER_BYTES = 32 * 1024 * 1024

/** One attempt, before retries are considered. */
type Attempt =
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
  /** Makes the call, again after a pause where the options, the outcome and the budget allow. */
  call (request: UpstreamCall, options: CallOptions): Promise<UpstreamResult>
  /** call(), with the answer read whole (bounded by MAX_WHOLE_ANSWER_BYTES). */
  fetch (request: UpstreamCall, options: CallOptions): Promise<WholeResult>
  /** Reads a streamed answer whole; a body that breaks off or is too large is a failure. */
  readWhole (response: Dispatcher.ResponseData): Promise<{ ok: true, body: Buffer } | { ok: false, failure: UpstreamFailure }>
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
  /** An attempt the limits refused: nothing is sent, and the failure class says so (idempotency keys rely on it). */
  const refused = (error: unknown, started: number): Attempt =>
    ({ ok: false, failure: { errorClass: 'overloaded', error: error as UpstreamFailure['error'] }, durationMs: performance.now() - started })
  /** One turn of a call: its caller's share is held by the call (see call), not by each turn. */
  const attempt = async (request: UpstreamCall): Promise<Attempt> => {
    const started = performance.now()
    let release: () => void
    try {
      release = await limiter.acquire()
    } catch (error) {
      return refused(error, started)
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
      const failure = classifyUpstreamFailure(error, options)
      // Not connecting at all says Code Ocean is unwell whatever was asked; anything later may be one call's trouble.
      breaker.failure(failedWhileConnecting(failure.errorClass) ? undefined : request.path)
      return { ok: false, failure, durationMs: performance.now() - started }
    }
    release()
    if (OVERLOAD_STATUSES.has(response.statusCode)) breaker.failure(request.path)
    else breaker.success()
    return { ok: true, response, durationMs: performance.now() - started }
  }
  const timeouts = { connectTimeoutMs, headersTimeoutMs, bodyTimeoutMs }
  const observed = async (request: UpstreamCall, result: Attempt | Promise<Attempt>): Promise<Attempt> => {
    const settled = await result
    observe?.(request.operation, settled.ok ? settled.response.statusCode : settled.failure.errorClass, settled.durationMs)
    return settled
  }

  async function call (request: UpstreamCall, options: CallOptions): Promise<UpstreamResult> {
    const started = performance.now()
    // The call holds its place in its caller's share from its first attempt to its answer, the
    // pauses before retries included: a retry is never refused because the caller filled the
    // share meanwhile (the joiners of a shared poll would get that refusal as theirs).
    let leave: () => void
    try {
      leave = limiter.enter(request.caller)
    } catch (error) {
      const result = await observed(request, refused(error, started))
      return finished(result, 1, false)
    }
    try {
      return await untilAnswered(request, options, started)
    } finally {
      leave()
    }
  }

  /** What became of a call, from its last attempt. */
  function finished (result: Attempt, attempts: number, sent: boolean): UpstreamResult {
    const facts = { attempts, durationMs: result.durationMs, source: 'upstream' as const, sent }
    return result.ok
      ? { ok: true, response: result.response, outcome: { kind: 'answer', status: result.response.statusCode, ...facts } }
      : { ok: false, outcome: { kind: 'failure', failure: result.failure, ...facts } }
  }

  /** Attempts the call, again after a pause where the options, the outcome and the budget allow. */
  async function untilAnswered (request: UpstreamCall, { retries, log }: CallOptions, started: number): Promise<UpstreamResult> {
    let attempts = 0
    let sent = false
    for (;;) {
      attempts++
      const result = await observed(request, attempt(request))
      sent ||= result.ok || mayHaveSent(result.failure)
      const tried = result.ok
        ? { kind: 'answer' as const, status: result.response.statusCode, ...retryAfterOf(result.response) }
        : { kind: 'failure' as const, errorClass: result.failure.errorClass }
      const delay = retries ? retryDelay(options.retry, tried, attempts, performance.now() - started) : undefined
      if (delay === undefined) return finished(result, attempts, sent)
      log.info({ attempt: attempts, delayMs: delay, outcome: tried }, 'retrying a read from Code Ocean')
      // Dropped, not drained: an error body that trickles must not push the retry past its budget.
      if (result.ok) result.response.body.once('error', () => {}).destroy()
      await sleep(delay)
    }
  }

  async function readWhole (response: Dispatcher.ResponseData): Promise<{ ok: true, body: Buffer } | { ok: false, failure: UpstreamFailure }> {
    const chunks: Buffer[] = []
    let size = 0
    try {
      for await (const chunk of response.body as AsyncIterable<Buffer>) {
        size += chunk.length
        if (size > MAX_WHOLE_ANSWER_BYTES) throw new UpstreamProtocolError()
        chunks.push(chunk)
      }
    } catch (error) {
      return { ok: false, failure: error instanceof UpstreamProtocolError ? { errorClass: 'protocol', error } : classifyUpstreamFailure(error, timeouts) }
    }
    return { ok: true, body: Buffer.concat(chunks) }
  }

  return {
    target,
    credential,
    timeouts,
    limiter,
    breaker,
    connections () {
      if (!(dispatcher instanceof Pool)) return undefined
      const { connected, running } = dispatcher.stats
      return { connected, busy: running }
    },
    call,
    async fetch (request, callOptions) {
      const result = await call(request, callOptions)
      if (!result.ok) return result
      const { response, outcome } = result
      const read = await readWhole(response)
      if (!read.ok) return { ok: false, outcome: { ...outcome, kind: 'failure', failure: read.failure } }
      return { ok: true, answer: { status: response.statusCode, headers: response.headers, body: read.body }, outcome }
    },
    readWhole,
    async close () {
      credential.close()
      if (ownsDispatcher) await dispatcher.close()
    }
  }
}

function retryAfterOf (response: Dispatcher.ResponseData): { retryAfter?: string } {
  const value = response.headers['retry-after']
  return typeof value === 'string' ? { retryAfter: value } : {}
}
