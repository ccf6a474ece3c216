// Stands in for the gateway's JWT verifier (the real one is tested in gateway-jwt.test.ts):
// accepts one assertion as one caller, refuses anything else, and remembers every token shown.
import { Unauthenticated } from '../../src/errors.js'
import type { GatewayJwtVerifier } from '../../src/identity/gateway-jwt.js'
import type { Identity } from '../../src/identity/identity.js'

export type FakeGateway = GatewayJwtVerifier & { seen: string[] }

export function fakeGateway (assertion: string, caller: Identity): FakeGateway {
  const seen: string[] = []
  return {
    seen,
    async verify (token) {
      seen.push(token)
      if (token !== assertion) throw new Unauthenticated('The gateway assertion was not signed by a trusted key')
      return caller
    },
    ready: () => true,
    warm: async () => true
  }
}
