// Callers who present no credential, or credentials that keep failing, are bounded per source
// address before any identity or audit work, and a flood of them (or of /metrics scrapes) cannot
// shed callers who do prove who they are.
import { generateKeyPair, SignJWT } from 'jose'
import { once } from 'node:events'
import type { Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import t, { type Test } from 'tap'
import { Pool } from 'undici'
import { createServiceKey } from '../../src/identity/service-keys.js'
import { SourceBudget } from '../../src/net/source-budget.js'
import { openSqliteDatabase } from '../../src/store/sqlite-database.js'
import { buildTestApp, DEFAULT_CALLER } from '../helpers/app.js'
import { startJwksServer } from '../helpers/jwks-server.js'
import { openRaw } from '../helpers/raw-http.js'
import { parsePrometheusText, sampleValue } from '../helpers/prometheus.js'
import { startTestSimulator } from '../helpers/simulator.js'

t.test('a source budget: a burst of perMinute, then refusals saying when, refilled as the clock moves', async (t) => {
  let now = 1_000_000
  const budget = new SourceBudget({ perMinute: 3, maxSources: 2, now: () => now })
  t.same([budget.take('a'), budget.take('a'), budget.take('a')], [0, 0, 0])
  t.equal(budget.take('a'), 20, 'one token comes back every 20 s')
  t.equal(budget.take('b'), 0, 'another address has its own budget')
  now += 20_000
  t.equal(budget.take('a'), 0)
  now -= 60_000
  t.equal(budget.take('a'), 20, 'a clock set back neither refills nor drains')
  t.equal(budget.take('c'), 0)
  t.equal(budget.size, 2, 'the least recently seen address (b) is forgotten')
  t.throws(() => new SourceBudget({ perMinute: 0 }), RangeError)
})

t.test('a source budget takes back what it gave, never past its full size', async (t) => {
  const now = 1_000_000
  const budget = new SourceBudget({ perMinute: 2, now: () => now })
  t.same([budget.take('a'), budget.take('a'), budget.take('a')], [0, 0, 30])
  budget.refund('a')
  t.equal(budget.take('a'), 0, 'one given back')
  budget.refund('b')
  budget.refund('b')
  t.same([budget.take('b'), budget.take('b'), budget.take('b')], [0, 0, 30], 'a full budget stays full')
})

const basic = (key: string): string => `Basic ${Buffer.from(`${key}:`).toString('base64')}`
const FORGED_KEY = `cpx_0123456789abcdef_${'A'.repeat(43)}`

t.test('past the budget of failed credentials, an address is refused before any credential is checked, the valid ones too', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, { UNAUTHENTICATED_PER_MINUTE: '3' })
  const { key } = await createServiceKey(proxy.store, { subject: 'ci', groups: ['proxy-admins'] })
  const url = `/api/v1/computations/${simulator.addComputation({ capsule_id: simulator.capsules.analysis }).id}`
  const from = (remoteAddress: string, authorization: string) => ({ method: 'GET' as const, url, remoteAddress, headers: { authorization } })
  const failures = [basic(FORGED_KEY), 'Bearer garbage', 'Digest whatever']
  for (const authorization of failures) t.equal((await proxy.inject(from('198.51.100.7', authorization), null)).statusCode, 401, authorization)
  const audited = proxy.log.audits().length
  t.equal(audited > 0, true, 'each failure within the budget is audited')
  const refused = await proxy.inject(from('198.51.100.7', basic(key)), null)
  t.equal(refused.statusCode, 429, 'a valid key from that address waits too')
  t.match(refused.json(), { code: 'PROXY_UNAUTHENTICATED_LIMITED', message: /credential proved no one/ })
  t.ok(Number(refused.headers['retry-after']) >= 1)
  t.equal(refused.headers.connection, 'close')
  t.equal((await proxy.inject(from('198.51.100.7', basic(FORGED_KEY)), null)).statusCode, 429)
  t.equal(proxy.log.audits().length, audited, 'no record for the refusals')
  t.equal(simulator.requests.length, 0)
  t.equal((await proxy.inject(from('198.51.100.8', basic(key)), null)).statusCode, 200, 'another address is not held back')
  t.equal((await proxy.inject({ method: 'GET', url, remoteAddress: '198.51.100.7' }, null)).statusCode, 401, 'requests without a credential have their own budget')
  t.equal(proxy.log.lines().filter((line) => line.msg === 'an address whose credentials failed more than UNAUTHENTICATED_PER_MINUTE times is refused').length, 1, 'logged once')
  const metrics = await proxy.inject({ method: 'GET', url: '/metrics' }, DEFAULT_CALLER)
  t.equal(sampleValue(parsePrometheusText(metrics.body), 'codeocean_proxy_unauthenticated_limited_total'), 2)
})

t.test('failed credentials from the gateway\'s address, and credentials that cannot be checked now, cost no budget', async (t) => {
  const simulator = await startTestSimulator(t)
  const jwks = await startJwksServer(t)
  jwks.fail('status500')
  const proxy = await buildTestApp(t, simulator.url, {
    UNAUTHENTICATED_PER_MINUTE: '1',
    GATEWAY_JWT_HEADER: 'X-Pomerium-Jwt-Assertion',
    GATEWAY_JWKS_URL: jwks.url,
    GATEWAY_JWT_ISSUER: 'https://auth.example.org',
    GATEWAY_JWT_AUDIENCE: 'codeocean-proxy',
    GATEWAY_JWKS_TIMEOUT_MS: '500'
  })
  const url = `/api/v1/computations/${simulator.addComputation({ capsule_id: simulator.capsules.analysis }).id}`
  // From the gateway's address (TRUSTED_PROXIES), which everyone behind it shares.
  for (let i = 0; i < 3; i++) t.equal((await proxy.inject({ method: 'GET', url, headers: { authorization: 'Bearer garbage' } }, null)).statusCode, 401)
  t.equal((await proxy.inject({ method: 'GET', url }, DEFAULT_CALLER)).statusCode, 200, 'the gateway\'s callers go on')
  const { privateKey } = await generateKeyPair('ES256')
  const now = Math.floor(Date.now() / 1000)
  const assertion = await new SignJWT({ iss: 'https://auth.example.org', aud: 'codeocean-proxy', sub: 'erin', iat: now, exp: now + 60 })
    .setProtectedHeader({ alg: 'ES256', kid: 'gw-1' }).sign(privateKey)
  const unavailable = { method: 'GET' as const, url, remoteAddress: '198.51.100.9', headers: { 'x-pomerium-jwt-assertion': assertion } }
  for (let i = 0; i < 3; i++) t.equal((await proxy.inject(unavailable, null)).statusCode, 503, 'the gateway\'s keys are unreachable: not the caller\'s failure')
})

t.test('past the budget, requests without a credential get 429 at once, unaudited and counted; others are untouched', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, { UNAUTHENTICATED_PER_MINUTE: '3' })
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  const url = `/api/v1/computations/${computation.id}`
  for (let i = 0; i < 3; i++) t.equal((await proxy.inject({ method: 'GET', url }, null)).statusCode, 401)
  const audited = proxy.log.audits().length
  const refused = await proxy.inject({ method: 'GET', url }, null)
  t.equal(refused.statusCode, 429)
  t.match(refused.json(), { code: 'PROXY_UNAUTHENTICATED_LIMITED' })
  t.ok(Number(refused.headers['retry-after']) >= 1)
  t.equal(refused.headers.connection, 'close')
  t.equal((await proxy.inject({ method: 'GET', url: '/metrics' }, null)).statusCode, 429, 'a scrape without a credential draws on the same budget')
  t.equal(proxy.log.audits().length, audited, 'no record for either')
  t.equal((await proxy.inject({ method: 'GET', url }, DEFAULT_CALLER)).statusCode, 200, 'a caller with a credential is not counted')
  t.equal((await proxy.inject({ method: 'GET', url, remoteAddress: '10.1.2.3' }, null)).statusCode, 401, 'another address has its own budget')
  t.equal(simulator.requests.length, 1)
  t.equal(proxy.log.lines().filter((line) => line.msg === 'requests without a credential past UNAUTHENTICATED_PER_MINUTE are refused').length, 1, 'logged once, not per refusal')
  // Scraped with a credential, which draws on no budget.
  const metrics = await proxy.inject({ method: 'GET', url: '/metrics' }, DEFAULT_CALLER)
  t.equal(sampleValue(parsePrometheusText(metrics.body), 'codeocean_proxy_unauthenticated_limited_total'), 2)
})

t.test('identity headers count as a credential only from the gateway\'s address: spoofed ones draw on the budget', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, { UNAUTHENTICATED_PER_MINUTE: '2' })
  const url = `/api/v1/computations/${simulator.addComputation({ capsule_id: simulator.capsules.analysis }).id}`
  const spoofed = { method: 'GET' as const, url, remoteAddress: '198.51.100.7' }
  t.same([(await proxy.inject(spoofed, DEFAULT_CALLER)).statusCode, (await proxy.inject(spoofed, DEFAULT_CALLER)).statusCode], [401, 401], 'refused: not from the gateway')
  t.equal((await proxy.inject(spoofed, DEFAULT_CALLER)).json().code, 'PROXY_UNAUTHENTICATED_LIMITED')
  for (let i = 0; i < 3; i++) t.equal((await proxy.inject({ method: 'GET', url }, DEFAULT_CALLER)).statusCode, 200, 'from the gateway they are a credential')
})

t.test('during a flood of /metrics and of calls without a credential, a caller with one gets every answer', async (t) => {
  const simulator = await startTestSimulator(t)
  // Load shedding as it ships: a saturated loop sheds only requests without a credential.
  const proxy = await buildTestApp(t, simulator.url, { OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '1000', OVERLOAD_MAX_EVENT_LOOP_UTILIZATION: '0.98', UNAUTHENTICATED_PER_MINUTE: '120' })
  const address = await proxy.app.listen({ host: '127.0.0.1', port: 0 })
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  const flood = new Pool(address, { connections: 32, pipelining: 1 })
  t.teardown(async () => { await flood.close() })
  let flooding = true
  const floodStatuses = new Map<number, number>()
  const floodOne = async (path: string): Promise<void> => {
    while (flooding) {
      const { statusCode, body } = await flood.request({ method: 'GET', path })
      await body.dump()
      floodStatuses.set(statusCode, (floodStatuses.get(statusCode) ?? 0) + 1)
    }
  }
  const floods = [
    ...Array.from({ length: 16 }, async () => { await floodOne('/metrics') }),
    ...Array.from({ length: 16 }, async () => { await floodOne(`/api/v1/computations/${computation.id}`) })
  ]
  // Long enough for the load sampler (1 s) to see the flood more than once.
  const until = Date.now() + 3000
  const statuses: number[] = []
  while (Date.now() < until) {
    const response = await fetch(`${address}/api/v1/computations/${computation.id}`, { headers: DEFAULT_CALLER })
    await response.arrayBuffer()
    statuses.push(response.status)
  }
  flooding = false
  await Promise.all(floods)
  t.ok(statuses.length > 0)
  t.same([...new Set(statuses)], [200], `every keyed GET answered 200 (${statuses.length})`)
  t.ok((floodStatuses.get(429) ?? 0) > 0, 'the flood was refused past its budget')
})

/** An in-thread store whose first `holding` key lookups (all by default) wait until the test releases them. */
function storeHoldingLookups (t: Test, holding = Infinity) {
  const store = openSqliteDatabase(':memory:')
  t.teardown(() => store.close())
  const find = store.findServiceKey.bind(store)
  let lookups = 0
  let release!: () => void
  const held = new Promise<void>((resolve) => { release = resolve })
  let lookedUp!: () => void
  const asked = new Promise<void>((resolve) => { lookedUp = resolve })
  store.findServiceKey = async (keyId) => {
    if (lookups++ < holding) {
      lookedUp()
      await held
    }
    return await find(keyId)
  }
  return { store, release, asked, lookups: () => lookups }
}

t.test('forged keys sent at once cannot outrun the budget: each takes from it before it is checked', async (t) => {
  const simulator = await startTestSimulator(t)
  // Every lookup waits until the test lets them go: all the requests are in flight at once.
  const { store, release, lookups } = storeHoldingLookups(t)
  const proxy = await buildTestApp(t, simulator.url, { UNAUTHENTICATED_PER_MINUTE: '3' }, { store })
  const url = `/api/v1/computations/${simulator.addComputation({ capsule_id: simulator.capsules.analysis }).id}`
  const forged = { method: 'GET' as const, url, remoteAddress: '198.51.100.7', headers: { authorization: basic(FORGED_KEY) } }
  const answers = Array.from({ length: 10 }, async () => (await proxy.inject(forged, null)).statusCode)
  for (let wait = 0; wait < 500 && lookups() < 3; wait++) await sleep(10)
  release()
  const statuses = await Promise.all(answers)
  t.same(statuses.filter((status) => status === 401).length, 3, 'three were checked')
  t.same(statuses.filter((status) => status === 429).length, 7, 'the rest refused before their key was looked up')
  t.equal(lookups(), 3)
})

t.test('a credential that proves its caller gives back what it took; one sent to no route, or to an operational route, does not', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, { UNAUTHENTICATED_PER_MINUTE: '2' })
  const { key } = await createServiceKey(proxy.store, { subject: 'ci', groups: ['proxy-admins'] })
  const url = `/api/v1/computations/${simulator.addComputation({ capsule_id: simulator.capsules.analysis }).id}`
  const from = (path: string, authorization: string) => ({ method: 'GET' as const, url: path, remoteAddress: '198.51.100.9', headers: { authorization } })
  for (let call = 0; call < 5; call++) t.equal((await proxy.inject(from(url, basic(key)), null)).statusCode, 200, `valid call ${call + 1} of 5, with a budget of 2`)
  for (let call = 0; call < 5; call++) t.equal((await proxy.inject(from('/livez', 'Bearer junk'), null)).statusCode, 200, 'probes identify no one and are not charged')
  t.same([(await proxy.inject(from('/api/v1/nowhere', 'Bearer junk'), null)).statusCode, (await proxy.inject(from('/api/v1/nowhere', 'Bearer junk'), null)).statusCode], [404, 404])
  const refused = await proxy.inject(from('/api/v1/nowhere', 'Bearer junk'), null)
  t.equal(refused.statusCode, 429, 'credentials sent to no route prove no one: the third is refused')
  t.equal((await proxy.inject(from(url, basic(key)), null)).statusCode, 429, 'and so, for now, is the valid key from that address')
})

t.test('a caller who leaves while its forged key is being looked up is charged all the same', async (t) => {
  const simulator = await startTestSimulator(t)
  // The first lookup waits until the caller has gone.
  const { store, release, asked } = storeHoldingLookups(t, 1)
  // Loopback is not the gateway here, so its failures count.
  const proxy = await buildTestApp(t, simulator.url, { UNAUTHENTICATED_PER_MINUTE: '1', TRUSTED_PROXIES: '192.0.2.1/32' }, { store })
  const { key } = await createServiceKey(proxy.store, { subject: 'ci', groups: ['proxy-admins'] })
  const address = await proxy.app.listen({ host: '127.0.0.1', port: 0 })
  const accepted = once(proxy.app.server, 'connection') as Promise<[Socket]>
  const url = `/api/v1/computations/${simulator.addComputation({ capsule_id: simulator.capsules.analysis }).id}`

  const leaving = await openRaw(address)
  leaving.socket.write(`GET ${url} HTTP/1.1\r\nHost: proxy\r\nAuthorization: Bearer ${FORGED_KEY}\r\n\r\n`)
  const [serverSide] = await accepted
  await asked
  leaving.socket.destroy()
  await once(serverSide, 'close')
  release()
  // Its record is written once the lookup has failed: then the charge has been made.
  for (let wait = 0; wait < 500 && !proxy.log.audits().some((audit) => audit.status === 499); wait++) await sleep(10)
  t.match(proxy.log.audits().at(-1), { status: 499, actor: null, decision: null }, 'the caller left before any answer')

  const after = await fetch(`${address}${url}`, { headers: { authorization: basic(key) } })
  t.equal(after.status, 429, 'the address has spent its budget of failures')
  t.match(await after.json(), { message: /credential proved no one/ })
  t.equal(simulator.requests.length, 0)
})
