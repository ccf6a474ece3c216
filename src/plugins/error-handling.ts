// Every error the proxy answers with leaves here, as JSON
// `{ statusCode, code, error, message, requestId }`; Fastify's own errors get PROXY_* codes.
// Errors from Code Ocean never come through here: they are passed through as they are.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { auditRequest, type AuditWriters } from './audit.js'
import { StoreError } from '../store/store.js'
import {
  AuditUnavailable,
  BadRequest, BadUrl, BodyTooLarge, InternalError, MalformedJson, NotMirrored, PathSegmentTooLong, RouteNotFound,
  retryAfterOf, UnsupportedMediaType
} from '../errors.js'
import { unmirroredResourceOf } from '../not-mirrored.js'
import { STATUS_CODES } from '../net/node-http.js'

export interface ErrorHandlingOptions {
  bodyLimitBytes: number
  /** Where Code Ocean's API is mirrored (/api/v1): a call there to what is not mirrored is told so. */
  apiPrefix: string
}

/** Seconds a caller should wait after a 503 from the proxy itself. */
const RETRY_AFTER_SECONDS = '5'
const MAX_ECHOED_PATH = 200

function isProxyError (error: FastifyError): boolean {
  return typeof error.code === 'string' && error.code.startsWith('PROXY_')
}

/** Maps anything thrown while handling a request to the error the caller sees. */
function proxyErrorFor (error: FastifyError, request: FastifyRequest, bodyLimitBytes: number): FastifyError {
  if (isProxyError(error)) return error
  if (error instanceof StoreError) return new AuditUnavailable({ cause: error })
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new BodyTooLarge(bodyLimitBytes)
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new UnsupportedMediaType(JSON.stringify(String(request.headers['content-type'] ?? 'none').slice(0, 100)))
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new MalformedJson(error.message)
  }
  const status = error.statusCode ?? 500
  if (status >= 400 && status < 500) {
    const bad: FastifyError = new BadRequest(error.message)
    bad.statusCode = status
    return bad
  }
  return new InternalError()
}

export function sendError (request: FastifyRequest, reply: FastifyReply, error: FastifyError): FastifyReply {
  // Every error that reaches here is a PROXY_* error, which always carries its status.
  const statusCode = Number(error.statusCode)
  request.audit.errorCode = error.code
  // An error that knows when to come back says so (rate limits, a queue, an open circuit).
  const seconds = retryAfterOf(error)
  if (seconds !== undefined) reply.header('retry-after', String(seconds))
  else if (statusCode === 503) reply.header('retry-after', RETRY_AFTER_SECONDS)
  // RFC 9110: a 401 names the ways to authenticate; the SDK's Basic form comes first.
  // Its connection is closed once answered: an unauthenticated caller cannot keep it (nor drip a body into it).
  if (statusCode === 401) reply.header('www-authenticate', 'Basic realm="codeocean-proxy", Bearer realm="codeocean-proxy"').header('connection', 'close')
  return reply.code(statusCode).type('application/json; charset=utf-8').send({
    statusCode,
    code: error.code,
    error: String(STATUS_CODES[statusCode]),
    message: error.message,
    requestId: request.id
  })
}

/**
 * Fastify's frameworkErrors: URLs the router rejects before any route or hook runs (bad
 * percent-encoding, an over-long segment). No hook runs for these, so their audit starts here.
 */
export function frameworkErrorHandler (writers: AuditWriters) {
  return (error: FastifyError, request: FastifyRequest, reply: FastifyReply): void => {
    let answer: FastifyError = error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? new PathSegmentTooLong() : new BadUrl()
    try {
      auditRequest(request, reply, writers, { action: null, route: null })
    } catch (unavailable) {
      answer = unavailable as FastifyError
    }
    sendError(request, reply, answer)
  }
}

async function errorHandling (app: FastifyInstance, options: ErrorHandlingOptions): Promise<void> {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const proxyError = proxyErrorFor(error, request, options.bodyLimitBytes)
    if (proxyError instanceof InternalError) {
      request.log.error({ err: error }, 'request failed inside the proxy')
    }
    return sendError(request, reply, proxyError)
  })

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.replace(/\?.*$/s, '').slice(0, MAX_ECHOED_PATH)
    const resource = unmirroredResourceOf(path, options.apiPrefix)
    const notFound = resource === undefined ? new RouteNotFound(request.method, path) : new NotMirrored(request.method, path, resource)
    return sendError(request, reply, notFound)
  })
}

export default fp(errorHandling, { name: 'error-handling', fastify: '5.x', dependencies: ['audit'] })
