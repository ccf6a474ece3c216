// Building blocks shared by every resource's schemas: ids, nullable optionals, the error body,
// and a typed reference helper so a `$ref` keeps its static type.
import { Type, type Static, type TNull, type TOptional, type TSchema, type TString, type TUnion, type TUnsafe } from '@sinclair/typebox'

export const UUID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'

/**
 * A name shown to people (a computation's): no C0 or C1 control characters, and no bidirectional
 * override or isolate (U+202A–U+202E, U+2066–U+2069), which make a name read other than it is.
 */
export const NAME_PATTERN = '^[^\\u0000-\\u001f\\u007f-\\u009f\\u202a-\\u202e\\u2066-\\u2069]*$'

/** Code Ocean ids (computations, capsules, pipelines, data assets) are UUIDs. */
export const Uuid = (description: string): TString =>
  Type.String({ format: 'uuid', pattern: UUID_PATTERN, description, examples: ['5f5c3c4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f'] })

/** The SDK sends `null` for every optional field it was not given; the API accepts it. */
export const Nullable = <T extends TSchema>(schema: T): TUnion<[T, TNull]> =>
  Type.Union([schema, Type.Null()])

export const OptionalNullable = <T extends TSchema>(schema: T): TOptional<TUnion<[T, TNull]>> =>
  Type.Optional(Nullable(schema))

/** A reference to a registered schema that keeps the referenced type (a bare Type.Ref is `unknown`). */
export function ref<T extends TSchema> (schema: T): TUnsafe<Static<T>> {
  if (schema.$id === undefined) throw new TypeError('ref() needs a schema with an $id')
  return Type.Unsafe<Static<T>>(Type.Ref(schema.$id))
}

/**
 * The error body. The proxy's own errors carry every field; errors passed through from Code
 * Ocean carry at least `message`, which is what the SDK shows its users.
 */
export const ErrorBody = Type.Object({
  message: Type.String({ description: 'What went wrong and what to do about it.' }),
  statusCode: Type.Optional(Type.Integer({ description: 'The HTTP status (proxy errors).' })),
  code: Type.Optional(Type.String({ description: 'A stable PROXY_* code (proxy errors).', examples: ['PROXY_INVALID_REQUEST'] })),
  error: Type.Optional(Type.String({ description: 'The HTTP reason phrase (proxy errors).' })),
  requestId: Type.Optional(Type.String({ description: 'The X-Request-Id of the failed request (proxy errors).' }))
}, {
  $id: 'Error',
  additionalProperties: true,
  description: 'An error. Errors from Code Ocean are passed through unchanged and may carry more fields.'
})
export type ErrorBody = Static<typeof ErrorBody>

const ERROR_DESCRIPTIONS = {
  400: 'Invalid request (rejected by the proxy before reaching Code Ocean), or rejected by Code Ocean.',
  401: 'No caller identity was proven: send a service key (Basic username or Bearer) or come through the SSO gateway. See WWW-Authenticate.',
  403: 'The proxy\'s policy does not grant this action (PROXY_FORBIDDEN), or Code Ocean refused it for the proxy\'s token.',
  404: 'No such resource, or a computation the caller may not see (answered alike).',
  409: 'A run with this Idempotency-Key is still in progress, or its outcome is unknown (see the message).',
  413: 'The request body is larger than the proxy accepts.',
  414: 'A path segment is longer than any Code Ocean id.',
  415: 'The request body is not JSON.',
  422: 'This Idempotency-Key was used for a run with a different body.',
  429: 'Too many requests: the caller\'s rate limit (PROXY_RATE_LIMITED) or share of the calls to Code Ocean (PROXY_UPSTREAM_SHARE_EXCEEDED), ' +
    'too many without a credential, or with failing ones, from this address (PROXY_UNAUTHENTICATED_LIMITED), or Code Ocean\'s own; see Retry-After.',
  500: 'Code Ocean, or the proxy, failed.',
  502: 'Code Ocean could not be reached, reset the connection, or rejected the proxy\'s own token.',
  503: 'Code Ocean or the proxy is unavailable; see Retry-After.',
  504: 'Code Ocean did not answer in time.'
} as const

/** Statuses only some routes can answer with: those that take a body, an id in the path, or an Idempotency-Key. */
const BODY_STATUSES = new Set(['413', '415'])
const PATH_ID_STATUSES = new Set(['414'])
const IDEMPOTENCY_STATUSES = new Set(['409', '422'])

/** Every error status a mirrored route can answer with, all with the shared Error body. */
export function errorResponses (route: { body: boolean, pathId: boolean, idempotent?: boolean }): Record<string, TSchema> {
  const responses: Record<string, TSchema> = {}
  for (const [status, description] of Object.entries(ERROR_DESCRIPTIONS)) {
    if (BODY_STATUSES.has(status) && !route.body) continue
    if (PATH_ID_STATUSES.has(status) && !route.pathId) continue
    if (IDEMPOTENCY_STATUSES.has(status) && route.idempotent !== true) continue
    responses[status] = { ...ref(ErrorBody), description }
  }
  return responses
}

/** For routes without query parameters: any query is refused rather than ignored or forwarded. */
export const NoQuery = Type.Object({}, { additionalProperties: false })

/** For the proxy's own endpoints that take no query: one given is refused. */
export const BAD_QUERY = { ...ref(ErrorBody), description: 'A query string was given; this endpoint takes none.' }

/** For the proxy's own endpoints, which need no credential: a source that sends too many without one is refused. */
export const UNAUTHENTICATED_LIMITED = { ...ref(ErrorBody), description: 'Too many requests without a credential, or with failing ones, from this address (UNAUTHENTICATED_PER_MINUTE); see Retry-After.' }

/** An answer with no body (rename, delete, detach). */
export const NoContent = Type.Null({ description: 'Done; no body.' })
