// What every way of proving a caller has in common: whether a request carries its proof, what
// that proof proves, and how the OpenAPI document describes it. The ordered list of them is in
// sources.ts; authenticate.ts asks each in turn.
import type { RouteContract } from '../contract/route-contract.js'
import type { GatewayJwtVerifier } from './gateway-jwt.js'
import type { Identity } from './identity.js'
import type { ServiceKeys } from './service-keys.js'
import type { TrustedHeaders } from './trusted-headers.js'

export interface CallerRequest {
  headers: Readonly<Record<string, string | string[] | undefined>>
  /** The address of the connection's other end (the gateway, for gateway traffic). */
  peer: string | undefined
  /** Each header's values before Node joined repeats with ", " (absent where the server cannot tell). */
  headersDistinct?: Readonly<Record<string, string[] | undefined>> | undefined
}

/** What the sources are made from: each uses its part, and is left out when its part is not configured. */
export interface AuthenticatorOptions {
  /** The gateway's assertion: the header it arrives in (`authorization` for a Bearer ID token) and its verifier. */
  gateway?: { header: string, verifier: GatewayJwtVerifier }
  trusted: TrustedHeaders
  serviceKeys: ServiceKeys
  allowAnonymous: boolean
  /** The audit admin key, which reads the audit trail and does nothing else. */
  adminKey?: string
}

export type RouteAction = RouteContract['action']

/** One proof of who is calling, as configured. */
export interface IdentitySource {
  /** Whether the request carries this source's proof: the first source whose proof is present decides. */
  present (request: CallerRequest): boolean
  /**
   * Whether the request carries a credential this source would check. It spares the request the
   * budget of requests without any (see plugins/unauthenticated-limits.ts), so it is false where
   * presence proves nothing: identity headers from an address that is not the gateway's, or none.
   */
  carries (request: CallerRequest): boolean
  /** The caller the proof proves; throws Unauthenticated when it is wrong, a 503 error when it cannot be checked now. */
  prove (request: CallerRequest): Promise<Identity> | Identity
}

/** An OpenAPI security scheme object (the subset the sources use). */
export type SecurityScheme =
  | { type: 'http', scheme: 'basic' | 'bearer', description: string }
  | { type: 'apiKey', in: 'header', name: string, description: string }

/** What the OpenAPI document is written for: the configured gateway header, if any. */
export interface DocumentedAuthentication {
  gatewayHeader?: string
}

/** One kind of proof: its place in the list is its precedence. */
export interface IdentitySourceKind {
  readonly name: string
  /** The only actions whose routes accept this proof; every action's when absent. */
  readonly onlyFor?: readonly RouteAction[]
  /** Its OpenAPI security schemes, by name (none for a proof only the gateway adds, or none at all). */
  securitySchemes (documented: DocumentedAuthentication): Readonly<Record<string, SecurityScheme>>
  /** The source as configured; undefined when it is not. */
  configured (options: AuthenticatorOptions): IdentitySource | undefined
}

/** The first of a header's values (Node gives an array for a repeated header it does not join). */
export function single (value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}
