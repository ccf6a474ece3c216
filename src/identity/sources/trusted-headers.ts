// The gateway's plain identity headers, which count only from the gateway's own addresses. The
// gateway sets them; clients have no security scheme to use.
import type { IdentitySourceKind } from '../source.js'

export const trustedHeadersSource: IdentitySourceKind = {
  name: 'trusted headers',
  securitySchemes: () => ({}),
  configured: ({ trusted }) => ({
    present: (request) => trusted.present(request.headers),
    carries: (request) => trusted.present(request.headers) && trusted.trusts(request.peer),
    prove: (request) => trusted.identify(request.peer, request.headers, request.headersDistinct)
  })
}
