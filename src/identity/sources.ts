// The ways a caller can prove who they are, strongest first. The first source whose proof a
// request carries decides: it proves a caller or refuses, and a proof that is present but wrong
// is never passed over for a weaker one. The OpenAPI security schemes come from the same list.
import { adminKeySource } from './sources/admin-key.js'
import { anonymousSource } from './sources/anonymous.js'
import { gatewayAssertionSource } from './sources/gateway-assertion.js'
import { serviceKeySource } from './sources/service-key.js'
import { trustedHeadersSource } from './sources/trusted-headers.js'
import type { DocumentedAuthentication, IdentitySourceKind, RouteAction, SecurityScheme } from './source.js'

/**
 * The audit admin key comes first: it is one exact Bearer token, which the gateway's Bearer form
 * and the service key would otherwise take for theirs. It counts on audit-trail routes only.
 */
export const IDENTITY_SOURCES: readonly IdentitySourceKind[] = Object.freeze([
  adminKeySource,
  gatewayAssertionSource,
  trustedHeadersSource,
  serviceKeySource,
  anonymousSource
])

/** The sources a route with `action` accepts, in order. */
export function sourcesFor (action: RouteAction | undefined, sources: readonly IdentitySourceKind[] = IDENTITY_SOURCES): IdentitySourceKind[] {
  return sources.filter((source) => source.onlyFor === undefined || (action !== undefined && source.onlyFor.includes(action)))
}

/** Every source's OpenAPI security schemes, by name, in the list's order. */
export function securitySchemesOf (documented: DocumentedAuthentication, sources: readonly IdentitySourceKind[] = IDENTITY_SOURCES): Record<string, SecurityScheme> {
  return Object.assign({}, ...sources.map((source) => source.securitySchemes(documented))) as Record<string, SecurityScheme>
}

/**
 * The OpenAPI security requirement of a route with `action` (undefined: what every route accepts):
 * any one of its sources' schemes.
 */
export function securityFor (action: RouteAction | undefined, sources: readonly IdentitySourceKind[] = IDENTITY_SOURCES): Array<Record<string, string[]>> {
  return sourcesFor(action, sources).flatMap((source) => Object.keys(source.securitySchemes({})).map((name) => ({ [name]: [] })))
}
