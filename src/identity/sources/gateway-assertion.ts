// The SSO gateway's signed assertion (a JWT), in its own header or as the Bearer token (behind
// oauth2-proxy), verified against the gateway's keys.
import { looksLikeServiceKey } from '../service-keys.js'
import { single, type CallerRequest, type IdentitySourceKind } from '../source.js'
import { CODE_OCEAN_TOKEN_PREFIX } from './service-key.js'

export const gatewayAssertionSource: IdentitySourceKind = {
  name: 'gateway assertion',
  securitySchemes: ({ gatewayHeader }) => ({
    gatewayAssertion: {
      type: 'apiKey',
      in: 'header',
      name: gatewayHeaderName(gatewayHeader),
      description: 'The signed identity assertion (a JWT) the SSO gateway in front of the proxy adds (GATEWAY_JWT_HEADER). ' +
        'Set by the gateway, never by clients.'
    }
  }),
  configured ({ gateway }) {
    if (gateway === undefined) return undefined
    const header = gateway.header.toLowerCase()
    const assertionOf = (request: CallerRequest): string | undefined => {
      if (header !== 'authorization') return single(request.headers[header])
      // Behind oauth2-proxy the ID token arrives as a Bearer token; a service key may arrive the same way.
      const authorization = single(request.headers.authorization)
      const bearer = authorization === undefined ? undefined : /^Bearer +(\S+)$/i.exec(authorization)?.[1]
      return bearer === undefined || looksLikeServiceKey(bearer) || bearer.startsWith(CODE_OCEAN_TOKEN_PREFIX) ? undefined : bearer
    }
    return {
      present: (request) => assertionOf(request) !== undefined,
      carries: (request) => assertionOf(request) !== undefined,
      prove: async (request) => await gateway.verifier.verify(assertionOf(request) as string)
    }
  }
}

/** The configured header, as the gateway spells it; a placeholder name when none is configured. */
function gatewayHeaderName (header: string | undefined): string {
  if (header === undefined || header === 'authorization') return 'X-Gateway-Assertion'
  return header.split('-').map((part) => part.charAt(0).toUpperCase() + part.slice(1)).join('-')
}
