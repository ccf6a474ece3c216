// Who may call at all, through the real app: no credential, gateway headers from the wrong
// place, service keys in the SDK's Basic form and as Bearer (revoked, expired, unknown), the
// gateway's signed assertion, and anonymous access only when switched on. A refused caller
// never reaches Code Ocean, and no identity or credential header is ever forwarded.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey } from 'jose'
import t, { type Test } from 'tap'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { ConfigError } from '../../src/errors.js'
import { createServiceKey } from '../../src/identity/service-keys.js'
import { buildTestApp, type TestApp } from '../helpers/app.js'
import { startJwksServer } from '../helpers/jwks-server.js'
import { secretForms, TEST_TOKEN } from '../helpers/secrets.js'
import { startTestSimulator } from '../helpers/simulator.js'

const [, INJECTED_AUTHORIZATION] = secretForms(TEST_TOKEN)
const basic = (key: string): string => `Basic ${Buffer.from(`${key}:`).toString('base64')}`

/** A proxy on the default policy, and a computation a service key's holder started through it. */
async function keyedSetup (t: Test, env: Record<string, string> = {}) {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, { POLICY_FILE: '', ...env })
  const { key, row } = await createServiceKey(proxy.store, { subject: 'nightly-job', groups: ['team-a'] })
  const run = await proxy.inject({ method: 'POST', url: '/api/v1/computations', headers: { authorization: basic(key) }, payload: { capsule_id: simulator.capsules.analysis } }, null)
  t.equal(run.statusCode, 200, 'the key holder runs a capsule')
  return { simulator, proxy, key, keyId: row.keyId, computationId: run.json().id as string }
}

async function get (proxy: TestApp, id: string, headers: Record<string, string>) {
  return await proxy.inject({ method: 'GET', url: `/api/v1/computations/${id}`, headers }, null)
}

t.test('a call without any credential gets 401 with WWW-Authenticate, is audited, and is not forwarded', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url)
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  const response = await get(proxy, computation.id, {})
  t.equal(response.statusCode, 401)
  t.equal(response.json().code, 'PROXY_UNAUTHENTICATED')
  t.match(response.json().message, /service key/)
  t.equal(response.headers['www-authenticate'], 'Basic realm="codeocean-proxy", Bearer realm="codeocean-proxy"')
  t.equal(simulator.requests.length, 0, 'Code Ocean saw nothing')
  t.match(proxy.log.audits().at(-1), { status: 401, actor: null, decision: { outcome: 'deny', reason: /^no proven caller: Authentication required/ } })
})

t.test('unknown routes answer 404 without a caller; the documents need none', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url)
  t.equal((await proxy.inject({ method: 'GET', url: '/api/v1/nowhere' }, null)).statusCode, 404)
  t.equal((await proxy.inject({ method: 'GET', url: '/openapi.json' }, null)).statusCode, 200)
})

t.test('gateway identity headers from a peer outside TRUSTED_PROXIES get 401 and reach nothing', async (t) => {
  const simulator = await startTestSimulator(t)
  for (const proxies of ['', '10.0.0.0/8,fd00::/8']) {
    const proxy = await buildTestApp(t, simulator.url, { TRUSTED_PROXIES: proxies })
    const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
    const response = await get(proxy, computation.id, { 'x-forwarded-user': 'tester@example.com', 'x-forwarded-groups': 'proxy-admins' })
    t.equal(response.statusCode, 401, `TRUSTED_PROXIES=${JSON.stringify(proxies)}`)
    t.match(response.json().message, /accepted only from the gateway/)
  }
  t.equal(simulator.requests.length, 0)
})

t.test('a service key works where the SDK puts its token, and as Bearer; its last use is recorded', async (t) => {
  const { simulator, proxy, key, keyId, computationId } = await keyedSetup(t)
  t.equal((await get(proxy, computationId, { authorization: basic(key) })).statusCode, 200, 'Basic, key as username')
  t.equal((await get(proxy, computationId, { authorization: `Bearer ${key}` })).statusCode, 200, 'Bearer')
  t.equal(simulator.requests.length, 3)
  for (const seen of simulator.requests) t.equal(seen.headers.authorization, INJECTED_AUTHORIZATION, 'Code Ocean got the proxy\'s token, never the key')
  t.equal(simulator.requests[0]?.headers['agent-id'], 'codeocean-proxy/key:nightly-job', 'Code Ocean is told who acted')
  t.match(proxy.log.audits().at(-1), { actor: { subject: 'key:nightly-job', groups: ['team-a'], method: 'service-key', keyId, email: null } })
  t.ok((await proxy.store.findServiceKey(keyId))?.lastUsedAt, 'last use recorded')
})

t.test('an Agent-Id template naming only what the caller lacks sends no Agent-Id', async (t) => {
  const { simulator } = await keyedSetup(t, { AGENT_ID_TEMPLATE: '{email}' })
  t.notOk('agent-id' in (simulator.requests[0]?.headers ?? {}), 'a service key has no email')
})

t.test('a revoked key is refused on its next call', async (t) => {
  const { simulator, proxy, key, keyId, computationId } = await keyedSetup(t)
  t.equal(await proxy.store.revokeServiceKey(keyId, new Date().toISOString()), true)
  const response = await get(proxy, computationId, { authorization: basic(key) })
  t.equal(response.statusCode, 401)
  t.match(response.json().message, /revoked/)
  t.equal(simulator.requests.length, 1, 'only the run before the revocation reached Code Ocean')
})

t.test('an expired key, an unknown key, a forged secret and a Code Ocean token are refused', async (t) => {
  const { simulator, proxy, key, computationId } = await keyedSetup(t)
  const expired = await createServiceKey(proxy.store, { subject: 'old-job', groups: [], expiresAt: new Date(Date.now() - 1000) })
  const forged = `${key.slice(0, -4)}AAAA`
  const cases: Array<[string, string, RegExp]> = [
    ['expired', basic(expired.key), /expired/],
    ['unknown', `Bearer cpx_0123456789abcdef_${'A'.repeat(43)}`, /not recognised/],
    ['forged secret', basic(forged), /not recognised/],
    ['not a key at all', 'Bearer hello', /not recognised/],
    ['Code Ocean token', basic(TEST_TOKEN), /Code Ocean access token/],
    ['other scheme', 'Digest username="x"', /Unsupported Authorization scheme/]
  ]
  for (const [name, authorization, message] of cases) {
    const response = await get(proxy, computationId, { authorization })
    t.equal(response.statusCode, 401, name)
    t.match(response.json().message, message, name)
  }
  t.equal(simulator.requests.length, 1, 'none of them reached Code Ocean')
})

t.test('identity and credential headers never reach Code Ocean; the caller\'s Agent-Id is replaced', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url)
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  const response = await get(proxy, computation.id, {
    'x-forwarded-user': 'tester@example.com',
    'x-forwarded-email': 'tester@example.com',
    'x-forwarded-groups': 'proxy-admins',
    'agent-id': 'someone-else',
    cookie: 'session=1'
  })
  t.equal(response.statusCode, 200)
  const headers = simulator.requests[0]?.headers ?? {}
  for (const name of ['x-forwarded-user', 'x-forwarded-email', 'x-forwarded-groups', 'cookie']) t.notOk(name in headers, `${name} is not forwarded`)
  t.equal(headers['agent-id'], 'codeocean-proxy/tester@example.com')
})

t.test('ALLOW_ANONYMOUS lets credential-less callers in as "anonymous", under the policy', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, { ALLOW_ANONYMOUS: 'true', POLICY_FILE: '' })
  const run = await proxy.inject({ method: 'POST', url: '/api/v1/computations', payload: { capsule_id: simulator.capsules.analysis } }, null)
  t.equal(run.statusCode, 200)
  t.equal(simulator.requests[0]?.headers['agent-id'], 'codeocean-proxy/anonymous')
  t.match(proxy.log.audits().at(-1), { actor: { subject: 'anonymous', method: 'anonymous' } })
  const bad = await proxy.inject({ method: 'POST', url: '/api/v1/computations', headers: { authorization: 'Bearer nope' }, payload: { capsule_id: simulator.capsules.analysis } }, null)
  t.equal(bad.statusCode, 401, 'a credential that is present but wrong is refused, not treated as anonymous')
})

interface Gateway { sign (claims?: Record<string, unknown>): Promise<string>, jwks: Awaited<ReturnType<typeof startJwksServer>> }

async function gateway (t: Test): Promise<Gateway> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true })
  const jwks = await startJwksServer(t)
  jwks.setKeys({ keys: [{ ...(await exportJWK(publicKey)), kid: 'gw-1', alg: 'ES256', use: 'sig' }] })
  const now = (): number => Math.floor(Date.now() / 1000)
  return {
    jwks,
    async sign (claims = {}) {
      return await new SignJWT({ iss: 'https://auth.example.org', aud: 'codeocean-proxy', sub: 'u-123', email: 'erin@example.org', groups: ['proxy-admins'], iat: now(), exp: now() + 60, ...claims })
        .setProtectedHeader({ alg: 'ES256', kid: 'gw-1' })
        .sign(privateKey as CryptoKey)
    }
  }
}

function gatewayEnv (jwksUrl: string): Record<string, string> {
  return {
    GATEWAY_JWT_HEADER: 'X-Pomerium-Jwt-Assertion',
    GATEWAY_JWKS_URL: jwksUrl,
    GATEWAY_JWT_ISSUER: 'https://auth.example.org',
    GATEWAY_JWT_AUDIENCE: 'codeocean-proxy',
    GATEWAY_JWKS_TIMEOUT_MS: '500'
  }
}

t.test('the gateway\'s signed assertion proves the caller; a bad one gets 401 and reaches nothing', async (t) => {
  const simulator = await startTestSimulator(t)
  const { sign, jwks } = await gateway(t)
  const proxy = await buildTestApp(t, simulator.url, gatewayEnv(jwks.url))
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  const good = await get(proxy, computation.id, { 'x-pomerium-jwt-assertion': await sign() })
  t.equal(good.statusCode, 200)
  t.match(proxy.log.audits().at(-1), { actor: { subject: 'u-123', email: 'erin@example.org', groups: ['proxy-admins'], method: 'jwt', keyId: null } })
  t.equal(simulator.requests[0]?.headers['agent-id'], 'codeocean-proxy/erin@example.org')
  t.notOk('x-pomerium-jwt-assertion' in (simulator.requests[0]?.headers ?? {}), 'the assertion is not forwarded')

  const expired = await get(proxy, computation.id, { 'x-pomerium-jwt-assertion': await sign({ exp: Math.floor(Date.now() / 1000) - 120 }) })
  t.equal(expired.statusCode, 401)
  t.match(expired.json().message, /expired/)
  const otherAudience = await get(proxy, computation.id, { 'x-pomerium-jwt-assertion': await sign({ aud: 'another-app' }) })
  t.equal(otherAudience.statusCode, 401)
  // The assertion outranks identity headers: a bad assertion is not rescued by them.
  const withHeaders = await get(proxy, computation.id, { 'x-pomerium-jwt-assertion': 'garbage', 'x-forwarded-user': 'tester@example.com', 'x-forwarded-groups': 'proxy-admins' })
  t.equal(withHeaders.statusCode, 401)
  t.equal(simulator.requests.length, 1, 'only the good call reached Code Ocean')
})

t.test('with the gateway\'s JWKS unreachable and no key ever fetched, gateway callers get 503, never an accept', async (t) => {
  const simulator = await startTestSimulator(t)
  const { sign, jwks } = await gateway(t)
  jwks.fail('status500')
  const proxy = await buildTestApp(t, simulator.url, gatewayEnv(jwks.url))
  t.ok(proxy.log.lines().some((line) => /JWKS could not be fetched at start-up/.test(String(line.msg))), 'the start-up warning')
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  const response = await get(proxy, computation.id, { 'x-pomerium-jwt-assertion': await sign() })
  t.equal(response.statusCode, 503)
  t.equal(response.json().code, 'PROXY_IDENTITY_UNAVAILABLE')
  t.ok(response.headers['retry-after'])
  t.equal(simulator.requests.length, 0)
})

t.test('GATEWAY_MAX_TOKEN_AGE_SECONDS refuses an assertion issued longer ago, or without iat, and reaches nothing', async (t) => {
  const simulator = await startTestSimulator(t)
  const { sign, jwks } = await gateway(t)
  const proxy = await buildTestApp(t, simulator.url, { ...gatewayEnv(jwks.url), GATEWAY_MAX_TOKEN_AGE_SECONDS: '300' })
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  const issued = Math.floor(Date.now() / 1000)
  const old = await get(proxy, computation.id, { 'x-pomerium-jwt-assertion': await sign({ iat: issued - 3600 }) })
  t.equal(old.statusCode, 401)
  t.match(old.json().message, /maximum token age/)
  t.equal((await get(proxy, computation.id, { 'x-pomerium-jwt-assertion': await sign({ iat: undefined }) })).statusCode, 401, 'no iat')
  t.equal(simulator.requests.length, 0)
  t.equal((await get(proxy, computation.id, { 'x-pomerium-jwt-assertion': await sign() })).statusCode, 200, 'a fresh one is let in')
})

t.test('behind oauth2-proxy the ID token arrives as Bearer, next to service keys in the same header', async (t) => {
  const simulator = await startTestSimulator(t)
  const { sign, jwks } = await gateway(t)
  const proxy = await buildTestApp(t, simulator.url, { ...gatewayEnv(jwks.url), GATEWAY_JWT_HEADER: 'Authorization' })
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  t.equal((await get(proxy, computation.id, { authorization: `Bearer ${await sign()}` })).statusCode, 200, 'an ID token')
  const { key } = await createServiceKey(proxy.store, { subject: 'svc', groups: ['proxy-admins'] })
  t.equal((await get(proxy, computation.id, { authorization: `Bearer ${key}` })).statusCode, 200, 'a service key')
  t.match(proxy.log.audits().at(-1), { actor: { method: 'service-key' } })
})

t.test('an identity header repeated on the wire is refused, even from the gateway', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url)
  const address = new URL(await proxy.app.listen({ host: '127.0.0.1', port: 0 }))
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  // Raw bytes: HTTP clients fold repeated headers before they reach the wire.
  const answer = await new Promise<string>((resolve, reject) => {
    const socket = connect(Number(address.port), address.hostname, () => {
      socket.end(`GET /api/v1/computations/${computation.id} HTTP/1.1\r\nHost: proxy\r\nConnection: close\r\n` +
        'X-Forwarded-User: mallory@example.com\r\nX-Forwarded-Groups: proxy-admins\r\nX-Forwarded-Groups: team-a\r\n\r\n')
    })
    let text = ''
    socket.on('data', (chunk: Buffer) => { text += chunk.toString() })
    socket.on('end', () => resolve(text))
    socket.on('error', reject)
    socket.setTimeout(5000, () => socket.destroy(new Error('no answer')))
  })
  t.match(answer, /^HTTP\/1\.1 401 /)
  t.match(answer, /x-forwarded-groups header arrived more than once/)
  t.equal(simulator.requests.length, 0)
})

t.test('the gateway\'s key may be a PEM file instead of a JWKS URL; an unreadable or unusable one stops start-up', async (t) => {
  const simulator = await startTestSimulator(t)
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true })
  const directory = await mkdtemp(join(tmpdir(), 'codeocean-proxy-gateway-'))
  t.teardown(() => rm(directory, { recursive: true, force: true }))
  const pem = join(directory, 'gateway.pem')
  await writeFile(pem, await exportSPKI(publicKey))
  const env = { ...gatewayEnv(''), GATEWAY_JWKS_URL: '', GATEWAY_PUBLIC_KEY_FILE: pem }
  const proxy = await buildTestApp(t, simulator.url, env)
  const now = Math.floor(Date.now() / 1000)
  const assertion = await new SignJWT({ iss: 'https://auth.example.org', aud: 'codeocean-proxy', sub: 'u-9', groups: ['proxy-admins'], exp: now + 60 })
    .setProtectedHeader({ alg: 'ES256' }).sign(privateKey as CryptoKey)
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  t.equal((await get(proxy, computation.id, { 'x-pomerium-jwt-assertion': assertion })).statusCode, 200)

  const garbage = join(directory, 'garbage.pem')
  await writeFile(garbage, 'not a key')
  const base = { CODEOCEAN_DOMAIN: simulator.url, CODEOCEAN_TOKEN: TEST_TOKEN, AUDIT_DB_PATH: ':memory:', ...env }
  for (const [file, problem] of [[join(directory, 'missing.pem'), /GATEWAY_PUBLIC_KEY_FILE .* cannot be read: ENOENT/], [garbage, /the gateway settings are unusable: publicKeyPem is not a PEM public key/]] as const) {
    await buildApp({ config: loadConfig({ ...base, GATEWAY_PUBLIC_KEY_FILE: file }) }).then(
      () => t.fail('started'),
      (error: ConfigError) => { t.type(error, ConfigError); t.match(error.problems, [problem]) })
  }
})
