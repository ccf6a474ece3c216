// A service key of this proxy where the Code Ocean SDK puts its token: the Basic username
// (password empty) or a Bearer token. Any Authorization header is taken as one, so a wrong
// credential is refused rather than passed over.
import { Unauthenticated } from '../../errors.js'
import { single, type IdentitySourceKind } from '../source.js'

export const CODE_OCEAN_TOKEN_PREFIX = 'cop_'
const CODE_OCEAN_TOKEN = 'That is a Code Ocean access token: the proxy holds its own. Send a service key of this proxy instead.'

export const serviceKeySource: IdentitySourceKind = {
  name: 'service key',
  securitySchemes: () => ({
    serviceKeyBasic: {
      type: 'http',
      scheme: 'basic',
      description: 'A service key of this proxy (npm run keys -- create) as the username, password empty: exactly where the Code Ocean SDK puts its token.'
    },
    serviceKeyBearer: { type: 'http', scheme: 'bearer', description: 'A service key of this proxy as a Bearer token.' }
  }),
  configured: ({ serviceKeys }) => ({
    present: (request) => single(request.headers.authorization) !== undefined,
    carries: (request) => single(request.headers.authorization) !== undefined,
    prove: async (request) => await serviceKeys.authenticate(serviceKeyIn(single(request.headers.authorization) as string))
  })
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
