// Forwards one validated, authorized request to the same path on Code Ocean and streams the
// answer back unchanged (status, body bytes, allowlisted headers). Only Code Ocean's 401 is not
// passed on: it means the proxy's own token is wrong, which the caller can do nothing about. A
// request may carry an answer filter (ownership: record a run's owner, drop list elements the
// caller may not see), which reads a successful answer whole before it is sent.
import type { FastifyReply, FastifyRequest, FastifySchema } from 'fastify'
import type { Dispatcher } from 'undici'
import { AuditUnavailable, UpstreamCredentialRejected, UpstreamProtocolError } from '../errors.js'
import type { UpstreamCall, UpstreamClient } from './client.js'
import { classifyUpstreamFailure } from './failures.js'
import { callerResponseHeaders, upstreamRequestHeaders } from './headers.js'
import { upstreamPath } from './url.js'

const BODYLESS_STATUSES = new Set([204, 205, 304])
/** A successful answer an answer filter must read whole; Code Ocean's are far smaller. */
export const MAX_FILTERED_ANSWER_BYTES = 32 * 1024 * 1024

/** Reads a successful answer and returns the bytes to send instead (the same ones, or fewer). */
export type AnswerFilter = (body: Buffer) => Promise<Buffer>

/**
 * The upstream call for a request, from validated parts only: every mirrored route declares a
 * strict querystring schema (NoQuery at least), and a body is sent only where one is declared.
 */
function upstreamCallFor (upstream: UpstreamClient, request: FastifyRequest): UpstreamCall {
  const { url } = request.routeOptions
  const schema = request.routeOptions.schema as FastifySchema
  const body = schema.body !== undefined && request.body !== undefined ? JSON.stringify(request.body) : undefined
  return {
    method: request.method as UpstreamCall['method'],
    path: upstreamPath(upstream.target, String(url), request.params as Record<string, unknown>, request.query as Record<string, unknown>),
    headers: upstreamRequestHeaders(request.headers, {
      authorization: upstream.credential.authorization(),
      requestId: request.id,
      hasBody: body !== undefined,
      agentId: request.agentId
    }),
    ...(body === undefined ? {} : { body })
  }
}

export async function forwardToCodeOcean (
  upstream: UpstreamClient,
  request: FastifyRequest,
  reply: FastifyReply
): Promise<FastifyReply> {
  // A caller already gone gets nothing forwarded on its behalf (its record says it left).
  if (reply.raw.destroyed) return reply
  if (request.routeOptions.config.mutates === true) {
    try {
      await request.audit.durable()
    } catch (error) {
      throw new AuditUnavailable({ cause: error })
    }
  }
  const call = upstreamCallFor(upstream, request)
  request.audit.upstreamStarted()
  try {
    // Awaiting the reply waits for the streamed answer to end, so the audit sees the whole call.
    return await relay(upstream, call, request, reply)
  } finally {
    request.audit.upstreamSettled()
  }
}

async function relay (upstream: UpstreamClient, call: UpstreamCall, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const result = await upstream.call(call)
  request.audit.upstreamMs = result.durationMs
  if (!result.ok) {
    // Recorded here too: if the caller has left, the error handler never runs.
    request.audit.errorClass = result.failure.errorClass
    request.audit.errorCode = result.failure.error.code
    request.log.warn({ errorClass: result.failure.errorClass, errno: (result.failure.error.cause as { code?: string } | undefined)?.code }, 'Code Ocean call failed')
    throw result.failure.error
  }

  const { response } = result
  request.audit.upstreamStatus = response.statusCode
  try {
    return await answer(upstream, response, request, reply)
  } catch (error) {
    // Never leave an undici body unread: it would hold the pooled connection.
    await response.body.dump()
    throw error
  }
}

async function answer (upstream: UpstreamClient, response: Dispatcher.ResponseData, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  if (response.statusCode === 401) {
    request.audit.errorClass = 'credential_rejected'
    request.audit.errorCode = UpstreamCredentialRejected.prototype.code
    request.log.error('Code Ocean answered 401 to the proxy\'s token: check CODEOCEAN_TOKEN or CODEOCEAN_TOKEN_FILE')
    throw new UpstreamCredentialRejected()
  }
  if (response.statusCode > 599) {
    request.audit.errorClass = 'protocol'
    request.audit.errorCode = UpstreamProtocolError.prototype.code
    throw new UpstreamProtocolError()
  }
  if (reply.raw.destroyed) {
    // Nobody to answer, but a filter may still have to record what happened (a run's owner).
    if (request.answerFilter !== null && response.statusCode === 200) await request.answerFilter(await readWhole(upstream, request, response))
    else await response.body.dump()
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
  if (request.answerFilter !== null && response.statusCode === 200) {
    const filtered = await request.answerFilter(await readWhole(upstream, request, response))
    reply.removeHeader('content-length')
    return reply.send(filtered)
  }
  if (BODYLESS_STATUSES.has(response.statusCode)) {
    await response.body.dump()
    return reply.send()
  }
  return reply.send(response.body)
}

async function readWhole (upstream: UpstreamClient, request: FastifyRequest, response: Dispatcher.ResponseData): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  try {
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      size += chunk.length
      if (size > MAX_FILTERED_ANSWER_BYTES) throw new UpstreamProtocolError()
      chunks.push(chunk)
    }
  } catch (error) {
    const failure = error instanceof UpstreamProtocolError
      ? { errorClass: 'protocol', error }
      : classifyUpstreamFailure(error, upstream.timeouts)
    request.audit.errorClass = failure.errorClass
    throw failure.error
  }
  return Buffer.concat(chunks)
}
