// Forwards one validated, authorized request to the same path on Code Ocean and sends the answer
// back unchanged (status, body bytes, allowlisted headers). Only Code Ocean's 401 is not passed
// on: it means the proxy's own token is wrong, which the caller can do nothing about. Reads are
// retried on connect errors, 429 and 502–504 within a budget; identical concurrent polls of one
// computation share one call. A request may carry an answer filter (a run's owner and
// idempotency record, a list cut to what the caller may read), which reads the answer whole.
import type { FastifyBaseLogger, FastifyReply, FastifyRequest, FastifySchema } from 'fastify'
import type { Dispatcher } from 'undici'
// The route contract says whether a call mutates, is retried or is shared.
import '../contract/route-contract.js'
import { AuditUnavailable, UpstreamCredentialRejected, UpstreamProtocolError } from '../errors.js'
import type { UpstreamCall, UpstreamClient, UpstreamResult } from './client.js'
import type { BufferedAnswer, Coalescer } from './coalesce.js'
import { classifyUpstreamFailure, type UpstreamFailure } from './failures.js'
import { callerResponseHeaders, upstreamRequestHeaders } from './headers.js'
import { retryDelay, sleep, type RetryPolicy } from './retry.js'
import { upstreamPath } from './url.js'

const BODYLESS_STATUSES = new Set([204, 205, 304])
/** An answer the proxy must read whole (to filter or share it); Code Ocean's are far smaller. */
export const MAX_BUFFERED_ANSWER_BYTES = 32 * 1024 * 1024

/** Reads a whole answer and returns the bytes to send instead (the same ones, or fewer). */
export type AnswerFilter = (answer: BufferedAnswer) => Promise<Buffer>

export interface Forwarder {
  upstream: UpstreamClient
  retry: RetryPolicy
  /** Shares concurrent identical polls, and answers recent terminal ones from memory; undefined turns that off. */
  polls: Coalescer | undefined
  /** Pass the caller's trace context on (see upstreamRequestHeaders). */
  callerTraceContext: boolean
}

/** No usable answer came: carries the failure, shared by every caller of one coalesced poll. */
export class UpstreamCallFailed extends Error {
  readonly failure: UpstreamFailure
  constructor (failure: UpstreamFailure) {
    super(failure.error.message)
    this.failure = failure
  }
}

/**
 * The upstream call for a request, from validated parts only: every mirrored route declares a
 * strict querystring schema (NoQuery at least), and a body is sent only where one is declared.
 */
function upstreamCallFor ({ upstream, callerTraceContext }: Forwarder, request: FastifyRequest): UpstreamCall {
  const { url } = request.routeOptions
  const schema = request.routeOptions.schema as FastifySchema
  const body = schema.body !== undefined && request.body !== undefined ? JSON.stringify(request.body) : undefined
  return {
    operation: String(schema.operationId),
    method: request.method as UpstreamCall['method'],
    path: upstreamPath(upstream.target, String(url), request.params as Record<string, unknown>, request.query as Record<string, unknown>),
    headers: upstreamRequestHeaders(request.headers, {
      authorization: upstream.credential.authorization(),
      requestId: request.id,
      hasBody: body !== undefined,
      agentId: request.agentId,
      callerTraceContext
    }),
    ...(body === undefined ? {} : { body })
  }
}

/** What makes two polls the same: the path (Code Ocean answers JSON whatever Accept says; who asks does not change the answer). */
export function pollKey (call: UpstreamCall): string {
  return call.path
}

export async function forwardToCodeOcean (forwarder: Forwarder, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  // A caller already gone gets nothing forwarded on its behalf (its record says it left).
  if (reply.raw.destroyed) return reply
  if (request.routeOptions.config.contract?.mutates === true) {
    try {
      await request.audit.durable()
    } catch (error) {
      throw new AuditUnavailable({ cause: error })
    }
  }
  const call = upstreamCallFor(forwarder, request)
  request.audit.upstreamStarted()
  try {
    // Awaiting the reply waits for the streamed answer to end, so the audit sees the whole call.
    // A poll naming a Min-Server-Version is its own question: it is not shared.
    if (forwarder.polls !== undefined && request.routeOptions.config.contract?.coalesces === true && call.headers['min-server-version'] === undefined) {
      return await sendBuffered(await poll(forwarder.polls, forwarder, call, request), request, reply)
    }
    return await relay(forwarder, call, request, reply)
  } finally {
    request.audit.upstreamSettled()
  }
}

/** One poll: shared with identical ones in flight, or answered from the terminal cache. */
async function poll (polls: Coalescer, forwarder: Forwarder, call: UpstreamCall, request: FastifyRequest): Promise<BufferedAnswer> {
  const started = performance.now()
  // A caller who joined another's call records how long it waited for it.
  const waited = (): void => { request.audit.upstreamMs ??= performance.now() - started }
  try {
    const { answer, source } = await polls.run(pollKey(call), async () => await fetchWhole(forwarder, call, request.log, request))
    request.audit.answerSource = source
    waited()
    return answer
  } catch (error) {
    waited()
    const { failure } = error as UpstreamCallFailed
    failed(request, failure)
    throw failure.error
  }
}

/** Calls with retries and reads the answer whole; throws UpstreamCallFailed when no answer came. */
export async function fetchWhole (forwarder: Forwarder, call: UpstreamCall, log: FastifyBaseLogger, request?: FastifyRequest): Promise<BufferedAnswer> {
  const result = await callWithRetries(forwarder, call, log, request)
  if (!result.ok) throw new UpstreamCallFailed(result.failure)
  const { response } = result
  return { status: response.statusCode, headers: callerResponseHeaders(response.headers), body: await readWhole(forwarder.upstream, response) }
}

/** Makes the call, again after a pause while the route allows retries and the outcome and budget do. */
async function callWithRetries (forwarder: Forwarder, call: UpstreamCall, log: FastifyBaseLogger, request: FastifyRequest | undefined): Promise<UpstreamResult> {
  const retries = request === undefined || request.routeOptions.config.contract?.retries === true
  const started = performance.now()
  let attempts = 0
  /** One attempt, and the pause before the next one (undefined: no next one). */
  const attempt = async (): Promise<{ result: UpstreamResult, delay: number | undefined }> => {
    attempts++
    const result = await forwarder.upstream.call(call)
    if (request !== undefined) {
      request.audit.upstreamAttempts = attempts
      request.audit.upstreamMs = result.durationMs
      request.audit.answerSource = 'upstream'
    }
    const outcome = result.ok
      ? { kind: 'answer' as const, status: result.response.statusCode, ...retryAfterOf(result.response) }
      : { kind: 'failure' as const, errorClass: result.failure.errorClass }
    const delay = retries ? retryDelay(forwarder.retry, outcome, attempts, performance.now() - started) : undefined
    if (delay !== undefined) log.info({ attempt: attempts, delayMs: delay, outcome }, 'retrying a read from Code Ocean')
    return { result, delay }
  }
  let next = await attempt()
  while (next.delay !== undefined) {
    // Dropped, not drained: an error body that trickles must not push the retry past its budget.
    if (next.result.ok) next.result.response.body.once('error', () => {}).destroy()
    await sleep(next.delay)
    next = await attempt()
  }
  return next.result
}

function retryAfterOf (response: Dispatcher.ResponseData): { retryAfter?: string } {
  const value = response.headers['retry-after']
  return typeof value === 'string' ? { retryAfter: value } : {}
}

function failed (request: FastifyRequest, failure: UpstreamFailure): void {
  // Recorded here too: if the caller has left, the error handler never runs.
  request.audit.errorClass = failure.errorClass
  request.audit.errorCode = failure.error.code
  request.log.warn({ errorClass: failure.errorClass, errno: (failure.error.cause as { code?: string } | undefined)?.code }, 'Code Ocean call failed')
}

async function relay (forwarder: Forwarder, call: UpstreamCall, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const result = await callWithRetries(forwarder, call, request.log, request)
  if (!result.ok) {
    failed(request, result.failure)
    throw result.failure.error
  }
  const { response } = result
  request.audit.upstreamStatus = response.statusCode
  try {
    return await answer(forwarder.upstream, response, request, reply)
  } catch (error) {
    // Never leave an undici body unread: it would hold the pooled connection.
    await response.body.dump()
    throw error
  }
}

/** Code Ocean's 401 and impossible statuses are the proxy's problem, not the caller's answer. */
function refuseUnusable (status: number, request: FastifyRequest): void {
  // Recorded here as well as by the error handler, which does not run for a caller that has left.
  // (@fastify/error sets `code` on each instance, not on the prototype.)
  if (status === 401) {
    const error = new UpstreamCredentialRejected()
    request.audit.errorClass = 'credential_rejected'
    request.audit.errorCode = error.code
    request.log.error('Code Ocean answered 401 to the proxy\'s token: check CODEOCEAN_TOKEN or CODEOCEAN_TOKEN_FILE')
    throw error
  }
  if (status > 599) {
    const error = new UpstreamProtocolError()
    request.audit.errorClass = 'protocol'
    request.audit.errorCode = error.code
    throw error
  }
}

async function answer (upstream: UpstreamClient, response: Dispatcher.ResponseData, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  refuseUnusable(response.statusCode, request)
  if (request.answerFilter !== null) {
    const body = await readWhole(upstream, response).catch((error: UpstreamCallFailed) => {
      request.audit.errorClass = error.failure.errorClass
      throw error.failure.error
    })
    // Run even for a caller who has left: the filter may record what happened (a run's owner).
    return await sendBuffered({ status: response.statusCode, headers: callerResponseHeaders(response.headers), body }, request, reply)
  }
  if (reply.raw.destroyed) {
    await response.body.dump()
    return reply
  }
  response.body.once('error', (error) => {
    // The caller leaving makes Fastify abort the body; anything else broke mid-answer.
    if (reply.raw.destroyed) return
    const failure = classifyUpstreamFailure(error, upstream.timeouts)
    request.audit.errorClass = failure.errorClass
    request.log.warn({ errorClass: failure.errorClass }, 'Code Ocean\'s answer broke off after it had started')
  })
  reply.code(response.statusCode).headers(callerResponseHeaders(response.headers))
  if (BODYLESS_STATUSES.has(response.statusCode)) {
    await response.body.dump()
    return reply.send()
  }
  return reply.send(response.body)
}

/** Sends an answer already in memory, through the request's filter if it has one; `status` overrides Code Ocean's. */
export async function sendBuffered (buffered: BufferedAnswer, request: FastifyRequest, reply: FastifyReply, status = buffered.status): Promise<FastifyReply> {
  request.audit.upstreamStatus = buffered.status
  refuseUnusable(buffered.status, request)
  const body = request.answerFilter === null ? buffered.body : await request.answerFilter(buffered)
  if (reply.raw.destroyed) return reply
  // Fastify itself sends no body with a 204 or 304.
  return reply.code(status).headers(buffered.headers).removeHeader('content-length').send(body)
}

/** The whole body, bounded; rejects with UpstreamCallFailed when it breaks off or is too large. */
async function readWhole (upstream: UpstreamClient, response: Dispatcher.ResponseData): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  try {
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      size += chunk.length
      if (size > MAX_BUFFERED_ANSWER_BYTES) throw new UpstreamProtocolError()
      chunks.push(chunk)
    }
  } catch (error) {
    throw new UpstreamCallFailed(error instanceof UpstreamProtocolError ? { errorClass: 'protocol', error } : classifyUpstreamFailure(error, upstream.timeouts))
  }
  return Buffer.concat(chunks)
}
