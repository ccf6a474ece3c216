// The gateway assertion: what verifies, what is refused and why, and how the key cache behaves
// when the gateway rotates keys or its JWKS URL fails — against a real JWKS server on loopback.
import { createHmac, generateKeyPairSync } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose'
import t, { type Test } from 'tap'
import { MockAgent } from 'undici'
import {
  createGatewayJwtVerifier,
  keyFitsAlgorithm,
  MAX_JWKS_BYTES,
  MAX_TOKEN_LENGTH,
  type GatewayJwtOptions,
  type GatewayJwtVerifier
} from '../../src/identity/gateway-jwt.js'
import { startJwksServer, type JwksServer } from '../helpers/jwks-server.js'

const ISSUER = 'https://gateway.example.org'
const AUDIENCE = 'codeocean-proxy'

interface SigningKey { kid: string, alg: 'RS256' | 'ES256', privateKey: CryptoKey, publicKey: CryptoKey, jwk: JWK }

async function signingKey (alg: SigningKey['alg'], kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  return { kid, alg, privateKey, publicKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } }
}

const [rsa1, rsa2, ec1, rogue] = await Promise.all([
  signingKey('RS256', 'rsa-1'),
  signingKey('RS256', 'rsa-2'),
  signingKey('ES256', 'ec-1'),
  signingKey('RS256', 'rsa-1-rogue')
]) as [SigningKey, SigningKey, SigningKey, SigningKey]

const now = (): number => Math.floor(Date.now() / 1000)

/** A signed assertion; a claim or header set to undefined is left out. */
async function sign (key: SigningKey, claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}): Promise<string> {
  const payload = { iss: ISSUER, aud: AUDIENCE, iat: now(), exp: now() + 300, sub: 'alice', email: 'alice@example.org', groups: ['staff'], ...claims }
  return await new SignJWT(payload as JWTPayload)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT', ...header } as { alg: string })
    .sign(key.privateKey)
}

const encode = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url')

function options (overrides: Partial<GatewayJwtOptions> = {}): GatewayJwtOptions {
  return {
    issuer: ISSUER,
    audience: [AUDIENCE],
    algorithms: ['RS256', 'ES256'],
    claims: { subject: 'sub', email: 'email', groups: 'groups' },
    fetchTimeoutMs: 200,
    refreshCooldownMs: 60_000,
    maxAgeMs: 60_000,
    clockToleranceSeconds: 0,
    ...overrides
  }
}

/** A JWKS server serving `keys`, and a verifier on it (not yet warmed). */
async function gateway (t: Test, keys: SigningKey[] = [rsa1, ec1], overrides: Partial<GatewayJwtOptions> = {}): Promise<{ server: JwksServer, verifier: GatewayJwtVerifier }> {
  const server = await startJwksServer(t)
  server.setKeys({ keys: keys.map((key) => key.jwk) })
  return { server, verifier: createGatewayJwtVerifier(options({ jwksUrl: server.url, ...overrides })) }
}

const unauthenticated = (message: RegExp) => ({ code: 'PROXY_UNAUTHENTICATED', statusCode: 401, message })
const unavailable = { code: 'PROXY_IDENTITY_UNAVAILABLE', statusCode: 503 }

t.test('a valid assertion gives the caller, keeping only string groups', async (t) => {
  const { verifier } = await gateway(t)
  const identity = await verifier.verify(await sign(rsa1, { groups: ['staff', 42, 'admins', null] }))
  t.same(identity, { subject: 'alice', email: 'alice@example.org', groups: ['staff', 'admins'], method: 'jwt', keyId: null })
})

t.test('an ES256 assertion verifies against an EC key of the set', async (t) => {
  const { verifier } = await gateway(t)
  t.equal((await verifier.verify(await sign(ec1, { sub: 'bob' }))).subject, 'bob')
})

t.test('groups sent as one comma-separated string are split', async (t) => {
  const { verifier } = await gateway(t)
  t.same((await verifier.verify(await sign(rsa1, { groups: 'staff, admins,,ops ' }))).groups, ['staff', 'admins', 'ops'])
})

t.test('custom claim names are read; a missing or non-string email is null, odd groups are none', async (t) => {
  const { verifier } = await gateway(t, [rsa1], { claims: { subject: 'user_id', email: 'mail', groups: 'roles' } })
  const identity = await verifier.verify(await sign(rsa1, { user_id: 'u-7', mail: 'u7@example.org', roles: ['r1'] }))
  t.same(identity, { subject: 'u-7', email: 'u7@example.org', groups: ['r1'], method: 'jwt', keyId: null })
  const sparse = await verifier.verify(await sign(rsa1, { user_id: 'u-8', mail: 12, roles: { r1: true } }))
  t.same(sparse, { subject: 'u-8', email: null, groups: [], method: 'jwt', keyId: null })
  const bare = await verifier.verify(await sign(rsa1, { user_id: 'u-9' }))
  t.same([bare.email, bare.groups], [null, []])
  const empty = await verifier.verify(await sign(rsa1, { user_id: 'u-10', mail: '' }))
  t.equal(empty.email, null, 'an empty email is no email')
})

t.test('an assertion without a usable subject is refused', async (t) => {
  const { verifier } = await gateway(t)
  for (const sub of [undefined, '', 42, 'x'.repeat(257)]) {
    await t.rejects(verifier.verify(await sign(rsa1, { sub })), unauthenticated(/no subject: claim "sub"/), String(sub).slice(0, 10))
  }
  t.equal((await verifier.verify(await sign(rsa1, { sub: 'x'.repeat(256) }))).subject.length, 256)
})

t.test('a subject in the namespace of service keys is refused, in any case', async (t) => {
  const { verifier } = await gateway(t)
  for (const sub of ['key:ci-nightly', 'KEY:ci-nightly', 'kEy:']) {
    await t.rejects(verifier.verify(await sign(rsa1, { sub })), unauthenticated(/subject is in the namespace of service keys \(key:…\)/), sub)
  }
  t.equal((await verifier.verify(await sign(rsa1, { sub: 'keys:alice' }))).subject, 'keys:alice', 'only the namespace itself is refused')
  t.equal((await verifier.verify(await sign(rsa1, { sub: 'monkey:alice' }))).subject, 'monkey:alice')
})

t.test('a subject with control or invisible characters is refused, as from trusted headers; other Unicode is not', async (t) => {
  const { verifier } = await gateway(t)
  const unusable = ['alice\n', 'ali\u0000ce', 'alice\u007f', 'ali\u0085ce', 'ali\u009bce', 'alice\u202Eecila', 'ali\u200bce', 'ali\u2028ce', ' alice', 'alice ']
  for (const sub of unusable) {
    await t.rejects(verifier.verify(await sign(rsa1, { sub })), unauthenticated(/no subject: claim "sub" must be a string of 1 to 256 printable characters/), encodeURIComponent(sub))
  }
  t.equal((await verifier.verify(await sign(rsa1, { sub: 'José Müller' }))).subject, 'José Müller', 'printable Unicode is a subject')
})

t.test('an email or group with control or invisible characters is left out, as from trusted headers', async (t) => {
  const { verifier } = await gateway(t)
  const identity = await verifier.verify(await sign(rsa1, { email: 'alice@example.org\r\nX-Injected: 1', groups: ['staff', 'ad\u202Emins', 'ops\u0007', ' padded', 'x'.repeat(257)] }))
  t.equal(identity.email, null)
  t.same(identity.groups, ['staff'])
  t.same((await verifier.verify(await sign(rsa1, { groups: 'staff, ad\u202Emins , ops' }))).groups, ['staff', 'ops'], 'in a comma-separated string too')
  t.equal((await verifier.verify(await sign(rsa1, { email: 'josé@exämple.org' }))).email, 'josé@exämple.org')
})

t.test('with a maximum token age, iat is required and an older assertion is refused; without one, neither', async (t) => {
  const { server, verifier: ageless } = await gateway(t)
  const bounded = createGatewayJwtVerifier(options({ jwksUrl: server.url, maxTokenAgeSeconds: 300 }))
  const old = await sign(rsa1, { iat: now() - 3600, exp: now() + 300 })
  const undated = await sign(rsa1, { iat: undefined })
  await t.rejects(bounded.verify(old), unauthenticated(/was issued longer ago than the maximum token age allows$/))
  await t.rejects(bounded.verify(undated), unauthenticated(/has no valid issue time \(iat\), which a maximum token age requires$/))
  await t.rejects(bounded.verify(await sign(rsa1, { iat: now() + 3600 })), unauthenticated(/has no valid issue time/), 'nor one issued in the future')
  t.equal((await bounded.verify(await sign(rsa1, { iat: now() - 60 }))).subject, 'alice', 'a recent one verifies')
  t.equal((await ageless.verify(old)).subject, 'alice', 'without a maximum, age is not checked')
  t.equal((await ageless.verify(undated)).subject, 'alice', 'nor is iat required')
})

t.test('an expired assertion is refused, unless within the clock tolerance', async (t) => {
  const { verifier } = await gateway(t)
  const expired = await sign(rsa1, { iat: now() - 600, exp: now() - 10 })
  await t.rejects(verifier.verify(expired), unauthenticated(/is expired$/))
  const tolerant = createGatewayJwtVerifier(options({ jwksUrl: (await gateway(t)).server.url, clockToleranceSeconds: 60 }))
  t.equal((await tolerant.verify(expired)).subject, 'alice')
})

t.test('an assertion without an expiry is refused', async (t) => {
  const { verifier } = await gateway(t)
  await t.rejects(verifier.verify(await sign(rsa1, { exp: undefined })), unauthenticated(/no valid expiry/))
  await t.rejects(verifier.verify(await sign(rsa1, { exp: 'tomorrow' })), unauthenticated(/no valid expiry/))
})

t.test('an assertion not valid yet (nbf) is refused', async (t) => {
  const { verifier } = await gateway(t)
  await t.rejects(verifier.verify(await sign(rsa1, { nbf: now() + 120 })), unauthenticated(/is not valid yet/))
})

t.test('an assertion from another issuer is refused', async (t) => {
  const { verifier } = await gateway(t)
  await t.rejects(verifier.verify(await sign(rsa1, { iss: 'https://evil.example.org' })), unauthenticated(/wrong issuer/))
  await t.rejects(verifier.verify(await sign(rsa1, { iss: undefined })), unauthenticated(/wrong issuer/))
})

t.test('an assertion for another audience is refused; any configured audience is accepted', async (t) => {
  const { verifier } = await gateway(t, [rsa1], { audience: ['first', AUDIENCE] })
  await t.rejects(verifier.verify(await sign(rsa1, { aud: 'another-app' })), unauthenticated(/another audience/))
  t.equal((await verifier.verify(await sign(rsa1, { aud: ['x', 'first'] }))).subject, 'alice')
})

t.test('alg none is refused without fetching keys', async (t) => {
  const { server, verifier } = await gateway(t)
  const payload = { iss: ISSUER, aud: AUDIENCE, exp: now() + 300, sub: 'mallory' }
  for (const alg of ['none', 'None']) {
    await t.rejects(verifier.verify(`${encode({ alg, typ: 'JWT' })}.${encode(payload)}.`), unauthenticated(/algorithm this proxy does not accept/), alg)
  }
  t.equal(server.fetches, 0)
})

t.test('a token signed with an algorithm the key allows but the pin excludes is refused', async (t) => {
  // One RSA key signs RS256 and PS256 alike: only the configured algorithms decide.
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString()
  const token = async (alg: 'RS256' | 'PS256'): Promise<string> =>
    await new SignJWT({ iss: ISSUER, aud: AUDIENCE, exp: now() + 300, sub: 'alice' }).setProtectedHeader({ alg }).sign(privateKey)
  const pinned = createGatewayJwtVerifier(options({ publicKeyPem: pem, algorithms: ['RS256'] }))
  t.equal((await pinned.verify(await token('RS256'))).subject, 'alice', 'the pinned algorithm verifies')
  await t.rejects(pinned.verify(await token('PS256')), unauthenticated(/algorithm this proxy does not accept/), 'PS256 is refused')
  const both = createGatewayJwtVerifier(options({ publicKeyPem: pem, algorithms: ['RS256', 'PS256'] }))
  t.equal((await both.verify(await token('PS256'))).subject, 'alice', 'the same token verifies where PS256 is pinned too')
})

t.test('HS256 keyed with the public key PEM (algorithm confusion) is refused', async (t) => {
  const { verifier } = await gateway(t)
  const pem = await exportSPKI(rsa1.publicKey)
  const input = `${encode({ alg: 'HS256', typ: 'JWT', kid: rsa1.kid })}.${encode({ iss: ISSUER, aud: AUDIENCE, exp: now() + 300, sub: 'mallory' })}`
  const forged = `${input}.${createHmac('sha256', pem).update(input).digest('base64url')}`
  await t.rejects(verifier.verify(forged), unauthenticated(/algorithm this proxy does not accept/))
})

t.test('a tampered payload is refused without refetching keys', async (t) => {
  const { server, verifier } = await gateway(t, [rsa1], { refreshCooldownMs: 0 })
  const [header, , signature] = (await sign(rsa1)).split('.')
  const forged = `${header}.${encode({ iss: ISSUER, aud: AUDIENCE, exp: now() + 300, sub: 'admin' })}.${signature}`
  await t.rejects(verifier.verify(forged), unauthenticated(/not signed by a trusted key/))
  t.equal(server.fetches, 1)
})

t.test('malformed assertions are refused as malformed', async (t) => {
  const { verifier } = await gateway(t)
  for (const token of ['', 'abc', 'a.b.c', `${encode({ alg: 'RS256' })}.!!!.x`]) {
    await t.rejects(verifier.verify(token), unauthenticated(/is malformed$/), token)
  }
  // A failing claim without its own wording (iat must be a number) is malformed too.
  await t.rejects(verifier.verify(await sign(rsa1, { iat: 'yesterday' })), unauthenticated(/is malformed$/))
})

t.test('an assertion longer than 16 KiB is refused before anything else', async (t) => {
  const { server, verifier } = await gateway(t)
  await t.rejects(verifier.verify('a'.repeat(MAX_TOKEN_LENGTH + 1)), unauthenticated(/longer than 16 KiB/))
  t.equal(server.fetches, 0)
})

t.test('an unknown kid is refused after exactly one refetch', async (t) => {
  const { server, verifier } = await gateway(t, [rsa1], { refreshCooldownMs: 0 })
  t.equal(await verifier.warm(), true)
  await t.rejects(verifier.verify(await sign(rogue)), unauthenticated(/not signed by a trusted key/))
  t.equal(server.fetches, 2)
})

t.test('concurrent unknown kids share one refetch', async (t) => {
  const { server, verifier } = await gateway(t, [rsa1], { refreshCooldownMs: 0 })
  await verifier.warm()
  const token = await sign(rogue)
  const results = await Promise.allSettled(Array.from({ length: 5 }, () => verifier.verify(token)))
  t.same(results.map((result) => result.status), Array(5).fill('rejected'))
  t.equal(server.fetches, 2)
})

t.test('within the cooldown an unknown kid does not refetch', async (t) => {
  const { server, verifier } = await gateway(t, [rsa1], { refreshCooldownMs: 60_000 })
  await verifier.warm()
  await t.rejects(verifier.verify(await sign(rogue)), unauthenticated(/not signed by a trusted key/))
  await t.rejects(verifier.verify(await sign(rogue, {}, { kid: 'random' })), unauthenticated(/not signed by a trusted key/))
  t.equal(server.fetches, 1)
})

t.test('a rotated key verifies without a new verifier', async (t) => {
  const { server, verifier } = await gateway(t, [rsa1], { refreshCooldownMs: 0 })
  t.equal((await verifier.verify(await sign(rsa1))).subject, 'alice')
  server.setKeys({ keys: [rsa2.jwk] })
  t.equal((await verifier.verify(await sign(rsa2, { sub: 'carol' }))).subject, 'carol')
  t.equal(server.fetches, 2)
  await t.rejects(verifier.verify(await sign(rsa1)), unauthenticated(/not signed by a trusted key/), 'the retired key is gone')
})

t.test('without a kid, each key of the set is tried', async (t) => {
  const withoutKid = ({ kid: _kid, ...jwk }: JWK): JWK => jwk
  const server = await startJwksServer(t)
  server.setKeys({ keys: [withoutKid(rsa1.jwk), withoutKid(rsa2.jwk)] })
  const verifier = createGatewayJwtVerifier(options({ jwksUrl: server.url }))
  t.equal((await verifier.verify(await sign(rsa2, {}, { kid: undefined }))).subject, 'alice')
  await t.rejects(verifier.verify(await sign(rogue, {}, { kid: undefined })), unauthenticated(/not signed by a trusted key/))
  await t.rejects(verifier.verify(await sign(rsa1, { exp: now() - 10 }, { kid: undefined })), unauthenticated(/is expired$/), 'the signing key decides the error')
})

t.test('with keys cached, an unreachable JWKS URL does not stop verification', async (t) => {
  for (const mode of ['closed', 'status500', 'hang', 'garbage'] as const) {
    t.test(mode, async (t) => {
      const { server, verifier } = await gateway(t, [rsa1], { refreshCooldownMs: 0, maxAgeMs: 0 })
      t.equal(await verifier.warm(), true)
      if (mode === 'closed') await server.close()
      else server.fail(mode)
      t.equal((await verifier.verify(await sign(rsa1))).subject, 'alice', 'stale keys still verify')
      await t.rejects(verifier.verify(await sign(rogue)), unauthenticated(/not signed by a trusted key/), 'an unknown kid is still a 401')
      t.equal(await verifier.warm(), true, 'a failed refresh keeps the keys')
      t.equal(verifier.ready(), true)
    })
  }
})

t.test('with nothing cached, a failing JWKS URL makes verification unavailable, never accepting', async (t) => {
  for (const mode of ['closed', 'status500', 'hang', 'garbage'] as const) {
    t.test(mode, async (t) => {
      const { server, verifier } = await gateway(t, [rsa1])
      if (mode === 'closed') await server.close()
      else server.fail(mode)
      const started = Date.now()
      await t.rejects(verifier.verify(await sign(rsa1)), unavailable)
      t.ok(Date.now() - started < 5000, 'bounded by fetchTimeoutMs (200 ms), not waiting for ever')
      t.equal(verifier.ready(), false)
    })
  }
})

t.test('with nothing cached, requests within the cooldown do not refetch', async (t) => {
  const { server, verifier } = await gateway(t, [rsa1])
  server.fail('status500')
  t.equal(await verifier.warm(), false)
  await t.rejects(verifier.verify(await sign(rsa1)), unavailable)
  t.equal(server.fetches, 1)
  server.fail(null)
  t.equal(await verifier.warm(), true, 'warm() ignores the cooldown')
  t.equal((await verifier.verify(await sign(rsa1))).subject, 'alice')
})

t.test('a body that is not a key set, or is over 1 MiB, counts as a failed fetch', async (t) => {
  for (const body of [{ keys: 'none' }, { keys: [1] }, [], { keys: [], padding: 'x'.repeat(MAX_JWKS_BYTES) }]) {
    const { server, verifier } = await gateway(t)
    server.setKeys(body)
    t.equal(await verifier.warm(), false, JSON.stringify(body).slice(0, 30))
    server.setKeys({ keys: [rsa1.jwk] })
    t.equal(await verifier.warm(), true)
  }
})

/** Waits (bounded) until `condition` holds: for effects of a background refresh. */
async function until (condition: () => boolean): Promise<void> {
  for (let waited = 0; !condition() && waited < 2000; waited += 5) await sleep(5)
}

t.test('a stale key set is refreshed in the background while the cached keys answer', async (t) => {
  // The hanging refresh gives up after 1 s: far longer than a verification from cached keys
  // takes, however busy the machine, so waiting for it would show.
  const { server, verifier } = await gateway(t, [rsa1], { refreshCooldownMs: 0, maxAgeMs: 150, fetchTimeoutMs: 1000 })
  await verifier.warm()
  server.setKeys({ keys: [rsa1.jwk, rsa2.jwk] })
  server.fail('hang')
  t.equal((await verifier.verify(await sign(rsa1))).subject, 'alice')
  t.equal(server.fetches, 1, 'fresh keys: no fetch')
  await sleep(170)
  const token = await sign(rsa1)
  const started = Date.now()
  t.equal((await verifier.verify(token)).subject, 'alice', 'stale keys answer')
  t.ok(Date.now() - started < 800, 'the request did not wait for the hanging refresh')
  await until(() => server.fetches === 2)
  t.equal(server.fetches, 2, 'one background refresh')
  await sleep(1100) // past fetchTimeoutMs: the hanging refresh has failed, the keys stay
  server.fail(null)
  t.equal((await verifier.verify(await sign(rsa1))).subject, 'alice', 'still stale: refreshes again')
  await until(() => server.fetches === 3)
  t.equal((await verifier.verify(await sign(rsa2))).subject, 'alice', 'the refreshed set knows rsa-2')
  t.equal(server.fetches, 3, 'without a fetch of its own')
})

t.test('a PEM key fits only the algorithms its type and curve can sign with', async (t) => {
  const keys = {
    rsa: generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey,
    rsaPss: generateKeyPairSync('rsa-pss', { modulusLength: 2048 }).publicKey,
    p256: generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey,
    p384: generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey,
    ed25519: generateKeyPairSync('ed25519').publicKey,
    ed448: generateKeyPairSync('ed448').publicKey
  }
  const fits = (key: keyof typeof keys): string[] =>
    ['RS256', 'RS512', 'PS256', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519', 'HS256', 'none'].filter((alg) => keyFitsAlgorithm(keys[key], alg))
  t.same(fits('rsa'), ['RS256', 'RS512', 'PS256'])
  t.same(fits('rsaPss'), ['PS256'])
  t.same(fits('p256'), ['ES256'])
  t.same(fits('p384'), ['ES384'])
  t.same(fits('ed25519'), ['EdDSA', 'Ed25519'])
  t.same(fits('ed448'), ['EdDSA'])
})

t.test('publicKeyPem verifies without any fetch', async (t) => {
  const verifier = createGatewayJwtVerifier(options({ publicKeyPem: await exportSPKI(rsa1.publicKey) }))
  t.equal(verifier.ready(), true)
  t.equal(await verifier.warm(), true)
  t.equal((await verifier.verify(await sign(rsa1))).subject, 'alice')
  await t.rejects(verifier.verify(await sign(rogue)), unauthenticated(/not signed by a trusted key/))
  await t.rejects(verifier.verify(await sign(ec1)), unauthenticated(/not signed by a trusted key/), 'an EC token against an RSA key')
})

t.test('keys are fetched through the given dispatcher, asking for JSON', async (t) => {
  const agent = new MockAgent()
  agent.disableNetConnect()
  t.teardown(() => agent.close())
  agent.get('http://gateway.test')
    .intercept({ path: '/jwks', method: 'GET', headers: { accept: 'application/json' } })
    .reply(200, { keys: [rsa1.jwk] })
  const verifier = createGatewayJwtVerifier(options({ jwksUrl: 'http://gateway.test/jwks', dispatcher: agent }))
  t.equal(verifier.ready(), false)
  t.equal((await verifier.verify(await sign(rsa1))).subject, 'alice')
  t.equal(verifier.ready(), true)
})

t.test('unsafe or incomplete configuration is refused at creation', async (t) => {
  const pem = await exportSPKI(rsa1.publicKey)
  const url = 'https://gateway.example.org/jwks'
  const cases: Array<[string, Partial<GatewayJwtOptions>]> = [
    ['neither key source', {}],
    ['both key sources', { jwksUrl: url, publicKeyPem: pem }],
    ['alg none', { jwksUrl: url, algorithms: ['RS256', 'none'] }],
    ['HS256', { jwksUrl: url, algorithms: ['HS256'] }],
    ['hs512', { jwksUrl: url, algorithms: ['ES256', 'hs512'] }],
    ['no algorithms', { jwksUrl: url, algorithms: [] }],
    ['no audience', { jwksUrl: url, audience: [] }],
    ['a file URL', { jwksUrl: 'file:///etc/jwks.json' }],
    ['not a URL', { jwksUrl: 'gateway/jwks' }],
    ['not a PEM', { publicKeyPem: 'not a key' }]
  ]
  for (const [name, overrides] of cases) t.throws(() => createGatewayJwtVerifier(options(overrides)), TypeError, name)
})

t.test('ready() turns true once warm() has loaded keys, one fetch for concurrent calls', async (t) => {
  const { server, verifier } = await gateway(t)
  t.equal(verifier.ready(), false)
  const [first, second] = await Promise.all([verifier.warm(), verifier.warm()])
  t.same([first, second, verifier.ready()], [true, true, true])
  t.equal(server.fetches, 1)
})
