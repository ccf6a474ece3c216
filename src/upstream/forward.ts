// Forwards one validated request to the same path on Code Ocean and streams the answer back
// unchanged (status, body bytes, allowlisted headers). Only Code Ocean's 401 is not passed on:
// it means the proxy's own token is wrong, which the caller can do nothing about.
import type { FastifyReply, FastifyRequest, FastifySchema } from 'fastify'
import type { Dispatcher } from 'undici'
import { UpstreamCredentialRejected, UpstreamProtocolError } from '../errors.js'
import type { UpstreamCall, UpstreamClient } from './client.js'
import { classifyUpstreamFailure } from './failures.js'
import { callerResponseHeaders, upstreamRequestHeaders } from './headers.js'
import { upstreamPath } from './url.js'

const BODYLESS_STATUSES = new Set([204, 205, 304])

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
      hasBody: body !== undefined
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
