// Forwards one validated, authorized request to the same path on Code Ocean and sends the answer
// back unchanged (status, body bytes, allowlisted headers). Only Code Ocean's 401 is not passed
// on: it means the proxy's own token is wrong, which the caller can do nothing about. The client
// retries reads the contract allows; identical concurrent polls of one computation share one call.
// A call may come with an answer handler (a run's owner and idempotency record, a list cut to
// what the caller may read), which gets the answer whole and says what to send instead.
import type { FastifyReply, FastifyRequest, FastifySchema } from 'fastify'
// The route contract says whether a call mutates, is retried or is shared.
import '../contract/route-contract.js'
import { AuditUnavailable, UpstreamCredentialRejected, UpstreamProtocolError } from '../errors.js'
import { provenIdentity } from '../identity/caller.js'
import type { Identity } from '../identity/identity.js'
import type { CallOptions, UpstreamCall, UpstreamClient, WholeAnswer } from './client.js'
import type { BufferedAnswer, Coalescer } from './coalesce.js'
import { classifyUpstreamFailure, type UpstreamFailure } from './failures.js'
import { callerResponseHeaders, upstreamRequestHeaders } from './headers.js'
import { UpstreamCallFailed, type UpstreamOutcome } from './outcome.js'
import { pollKeyOf } from './poll-keys.js'
import { upstreamPath } from './url.js'
import { routeOf } from '../contract/route-of-request.js'

const BODYLESS_STATUSES = new Set([204, 205, 304])

/**
 * Gets a whole answer and returns the bytes to send instead (the same ones, or fewer). It runs
 * even for a caller who has left, since it may record what happened (a run's owner).
 */
export type AnswerHandler = (answer: BufferedAnswer) => Promise<Buffer>

export interface Forwarder {
  upstream: UpstreamClient
  /** Shares concurrent identical polls, and answers recent terminal ones from memory; undefined turns that off. */
  polls: Coalescer | undefined
  /** Pass the caller's trace context on (see upstreamRequestHeaders). */
  callerTraceContext: boolean
}

/**
 * The upstream call for a request, from validated parts only: every mirrored route declares a
 * strict querystring schema (NoQuery at least), and a body is sent only where one is declared.
 */
function upstreamCallFor ({ upstream, callerTraceContext }: Forwarder, request: FastifyRequest): UpstreamCall {
  const route = routeOf(request)
  const { url } = route
  const schema = route.schema as FastifySchema
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
    ...(body === undefined ? {} : { body }),
    caller: callerOf(provenIdentity(request.caller))
  }
}

/** Whose share of the limits a call draws on: one subject, proven one way (authorization has refused everyone else). */
function callerOf (identity: Identity): string {
  return `${identity.method}:${identity.subject}`
}

/** The answer as a caller may see it: only allowlisted headers. */
export function bufferedAnswer (answer: WholeAnswer): BufferedAnswer {
  return { status: answer.status, headers: callerResponseHeaders(answer.headers), body: answer.body }
}

export async function forwardToCodeOcean (forwarder: Forwarder, request: FastifyRequest, reply: FastifyReply, onAnswer?: AnswerHandler): Promise<FastifyReply> {
  // A caller already gone gets nothing forwarded on its behalf (its record says it left).
  if (reply.raw.destroyed) return reply
  const contract = routeOf(request).config.contract
  if (contract?.mutates === true) {
    try {
      await request.audit.durable()
    } catch (error) {
      throw new AuditUnavailable({ cause: error })
    }
    // Nor does one who left while its record was being committed: its completed record is written
    // already, and would not say that Code Ocean was called.
    if (reply.raw.destroyed) return reply
  }
  const call = upstreamCallFor(forwarder, request)
  const options: CallOptions = { retries: contract?.retries === true, log: request.log }
  request.audit.upstreamStarted()
  try {
    // Awaiting the reply waits for the streamed answer to end, so the audit sees the whole call.
    const key = forwarder.polls !== undefined && contract?.coalesces === true ? pollKeyOf(call) : undefined
    if (key !== undefined) {
      return await sendBuffered(await poll(forwarder.polls as Coalescer, key, forwarder.upstream, call, options, request), request, reply, { onAnswer })
    }
    if (onAnswer !== undefined) return await sendBuffered(await fetchWhole(forwarder.upstream, call, options, request), request, reply, { onAnswer })
    return await relay(forwarder.upstream, call, options, request, reply)
  } finally {
    request.audit.upstreamSettled()
  }
}

/** One poll: shared with identical ones in flight, or answered from the terminal cache. */
async function poll (polls: Coalescer, key: string, upstream: UpstreamClient, call: UpstreamCall, options: CallOptions, request: FastifyRequest): Promise<BufferedAnswer> {
  const started = performance.now()
  // Set when this caller's own fetch was the one shared.
  let own: UpstreamOutcome | undefined
  let ran = false
  const fetch = async (): Promise<BufferedAnswer> => {
    ran = true
    const { answer, outcome } = await fetchShareable(upstream, call, options)
    own = outcome
    return answer
  }
  /** A caller who joined another's call records how long it waited for it, and no call of its own. */
  const joined = (): { attempts: number, durationMs: number, sent: boolean } => ({ attempts: 0, durationMs: performance.now() - started, sent: false })
  try {
    const { answer, source } = await polls.run(key, fetch)
    request.audit.recordUpstream(own ?? { kind: 'answer', status: answer.status, source, ...joined() })
    return answer
  } catch (error) {
    const { outcome } = error as UpstreamCallFailed
    throw failed(request, ran ? outcome : { ...outcome, source: 'coalesced', ...joined() })
  }
}

/** A call whose answer is read whole, for sharing; rejects with UpstreamCallFailed (which records this caller's outcome) when none came. */
export async function fetchShareable (upstream: UpstreamClient, call: UpstreamCall, options: CallOptions): Promise<{ answer: BufferedAnswer, outcome: UpstreamOutcome }> {
  const result = await upstream.fetch(call, options)
  if (!result.ok) {
    // Shared as no answer at all: whatever status a broken answer began with is not passed on.
    const { status, ...noAnswer } = result.outcome
    throw new UpstreamCallFailed(noAnswer)
  }
  return { answer: bufferedAnswer(result.answer), outcome: result.outcome }
}

/** A call whose answer is read whole; throws when no whole answer came. */
async function fetchWhole (upstream: UpstreamClient, call: UpstreamCall, options: CallOptions, request: FastifyRequest): Promise<BufferedAnswer> {
  const result = await upstream.fetch(call, options)
  if (!result.ok) throw failed(request, result.outcome)
  request.audit.recordUpstream(result.outcome)
  return bufferedAnswer(result.answer)
}

/** Records a call that got no usable answer, and returns the error to answer with. */
function failed (request: FastifyRequest, outcome: Extract<UpstreamOutcome, { kind: 'failure' }>): Error {
  // Recorded here, not by the error handler, which does not run for a caller that has left.
  request.audit.recordUpstream(outcome)
  const { failure } = outcome
  request.log.warn({ errorClass: failure.errorClass, errno: (failure.error.cause as { code?: string } | undefined)?.code }, 'Code Ocean call failed')
  return failure.error
}

/** Streams Code Ocean's answer to the caller as it arrives. */
async function relay (upstream: UpstreamClient, call: UpstreamCall, options: CallOptions, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const result = await upstream.call(call, options)
  if (!result.ok) throw failed(request, result.outcome)
  request.audit.recordUpstream(result.outcome)
  const { response } = result
  try {
    refuseUnusable(response.statusCode, request)
    if (reply.raw.destroyed) {
      await response.body.dump()
      return reply
    }
  } catch (error) {
    // Never leave an undici body unread: it would hold the pooled connection.
    await response.body.dump()
    throw error
  }
  response.body.once('error', (error) => {
    // The caller leaving makes Fastify abort the body; anything else broke mid-answer.
    if (reply.raw.destroyed) return
    const failure: UpstreamFailure = classifyUpstreamFailure(error, upstream.timeouts)
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

export interface SendOptions {
  /** Overrides Code Ocean's status (the wait route's 202). */
  status?: number
  onAnswer?: AnswerHandler | undefined
}

/** Sends an answer already in memory, through the call's answer handler if it has one. */
export async function sendBuffered (buffered: BufferedAnswer, request: FastifyRequest, reply: FastifyReply, options: SendOptions = {}): Promise<FastifyReply> {
  refuseUnusable(buffered.status, request)
  const body = options.onAnswer === undefined ? buffered.body : await options.onAnswer(buffered)
  if (reply.raw.destroyed) return reply
  // Fastify itself sends no body with a 204 or 304.
  return reply.code(options.status ?? buffered.status).headers(buffered.headers).removeHeader('content-length').send(body)
}
