// Every error the proxy itself answers with. Codes are stable (clients and tests match on them);
// messages say what happened and what to do, and never carry hosts, ports, stacks or secrets.
import createError from '@fastify/error'

export const InvalidRequest = createError('PROXY_INVALID_REQUEST', '%s', 400)
export const MalformedJson = createError(
  'PROXY_MALFORMED_JSON',
  'The request body is not valid JSON: %s',
  400
)
export const BadRequest = createError('PROXY_BAD_REQUEST', '%s', 400)
export const RouteNotFound = createError(
  'PROXY_ROUTE_NOT_FOUND',
  'No such endpoint: %s %s. This proxy serves Code Ocean\'s Computations API only, under /api/v1; ' +
    'to wait for a computation to finish, call GET /computations/{computation_id}/wait (outside /api/v1). See /docs for every endpoint.',
  404
)
export const NotMirrored = createError(
  'PROXY_NOT_MIRRORED',
  '%s %s is part of Code Ocean\'s API for %s, which this proxy does not serve: it serves the Computations API only ' +
    '(computations, and the computations of a capsule or pipeline). See /docs for every endpoint it serves.',
  404
)
export const BadUrl = createError(
  'PROXY_BAD_URL',
  'The URL is not valid: check its percent-encoding.',
  400
)
export const PathSegmentTooLong = createError(
  'PROXY_PATH_SEGMENT_TOO_LONG',
  'A path segment is longer than any Code Ocean id; check the URL.',
  414
)
export const BodyTooLarge = createError(
  'PROXY_BODY_TOO_LARGE',
  'The request body is larger than the %s bytes this proxy accepts.',
  413
)
export const UnsupportedMediaType = createError(
  'PROXY_UNSUPPORTED_MEDIA_TYPE',
  'Unsupported Content-Type %s: send application/json.',
  415
)
export const RequestTimeout = createError(
  'PROXY_REQUEST_TIMEOUT',
  'The request did not arrive within %s ms: send the headers and the whole body at once. The connection is closed.',
  408
)
export const IncompleteBody = createError(
  'PROXY_INCOMPLETE_BODY',
  'The request body ended before the length its Content-Length announced: send the whole body. The connection is closed.',
  400
)
export const HeadersTooLarge = createError(
  'PROXY_HEADERS_TOO_LARGE',
  'The request headers are larger than this proxy accepts: send fewer or shorter headers. The connection is closed.',
  431
)
export const MalformedHttp = createError(
  'PROXY_MALFORMED_HTTP',
  'The request is not well-formed HTTP/1.1. The connection is closed.',
  400
)
export const UpstreamUnreachable = createError(
  'PROXY_UPSTREAM_UNREACHABLE',
  'Code Ocean could not be reached. Try again later; if it persists, tell the proxy operators.',
  502
)
export const UpstreamConnectionReset = createError(
  'PROXY_UPSTREAM_CONNECTION_RESET',
  'Code Ocean closed the connection before answering. The request may or may not have taken effect: check before repeating a run.',
  502
)
export const UpstreamProtocolError = createError(
  'PROXY_UPSTREAM_PROTOCOL_ERROR',
  'Code Ocean sent an answer the proxy could not read.',
  502
)
export const UpstreamTimeout = createError(
  'PROXY_UPSTREAM_TIMEOUT',
  'Code Ocean did not answer within %s ms. The request may or may not have taken effect: check before repeating a run.',
  504
)
export const WaitUnanswered = createError(
  'PROXY_WAIT_UNANSWERED',
  'Code Ocean had not answered a poll of this computation when your wait of %s s ended. Nothing was changed: wait again, or read the computation.',
  504
)
export const UpstreamCredentialRejected = createError(
  'PROXY_UPSTREAM_CREDENTIAL_REJECTED',
  "Code Ocean rejected the proxy's own access token. This is not your credential: tell the proxy operators.",
  502
)
export const ProxyUnavailable = createError(
  'PROXY_UNAVAILABLE',
  'The proxy is shutting down or overloaded. Retry after the time given in Retry-After.',
  503
)
export const ProxyOverloaded = createError(
  'PROXY_OVERLOADED',
  'The proxy is overloaded (%s); nothing was sent to Code Ocean. Retry after the time given in Retry-After.',
  503
)
export const AuditUnavailable = createError(
  'PROXY_AUDIT_UNAVAILABLE',
  'The audit trail cannot be written, so the proxy is not acting on requests. Retry after the time given in Retry-After.',
  503
)
export const AuditQueriesDisabled = createError(
  'PROXY_AUDIT_QUERIES_DISABLED',
  'Audit queries are disabled: the operators can enable them by setting AUDIT_ADMIN_KEY or granting audit:read in the policy.',
  403
)
export const AuditKeyRequired = createError(
  'PROXY_AUDIT_KEY_REQUIRED',
  'Audit queries need the audit admin key, sent as Authorization: Bearer <key>, or a caller granted audit:read.',
  401
)
export const Unauthenticated = createError(
  'PROXY_UNAUTHENTICATED',
  '%s',
  401
)
export const IdentityUnavailable = createError(
  'PROXY_IDENTITY_UNAVAILABLE',
  "The gateway's signing keys cannot be fetched, so no identity can be verified. Retry after the time given in Retry-After.",
  503
)
export const Forbidden = createError(
  'PROXY_FORBIDDEN',
  'You may not %s %s: the policy does not grant it. Ask the proxy operators if you need it.',
  403
)
export const ComputationNotFound = createError(
  'PROXY_COMPUTATION_NOT_FOUND',
  'Computation %s not found.',
  404
)
export const UpstreamOverloaded = createError(
  'PROXY_UPSTREAM_OVERLOADED',
  'Too many calls to Code Ocean are waiting already; nothing was sent. Retry after the time given in Retry-After.',
  503
)
export const UnauthenticatedLimited = createError(
  'PROXY_UNAUTHENTICATED_LIMITED',
  'Too many requests without a credential have come from your address. Send a service key, or come through the SSO gateway, or retry after the time given in Retry-After.',
  429
)

/** The same code: these requests prove no one either, because their credentials keep failing. */
export const FailedCredentialsLimited = createError(
  'PROXY_UNAUTHENTICATED_LIMITED',
  'Too many requests whose credential proved no one have come from your address, so every request from it is refused for now, before its credential is checked. Check the service key or token you send, and retry after the time given in Retry-After.',
  429
)

export const UpstreamShareExceeded = createError(
  'PROXY_UPSTREAM_SHARE_EXCEEDED',
  'You have as many calls to Code Ocean running or waiting as one caller may (UPSTREAM_MAX_PER_CALLER); nothing was sent. Retry when one has ended.',
  429
)

export const UpstreamCircuitOpen = createError(
  'PROXY_UPSTREAM_CIRCUIT_OPEN',
  'Code Ocean has been failing, so the proxy is not calling it for a moment; nothing was sent. Retry after the time given in Retry-After.',
  503
)
export const IdempotencyKeyRequired = createError(
  'PROXY_IDEMPOTENCY_KEY_REQUIRED',
  'Runs need an Idempotency-Key header here (a unique value per intended run, reused only to retry it).',
  400
)
export const IdempotencyKeyReused = createError(
  'PROXY_IDEMPOTENCY_KEY_REUSED',
  'This Idempotency-Key was used for a run with a different body. Use a new key for a different run.',
  422
)
export const IdempotencyInFlight = createError(
  'PROXY_IDEMPOTENCY_IN_FLIGHT',
  'A run with this Idempotency-Key is still in progress. Retry after the time given in Retry-After to get its answer.',
  409
)
export const IdempotencyOutcomeUnknown = createError(
  'PROXY_IDEMPOTENCY_OUTCOME_UNKNOWN',
  'The run sent with this Idempotency-Key may or may not have started: Code Ocean did not answer. It was not sent again. List the %s\'s computations to check, then run with a new key if it is not there.',
  409
)
export const RateLimited = createError(
  'PROXY_RATE_LIMITED',
  'Too many %s calls from you: at most %s per %s. Retry after the time given in Retry-After.',
  429
)
export const InternalError = createError(
  'PROXY_INTERNAL_ERROR',
  'The proxy failed while handling this request. Quote the request id when reporting it.',
  500
)

/** Problems found while reading configuration or the credential at start-up. */
/** An error that says when to come back: the caller is sent it as Retry-After. */
export type WithRetryAfter<E> = E & { readonly retryAfterSeconds: number }

/** Marks `error` with the seconds a caller should wait before trying again. */
export function retryAfter<E extends Error> (error: E, seconds: number): WithRetryAfter<E> {
  return Object.assign(error, { retryAfterSeconds: seconds })
}

/** The seconds `error` says to wait, if it says. */
export function retryAfterOf (error: Error): number | undefined {
  const seconds = (error as Partial<WithRetryAfter<Error>>).retryAfterSeconds
  return typeof seconds === 'number' ? seconds : undefined
}

export class ConfigError extends Error {
  readonly problems: string[]
  constructor (problems: string[]) {
    super(problems.join('; '))
    this.name = 'ConfigError'
    this.problems = problems
  }
}
