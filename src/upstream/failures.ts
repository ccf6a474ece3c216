// The one place that turns undici and socket failures into the proxy's own errors:
// refused or unresolvable → 502, reset → 502, timeouts → 504, closed pool → 503.
import type { FastifyError } from 'fastify'
import {
  ProxyUnavailable,
  UpstreamConnectionReset,
  UpstreamProtocolError,
  UpstreamTimeout,
  UpstreamUnreachable
} from '../errors.js'

/** Why no answer came from Code Ocean: a short, stable name for the audit trail and metrics. */
export type FailureClass =
  /** Failed while connecting: no byte of the request reached Code Ocean. */
  | 'refused' | 'unreachable' | 'connect_timeout'
  /** Failed after the request may have reached Code Ocean. */
  | 'timeout' | 'reset' | 'protocol'
  /** Refused by the proxy itself (its pool closed, its limiter full, its circuit open): never sent. */
  | 'closed' | 'overloaded' | 'circuit_open'

const WHILE_CONNECTING: ReadonlySet<string> = new Set<FailureClass>(['refused', 'unreachable', 'connect_timeout'])
const BY_THE_PROXY: ReadonlySet<string> = new Set<FailureClass>(['closed', 'overloaded', 'circuit_open'])

/** The call failed while connecting: Code Ocean cannot have received it, so it may be sent again. */
export function failedWhileConnecting (errorClass: string | undefined): boolean {
  return errorClass !== undefined && WHILE_CONNECTING.has(errorClass)
}

/** The proxy itself refused to make the call: nothing was sent. */
export function refusedByTheProxy (errorClass: string | undefined): boolean {
  return errorClass !== undefined && BY_THE_PROXY.has(errorClass)
}

export interface UpstreamFailure {
  errorClass: FailureClass
  error: FastifyError
}

const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL'
])
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'ECONNABORTED'])
const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT'])
const CLOSED_CODES = new Set(['UND_ERR_CLOSED', 'UND_ERR_DESTROYED'])

function codeOf (error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const { code } = error as { code?: unknown }
  if (typeof code === 'string') return code
  // Happy-eyeballs connects fail with an AggregateError whose members carry the codes.
  const { errors } = error as { errors?: unknown }
  if (Array.isArray(errors)) return codeOf(errors[0])
  return undefined
}

export interface UpstreamTimeouts {
  connectTimeoutMs: number
  headersTimeoutMs: number
  bodyTimeoutMs: number
}

export function classifyUpstreamFailure (error: unknown, timeouts: UpstreamTimeouts): UpstreamFailure {
  const code = codeOf(error) ?? 'unknown'
  let failure: UpstreamFailure
  if (UNREACHABLE_CODES.has(code)) {
    failure = { errorClass: code === 'ECONNREFUSED' ? 'refused' : 'unreachable', error: new UpstreamUnreachable() }
  } else if (RESET_CODES.has(code)) {
    failure = { errorClass: 'reset', error: new UpstreamConnectionReset() }
  } else if (TIMEOUT_CODES.has(code)) {
    const connecting = code === 'UND_ERR_CONNECT_TIMEOUT'
    const limit = connecting ? timeouts.connectTimeoutMs : code === 'UND_ERR_BODY_TIMEOUT' ? timeouts.bodyTimeoutMs : timeouts.headersTimeoutMs
    failure = { errorClass: connecting ? 'connect_timeout' : 'timeout', error: new UpstreamTimeout(limit) }
  } else if (CLOSED_CODES.has(code)) {
    failure = { errorClass: 'closed', error: new ProxyUnavailable() }
  } else {
    failure = { errorClass: 'protocol', error: new UpstreamProtocolError() }
  }
  failure.error.cause = error
  return failure
}
