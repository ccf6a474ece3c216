// The identity sources' list: its order is the precedence (a request carrying two proofs is
// decided by the earlier source), the audit admin key counts on the audit trail only, and the
// OpenAPI security schemes and requirements follow the same list.
import t, { type Test } from 'tap'
import { Unauthenticated } from '../../src/errors.js'
import { Authenticator, type CallerRequest } from '../../src/identity/authenticate.js'
import { identityOf, provenIdentity, type Caller } from '../../src/identity/caller.js'
import type { Identity } from '../../src/identity/identity.js'
import { createServiceKey, ServiceKeys } from '../../src/identity/service-keys.js'
import { AUDIT_ADMIN } from '../../src/identity/sources/admin-key.js'
import { IDENTITY_SOURCES, securityFor, securitySchemesOf, sourcesFor } from '../../src/identity/sources.js'
import { TrustedHeaders } from '../../src/identity/trusted-headers.js'
import { openSqliteDatabase } from '../../src/store/sqlite-database.js'
import { fakeGateway, type FakeGateway } from '../helpers/fake-gateway.js'

const GATEWAY_PEER = '10.0.0.7'
const ADMIN_KEY = 'audit-admin-key-0123456789'
const ASSERTION = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.signature'
const JWT_CALLER: Identity = { subject: 'alice', email: null, groups: [], method: 'jwt', keyId: null }
const trustedAlice = { 'x-forwarded-user': 'alice-from-headers' }
const asAdmin = { authorization: `Bearer ${ADMIN_KEY}` }


async function setup (t: Test, options: { gatewayHeader?: string, adminKey?: string } = {}): Promise<{ authenticator: Authenticator, gateway: FakeGateway, key: string }> {
  const store = openSqliteDatabase(':memory:')
  t.teardown(() => store.close())
  const { key } = await createServiceKey(store, { subject: 'ci-nightly', groups: [] })
  const gateway = fakeGateway(ASSERTION, JWT_CALLER)
  const authenticator = new Authenticator({
    trusted: new TrustedHeaders({ proxies: [GATEWAY_PEER], userHeader: 'X-Forwarded-User', emailHeader: 'X-Forwarded-Email', groupsHeader: 'X-Forwarded-Groups' }),
    serviceKeys: new ServiceKeys(store),
    allowAnonymous: true,
    ...(options.gatewayHeader === undefined ? {} : { gateway: { header: options.gatewayHeader, verifier: gateway } }),
    ...(options.adminKey === undefined ? {} : { adminKey: options.adminKey })
  })
  return { authenticator, gateway, key }
}

function request (headers: CallerRequest['headers'], peer = GATEWAY_PEER): CallerRequest {
  return { headers, peer }
}

t.test('the sources are asked in the documented order', async (t) => {
  t.same(IDENTITY_SOURCES.map((source) => source.name), ['audit admin key', 'gateway assertion', 'trusted headers', 'service key', 'anonymous'])
  t.same(sourcesFor('read').map((source) => source.name), ['gateway assertion', 'trusted headers', 'service key', 'anonymous'], 'the admin key counts on no API route')
  t.same(sourcesFor('audit:read').map((source) => source.name), IDENTITY_SOURCES.map((source) => source.name), 'the audit trail accepts every proof')
})

t.test('a request carrying two proofs is decided by the earlier source', async (t) => {
  const { authenticator, gateway, key } = await setup(t, { gatewayHeader: 'x-pomerium-jwt-assertion', adminKey: ADMIN_KEY })
  const assertion = { 'x-pomerium-jwt-assertion': ASSERTION }
  t.equal(await authenticator.identify(request({ ...asAdmin, ...assertion, ...trustedAlice }), 'audit:read'), AUDIT_ADMIN, 'the admin key before the gateway')
  t.same(gateway.seen, [], 'the assertion was never verified')
  t.same(await authenticator.identify(request({ ...assertion, ...trustedAlice, authorization: `Bearer ${key}` }), 'read'), JWT_CALLER, 'the gateway before identity headers')
  t.equal((await authenticator.identify(request({ ...trustedAlice, authorization: `Bearer ${key}` }), 'read')).method, 'trusted-header', 'identity headers before a service key')
  t.equal((await authenticator.identify(request({ authorization: `Bearer ${key}` }), 'read')).method, 'service-key', 'a service key before anonymous')
  t.equal((await authenticator.identify(request({}), 'read')).method, 'anonymous', 'anonymous last')
})

t.test('the audit admin key proves the admin on the audit trail, and nothing anywhere else', async (t) => {
  const { authenticator } = await setup(t, { adminKey: ADMIN_KEY })
  t.same(await authenticator.identify(request(asAdmin), 'audit:read'), { subject: 'audit admin key', email: null, groups: [], method: 'admin-key', keyId: null })
  for (const action of ['read', 'run', 'list', undefined] as const) {
    const refused = await authenticator.identify(request(asAdmin), action).then(() => undefined, (error: unknown) => error)
    t.type(refused, Unauthenticated, `${String(action)}: read as a service key, which it is not`)
  }
})

t.test('a Bearer token that is not the admin key is left to the later sources, which refuse it', async (t) => {
  const { authenticator, gateway } = await setup(t, { gatewayHeader: 'authorization', adminKey: ADMIN_KEY })
  t.equal(await authenticator.identify(request(asAdmin), 'audit:read'), AUDIT_ADMIN, 'not taken for a gateway assertion on the audit trail')
  await t.rejects(authenticator.identify(request({ authorization: `Bearer ${ADMIN_KEY}x` }), 'audit:read'), Unauthenticated)
  await t.rejects(authenticator.identify(request({ authorization: `Basic ${Buffer.from(`${ADMIN_KEY}:`).toString('base64')}` }), 'audit:read'), Unauthenticated)
  t.same(gateway.seen, [`${ADMIN_KEY}x`], 'a wrong one is the gateway\'s to refuse, as any other Bearer token')
})

t.test('a proof must be the whole Authorization header, scheme first: nothing before it, nothing after', async (t) => {
  const { authenticator, gateway, key } = await setup(t, { gatewayHeader: 'authorization', adminKey: ADMIN_KEY })
  for (const authorization of [`XBearer ${ADMIN_KEY}`, `x Bearer ${ADMIN_KEY}`]) {
    await t.rejects(authenticator.identify(request({ authorization }), 'audit:read'), Unauthenticated, `${authorization.slice(0, 10)}…: not the admin key`)
  }
  for (const authorization of [`XBearer ${ASSERTION}`, `Bearer ${ASSERTION} extra`, `x Bearer ${key}`]) {
    await t.rejects(authenticator.identify(request({ authorization }), 'read'), Unauthenticated, `${authorization.slice(0, 10)}…: refused`)
  }
  t.same(gateway.seen, [], 'and none of them was taken for a gateway assertion')
})

t.test('without an admin key configured, its source is left out', async (t) => {
  const { authenticator } = await setup(t)
  await t.rejects(authenticator.identify(request(asAdmin), 'audit:read'), Unauthenticated)
})

t.test('a caller is an identity or a failure', async (t) => {
  const { authenticator } = await setup(t, { adminKey: ADMIN_KEY })
  const proven: Caller = await authenticator.callerOf(request(asAdmin), 'audit:read')
  t.equal(identityOf(proven), AUDIT_ADMIN)
  t.equal(provenIdentity(proven), AUDIT_ADMIN)
  const failed = await authenticator.callerOf(request({ authorization: 'Bearer nope' }), 'read')
  t.match(failed, { proven: false, failure: Unauthenticated })
  t.equal(identityOf(failed), null)
  t.equal(identityOf(null), null, 'a route that identifies no one has no identity')
  t.throws(() => provenIdentity(failed), /no proven caller/)
  t.throws(() => provenIdentity(null), /no proven caller/)
})

t.test('the OpenAPI security schemes and requirements follow the list', async (t) => {
  const schemes = securitySchemesOf({})
  t.same(Object.keys(schemes), ['auditAdminKey', 'gatewayAssertion', 'serviceKeyBasic', 'serviceKeyBearer'])
  t.same(securityFor(undefined), [{ gatewayAssertion: [] }, { serviceKeyBasic: [] }, { serviceKeyBearer: [] }], 'every route: the gateway\'s and the service key\'s')
  t.same(securityFor('audit:read'), [{ auditAdminKey: [] }, ...securityFor(undefined)], 'the audit trail: the admin key first')
  t.same(securityFor('run'), securityFor(undefined))
  t.match(schemes.gatewayAssertion, { type: 'apiKey', in: 'header', name: 'X-Gateway-Assertion' }, 'a placeholder name with no gateway configured')
  t.match(securitySchemesOf({ gatewayHeader: 'x-pomerium-jwt-assertion' }).gatewayAssertion, { name: 'X-Pomerium-Jwt-Assertion' }, 'the configured header, as the gateway spells it')
  t.match(securitySchemesOf({ gatewayHeader: 'authorization' }).gatewayAssertion, { name: 'X-Gateway-Assertion' })
})

t.test('a request carries a credential when some source would check one: identity headers only from the gateway, anonymous never', async (t) => {
  const { authenticator } = await setup(t, { gatewayHeader: 'x-gateway-assertion', adminKey: ADMIN_KEY })
  t.ok(authenticator.carriesCredential(request({ 'x-gateway-assertion': 'anything' }, '198.51.100.7')), 'a gateway assertion, whatever its worth')
  t.ok(authenticator.carriesCredential(request(trustedAlice)), 'identity headers from the gateway')
  t.notOk(authenticator.carriesCredential(request(trustedAlice, '198.51.100.7')), 'identity headers from anywhere else')
  t.ok(authenticator.carriesCredential(request(asAdmin, '198.51.100.7')), 'the audit admin key')
  t.ok(authenticator.carriesCredential(request({ authorization: 'Bearer not-a-key' }, '198.51.100.7')), 'any Authorization, which a service key would check')
  t.notOk(authenticator.carriesCredential(request({}, '198.51.100.7')), 'nothing: anonymous carries none, even where it is allowed')
})
