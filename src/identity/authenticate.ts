// Works out who is calling, from the strongest proof present: the gateway's signed assertion,
// then the gateway's plain identity headers (from a trusted address only), then a service key
// in Authorization. A proof that is present but wrong is refused, never skipped over.
import { Unauthenticated } from '../errors.js'
import type { GatewayJwtVerifier } from './gateway-jwt.js'
import type { Identity } from './identity.js'
import { looksLikeServiceKey, type ServiceKeys } from './service-keys.js'
import type { TrustedHeaders } from './trusted-headers.js'

export interface AuthenticatorOptions {
  /** The gateway's assertion: the header it arrives in (`authorization` for a Bearer ID token) and its verifier. */
  gateway?: { header: string, verifier: GatewayJwtVerifier }
  trusted: TrustedHeaders
  serviceKeys: ServiceKeys
  allowAnonymous: boolean
}

export interface CallerRequest {
  headers: Readonly<Record<string, string | string[] | undefined>>
  /** The address of the connection's other end (the gateway, for gateway traffic). */
  peer: string | undefined
  /** Each header's values before Node joined repeats with ", " (absent where the server cannot tell). */
  headersDistinct?: Readonly<Record<string, string[] | undefined>>
}

export const ANONYMOUS: Identity = Object.freeze({ subject: 'anonymous', email: null, groups: [], method: 'anonymous', keyId: null })

const NO_CREDENTIAL = 'Authentication required: send a service key as the Basic username (as the Code Ocean SDK sends its token) ' +
  'or as a Bearer token, or come through the SSO gateway.'
const CODE_OCEAN_TOKEN_PREFIX = 'cop_'
const CODE_OCEAN_TOKEN = 'That is a Code Ocean access token: the proxy holds its own. Send a service key of this proxy instead.'

export class Authenticator {
  readonly #options: AuthenticatorOptions
  readonly #gatewayHeader: string | undefined

  constructor (options: AuthenticatorOptions) {
    this.#options = options
    this.#gatewayHeader = options.gateway?.header.toLowerCase()
  }

  async identify (request: CallerRequest): Promise<Identity> {
    const { gateway, trusted, serviceKeys } = this.#options
    const authorization = single(request.headers.authorization)
    const assertion = this.#assertionOf(request.headers, authorization)
    if (gateway !== undefined && assertion !== undefined) return await gateway.verifier.verify(assertion)
    if (trusted.present(request.headers)) return trusted.identify(request.peer, request.headers, request.headersDistinct)
    if (authorization !== undefined) return await serviceKeys.authenticate(serviceKeyIn(authorization))
    if (this.#options.allowAnonymous) return ANONYMOUS
    throw new Unauthenticated(NO_CREDENTIAL)
  }

  #assertionOf (headers: CallerRequest['headers'], authorization: string | undefined): string | undefined {
    if (this.#gatewayHeader === undefined) return undefined
    if (this.#gatewayHeader !== 'authorization') return single(headers[this.#gatewayHeader])
    // Behind oauth2-proxy the ID token arrives as a Bearer token; a service key may arrive the same way.
    const bearer = authorization === undefined ? undefined : /^Bearer +(\S+)$/i.exec(authorization)?.[1]
    return bearer === undefined || looksLikeServiceKey(bearer) || bearer.startsWith(CODE_OCEAN_TOKEN_PREFIX) ? undefined : bearer
  }
}

function single (value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}

/** The key a caller sent: the Basic username (password empty, as the SDK sends it) or the Bearer token. */
function serviceKeyIn (authorization: string): string {
  const [, scheme = '', value = ''] = /^(\S+) +(\S+)$/.exec(authorization) ?? []
  let key: string
  if (scheme.toLowerCase() === 'bearer') {
    key = value
  } else if (scheme.toLowerCase() === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    const [user, password] = colon === -1 ? [decoded, ''] : [decoded.slice(0, colon), decoded.slice(colon + 1)]
    key = user === '' ? password : user
  } else {
    throw new Unauthenticated('Unsupported Authorization scheme: use Basic or Bearer with a service key.')
  }
  if (key.startsWith(CODE_OCEAN_TOKEN_PREFIX)) throw new Unauthenticated(CODE_OCEAN_TOKEN)
  return key
}
