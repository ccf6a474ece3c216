// Forwards one validated request to the same path on Code Ocean and streams the answer back
// unchanged (status, body bytes, allowlisted headers). Only Code Ocean's 401 is not passed on:
// it means the proxy's own token is wrong, which the caller can do nothing about.
import type { FastifyReply, FastifyRequest } from 'fastify'
import { UpstreamCredentialRejected } from '../errors.js'
import type { UpstreamCall, UpstreamClient } from './client.js'
import { callerResponseHeaders, upstreamRequestHeaders } from './headers.js'
import { upstreamPath } from './url.js'

const BODYLESS_STATUSES = new Set([204, 205, 304])

export async function forwardToCodeOcean (
  upstream: UpstreamClient,
  request: FastifyRequest,
  reply: FastifyReply
): Promise<FastifyReply> {
  const { schema, url } = request.routeOptions
  // Only a body the route declares (and so validated) is forwarded, re-serialised from the validated value.
  const body = schema?.body !== undefined && request.body !== undefined ? JSON.stringify(request.body) : undefined
  const call: UpstreamCall = {
    method: request.method as UpstreamCall['method'],
    path: upstreamPath(upstream.target, url ?? '', request.params as Record<string, unknown>, request.query as Record<string, unknown>),
    headers: upstreamRequestHeaders(request.headers, {
      authorization: upstream.credential.authorization(),
      requestId: request.id,
      hasBody: body !== undefined
    }),
    ...(body === undefined ? {} : { body })
  }

  const result = await upstream.call(call)
  request.audit.upstreamMs = result.durationMs
  if (!result.ok) {
    request.audit.errorClass = result.failure.errorClass
    request.log.warn({ errorClass: result.failure.errorClass, errno: (result.failure.error.cause as { code?: string } | undefined)?.code }, 'Code Ocean call failed')
    throw result.failure.error
  }

  const { response } = result
  request.audit.upstreamStatus = response.statusCode
  if (response.statusCode === 401) {
    await response.body.dump()
    request.audit.errorClass = 'credential_rejected'
    request.log.error('Code Ocean answered 401 to the proxy\'s token: check CODEOCEAN_TOKEN or CODEOCEAN_TOKEN_FILE')
    throw new UpstreamCredentialRejected()
  }

  reply.code(response.statusCode).headers(callerResponseHeaders(response.headers))
  if (BODYLESS_STATUSES.has(response.statusCode)) {
    await response.body.dump()
    return reply.send()
  }
  return reply.send(response.body)
}
