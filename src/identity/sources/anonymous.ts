// The last source, which needs no proof: anonymous use where it is allowed, and otherwise the
// refusal that says how to prove who one is.
import { Unauthenticated } from '../../errors.js'
import type { Identity } from '../identity.js'
import type { IdentitySourceKind } from '../source.js'

export const ANONYMOUS: Identity = Object.freeze({ subject: 'anonymous', email: null, groups: [], method: 'anonymous', keyId: null })

const NO_CREDENTIAL = 'Authentication required: send a service key as the Basic username (as the Code Ocean SDK sends its token) ' +
  'or as a Bearer token, or come through the SSO gateway.'

export const anonymousSource: IdentitySourceKind = {
  name: 'anonymous',
  securitySchemes: () => ({}),
  configured: ({ allowAnonymous }) => ({
    present: () => true,
    carries: () => false,
    prove: () => {
      if (allowAnonymous) return ANONYMOUS
      throw new Unauthenticated(NO_CREDENTIAL)
    }
  })
}
