// Header allowlists in both directions. Nothing reaches Code Ocean or the caller unless it is
// named here, so a caller's Authorization, cookies or identity headers can never leak upstream.
import type { IncomingHttpHeaders } from 'node:http'
import { VERSION } from '../version.js'

/**
 * Caller headers Code Ocean understands and that carry no caller credential. Not Agent-Id: the
 * proxy sets it to the verified caller, so nobody can act in another person's name there.
 */
const FORWARDED_REQUEST_HEADERS = ['accept', 'min-server-version'] as const

/** Upstream response headers a client may rely on. Everything else (cookies, server, upstream routing) stays behind. */
const FORWARDED_RESPONSE_HEADERS = new Set([
  'content-type',
  'content-length',
  // Bytes pass through as they are, so their encoding must too (identity is asked for, below).
  'content-encoding',
  'content-language',
  'cache-control',
  'etag',
  'last-modified',
  'expires',
  'retry-after',
  'ratelimit',
  'ratelimit-policy',
  'ratelimit-limit',
  'ratelimit-remaining',
  'ratelimit-reset',
  'x-ratelimit-limit',
  'x-ratelimit-remaining',
  'x-ratelimit-reset',
  'deprecation',
  'sunset'
])

export const USER_AGENT = `codeocean-proxy/${VERSION}`

/** A W3C traceparent's shape (version, trace id, parent id, flags); the values are not judged. */
const TRACEPARENT = /^[\da-f]{2}-[\da-f]{32}-[\da-f]{16}-[\da-f]{2}$/

export function upstreamRequestHeaders (
  incoming: IncomingHttpHeaders,
  options: { authorization: string, requestId: string, hasBody: boolean, agentId: string, callerTraceContext: boolean }
): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const name of FORWARDED_REQUEST_HEADERS) {
    const value = incoming[name]
    if (typeof value === 'string') headers[name] = value
  }
  // Only while the proxy does not trace: then its undici span writes its own (once, never beside this one).
  const { traceparent, tracestate } = incoming
  if (options.callerTraceContext && typeof traceparent === 'string' && TRACEPARENT.test(traceparent)) {
    headers.traceparent = traceparent
    if (typeof tracestate === 'string') headers.tracestate = tracestate
  }
  if (options.hasBody) headers['content-type'] = 'application/json'
  headers['accept-encoding'] = 'identity'
  headers['user-agent'] = USER_AGENT
  headers['x-request-id'] = options.requestId
  // Empty when the template names only a field the caller lacks ({email}): then none is sent.
  if (options.agentId !== '') headers['agent-id'] = options.agentId
  headers.authorization = options.authorization
  return headers
}

export function callerResponseHeaders (upstream: Readonly<Record<string, string | string[] | undefined>>): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {}
  for (const [name, value] of Object.entries(upstream)) {
    if (value !== undefined && FORWARDED_RESPONSE_HEADERS.has(name.toLowerCase())) headers[name.toLowerCase()] = value
  }
  return headers
}
