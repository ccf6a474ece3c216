// Who is calling, from the strongest proof present: the gateway's signed assertion, then the
// gateway's identity headers, then a service key in Authorization, then anonymous if allowed.
// A proof that is present but wrong is refused, never skipped over for a weaker one.
import t, { type Test } from 'tap'
import { Unauthenticated } from '../../src/errors.js'
import { ANONYMOUS, Authenticator, type AuthenticatorOptions, type CallerRequest } from '../../src/identity/authenticate.js'
import type { Identity } from '../../src/identity/identity.js'
import { createServiceKey, ServiceKeys } from '../../src/identity/service-keys.js'
import { TrustedHeaders } from '../../src/identity/trusted-headers.js'
import { openSqliteDatabase } from '../../src/store/sqlite-database.js'
import { fakeGateway, type FakeGateway } from '../helpers/fake-gateway.js'

const GATEWAY_PEER = '10.0.0.7'
const OTHER_PEER = '203.0.113.50'
const ASSERTION = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.signature'
const JWT_CALLER: Identity = { subject: 'alice', email: 'alice@example.org', groups: ['staff'], method: 'jwt', keyId: null }


interface Setup {
  authenticator: Authenticator
  gateway: FakeGateway
  /** A valid service key for subject ci-nightly. */
  key: string
  keyId: string
}

/** An authenticator on an in-memory store holding one service key; `gatewayHeader` configures a gateway. */
async function setup (t: Test, options: { gatewayHeader?: string, allowAnonymous?: boolean } = {}): Promise<Setup> {
  const store = openSqliteDatabase(':memory:')
  t.teardown(() => store.close())
  const { key, row } = await createServiceKey(store, { subject: 'ci-nightly', groups: ['team-b'] })
  const gateway = fakeGateway(ASSERTION, JWT_CALLER)
  const authenticatorOptions: AuthenticatorOptions = {
    trusted: new TrustedHeaders({ proxies: [GATEWAY_PEER], userHeader: 'X-Forwarded-User', emailHeader: 'X-Forwarded-Email', groupsHeader: 'X-Forwarded-Groups' }),
    serviceKeys: new ServiceKeys(store),
    allowAnonymous: options.allowAnonymous ?? false
  }
  if (options.gatewayHeader !== undefined) authenticatorOptions.gateway = { header: options.gatewayHeader, verifier: gateway }
  return { authenticator: new Authenticator(authenticatorOptions), gateway, key, keyId: row.keyId }
}

const basic = (user: string, password?: string): string =>
  `Basic ${Buffer.from(password === undefined ? user : `${user}:${password}`).toString('base64')}`

function request (headers: CallerRequest['headers'], peer: string | undefined = OTHER_PEER): CallerRequest {
  return { headers, peer }
}

/** The Unauthenticated error `promise` rejects with. */
async function refusal (t: Test, promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(() => undefined, (rejected: unknown) => rejected as Error)
  t.type(error, Unauthenticated)
  t.match(error, { code: 'PROXY_UNAUTHENTICATED', statusCode: 401 })
  return error ?? new Error('resolved')
}

const trustedAlice = { 'x-forwarded-user': 'alice-from-headers', 'x-forwarded-groups': 'admins' }

t.test('a gateway assertion in its own header proves the caller', async (t) => {
  const { authenticator, gateway } = await setup(t, { gatewayHeader: 'X-Pomerium-Jwt-Assertion' })
  t.same(await authenticator.identify(request({ 'x-pomerium-jwt-assertion': ASSERTION })), JWT_CALLER)
  t.same(gateway.seen, [ASSERTION])
})

t.test('a gateway assertion wins over identity headers and a service key sent with it', async (t) => {
  const { authenticator, gateway, key } = await setup(t, { gatewayHeader: 'x-pomerium-jwt-assertion' })
  const identity = await authenticator.identify(request({ 'x-pomerium-jwt-assertion': ASSERTION, authorization: `Bearer ${key}`, ...trustedAlice }, GATEWAY_PEER))
  t.same(identity, JWT_CALLER)
  t.same(gateway.seen, [ASSERTION])
})

t.test('a bad gateway assertion is refused even when a valid service key is sent with it', async (t) => {
  const { authenticator, gateway, key } = await setup(t, { gatewayHeader: 'x-pomerium-jwt-assertion' })
  await refusal(t, authenticator.identify(request({ 'x-pomerium-jwt-assertion': 'forged', authorization: `Bearer ${key}` })))
  t.same(gateway.seen, ['forged'])
})

t.test('the first of a repeated assertion header is the one verified', async (t) => {
  const { authenticator, gateway } = await setup(t, { gatewayHeader: 'x-pomerium-jwt-assertion' })
  t.same(await authenticator.identify(request({ 'x-pomerium-jwt-assertion': [ASSERTION, 'second'] })), JWT_CALLER)
  t.same(gateway.seen, [ASSERTION])
})

t.test('with the gateway header set to authorization, a Bearer token that is not a service key is the assertion', async (t) => {
  const { authenticator, gateway } = await setup(t, { gatewayHeader: 'Authorization' })
  for (const authorization of [`Bearer ${ASSERTION}`, `bearer   ${ASSERTION}`, `BEARER ${ASSERTION}`]) {
    t.same(await authenticator.identify(request({ authorization })), JWT_CALLER, authorization.slice(0, 10))
  }
  t.same(gateway.seen, [ASSERTION, ASSERTION, ASSERTION])
  await refusal(t, authenticator.identify(request({ authorization: 'Bearer forged' })))
})

t.test('with the gateway header set to authorization, a service key still arrives as Bearer or Basic', async (t) => {
  const { authenticator, gateway, key, keyId } = await setup(t, { gatewayHeader: 'authorization' })
  t.equal((await authenticator.identify(request({ authorization: `Bearer ${key}` }))).keyId, keyId)
  t.equal((await authenticator.identify(request({ authorization: basic(key, '') }))).keyId, keyId)
  t.same(gateway.seen, [], 'the verifier never sees a service key')
})

t.test('with the gateway header set to authorization, identity headers count when no Bearer token is sent', async (t) => {
  const { authenticator, gateway } = await setup(t, { gatewayHeader: 'authorization' })
  t.equal((await authenticator.identify(request(trustedAlice, GATEWAY_PEER))).subject, 'alice-from-headers')
  t.same(gateway.seen, [])
})

t.test('with a gateway configured but no assertion sent, weaker proofs are used', async (t) => {
  const { authenticator, key } = await setup(t, { gatewayHeader: 'x-pomerium-jwt-assertion' })
  t.equal((await authenticator.identify(request(trustedAlice, GATEWAY_PEER))).method, 'trusted-header')
  t.equal((await authenticator.identify(request({ authorization: `Bearer ${key}` }))).method, 'service-key')
})

t.test('without a gateway configured, an assertion header is ignored, not verified', async (t) => {
  const { authenticator, gateway, key } = await setup(t)
  t.equal((await authenticator.identify(request({ 'x-pomerium-jwt-assertion': ASSERTION, authorization: `Bearer ${key}` }))).method, 'service-key')
  t.same(gateway.seen, [])
})

t.test('identity headers from the gateway\'s address prove the caller', async (t) => {
  const { authenticator } = await setup(t)
  t.same(await authenticator.identify(request(trustedAlice, GATEWAY_PEER)),
    { subject: 'alice-from-headers', email: null, groups: ['admins'], method: 'trusted-header', keyId: null })
})

t.test('identity headers win over a service key sent with them', async (t) => {
  const { authenticator, key } = await setup(t)
  t.equal((await authenticator.identify(request({ ...trustedAlice, authorization: `Bearer ${key}` }, GATEWAY_PEER))).subject, 'alice-from-headers')
})

t.test('identity headers from any other address are refused, even with a valid service key', async (t) => {
  const { authenticator, key } = await setup(t, { allowAnonymous: true })
  await refusal(t, authenticator.identify(request({ ...trustedAlice, authorization: `Bearer ${key}` }, OTHER_PEER)))
  // A groups header alone counts as an attempt, and a closed socket's missing address is no gateway.
  await refusal(t, authenticator.identify({ headers: { 'x-forwarded-groups': 'admins' }, peer: undefined }))
})

t.test('a service key is accepted in each form the SDKs send it', async (t) => {
  const { authenticator, key, keyId } = await setup(t)
  const forms: Array<[string, string]> = [
    ['Basic, the key as username and an empty password', basic(key, '')],
    ['Basic, an empty username and the key as password', basic('', key)],
    ['Basic, the key alone with no colon', basic(key)],
    ['Basic, scheme in lower case', basic(key, '').replace('Basic', 'basic')],
    ['Bearer', `Bearer ${key}`],
    ['Bearer, scheme in lower case and several spaces', `bearer   ${key}`]
  ]
  for (const [what, authorization] of forms) {
    t.same(await authenticator.identify(request({ authorization })),
      { subject: 'key:ci-nightly', email: null, groups: ['team-b'], method: 'service-key', keyId }, what)
  }
})

t.test('the first of a repeated Authorization header is the one used', async (t) => {
  const { authenticator, key, keyId } = await setup(t)
  t.equal((await authenticator.identify(request({ authorization: [`Bearer ${key}`, 'Bearer other'] }))).keyId, keyId)
})

t.test('a wrong or malformed service key is refused, never treated as anonymous', async (t) => {
  const { authenticator, key } = await setup(t, { allowAnonymous: true })
  for (const authorization of [`Bearer ${key.slice(0, -1)}x`, basic('cpx_nope', ''), basic('', ''), 'Bearer not-a-key']) {
    await refusal(t, authenticator.identify(request({ authorization })))
  }
})

t.test('an Authorization scheme other than Basic or Bearer is refused', async (t) => {
  const { authenticator, key } = await setup(t, { allowAnonymous: true })
  for (const authorization of [`Token ${key}`, `Digest ${key}`, key, 'Bearer', `Bearer ${key} extra`, '']) {
    await refusal(t, authenticator.identify(request({ authorization })))
  }
})

t.test('a Code Ocean access token is refused with its own explanation', async (t) => {
  const { authenticator } = await setup(t)
  const unrecognised = await refusal(t, authenticator.identify(request({ authorization: 'Bearer cpx_0123456789abcdef_nope' })))
  for (const authorization of ['Bearer cop_0123456789', basic('cop_0123456789', ''), basic('', 'cop_0123456789')]) {
    const error = await refusal(t, authenticator.identify(request({ authorization })))
    t.not(error.message, unrecognised.message, authorization.slice(0, 12))
    t.match(error.message, /Code Ocean access token/)
  }
})

t.test('with no proof at all, the caller is anonymous when that is allowed', async (t) => {
  const { authenticator } = await setup(t, { allowAnonymous: true, gatewayHeader: 'x-pomerium-jwt-assertion' })
  const identity = await authenticator.identify(request({ accept: 'application/json' }))
  t.equal(identity, ANONYMOUS)
  t.same(identity, { subject: 'anonymous', email: null, groups: [], method: 'anonymous', keyId: null })
  t.ok(Object.isFrozen(ANONYMOUS))
})

t.test('with no proof at all, the caller is refused when anonymous use is not allowed', async (t) => {
  const { authenticator } = await setup(t)
  await refusal(t, authenticator.identify(request({})))
  await refusal(t, authenticator.identify(request({ authorization: undefined }, GATEWAY_PEER)))
})

t.test('with the gateway header set to authorization, a Code Ocean token as Bearer gets its own explanation, not the verifier\'s', async (t) => {
  const { authenticator, gateway } = await setup(t, { gatewayHeader: 'authorization' })
  const error = await refusal(t, authenticator.identify(request({ authorization: 'Bearer cop_0123456789' })))
  t.match(error.message, /Code Ocean access token/)
  t.same(gateway.seen, [], 'the verifier never saw it')
})

t.test('an identity header repeated on the wire is refused, not merged', async (t) => {
  const { authenticator } = await setup(t)
  const headers = { 'x-forwarded-user': 'mallory, alice', 'x-forwarded-groups': 'admins, staff' }
  const error = await refusal(t, authenticator.identify({ headers, peer: GATEWAY_PEER, headersDistinct: { 'x-forwarded-user': ['mallory', 'alice'], 'x-forwarded-groups': ['admins, staff'] } }))
  t.match(error.message, /x-forwarded-user header arrived more than once/)
  const once = await authenticator.identify({ headers: { 'x-forwarded-user': 'alice' }, peer: GATEWAY_PEER, headersDistinct: { 'x-forwarded-user': ['alice'] } })
  t.equal(once.subject, 'alice')
})
