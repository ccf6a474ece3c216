// /livez and /readyz through the real app: no caller needed, nothing audited, and readiness turns
// red when the store is down, the circuit to Code Ocean is open, the gateway's keys are missing,
// the audit trail cannot keep up, or the app is draining.
import { once } from 'node:events'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect } from 'node:net'
import { exportSPKI, generateKeyPair } from 'jose'
import t from 'tap'
import { Pool } from 'undici'
import { openSqliteDatabase } from '../../src/store/sqlite-database.js'
import type { Store } from '../../src/store/store.js'
import { buildTestApp, DEFAULT_CALLER } from '../helpers/app.js'
import { startTestSimulator } from '../helpers/simulator.js'
import { forEachStore } from '../helpers/stores.js'

interface ReadinessBody { status: string, message?: string, checks: Record<string, { ok: boolean, message?: string }> }

t.test('/livez answers without a caller and nothing is audited or forwarded', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url)
  const response = await proxy.inject({ method: 'GET', url: '/livez' }, null)
  t.equal(response.statusCode, 200)
  t.same(response.json(), { status: 'alive' })
  const ready = await proxy.inject({ method: 'GET', url: '/readyz' }, null)
  t.equal(ready.statusCode, 200)
  t.same(ready.json(), { status: 'ready', checks: { draining: { ok: true }, load: { ok: true }, store: { ok: true }, upstream: { ok: true }, audit: { ok: true } } })
  t.equal(proxy.log.audits().length, 0, 'health checks are not API calls: no audit record')
  t.equal(simulator.requests.length, 0, 'and Code Ocean is not asked')
  t.equal((await proxy.store.queryAudit({ limit: 10 })).length, 0, 'nor is anything stored')
})

t.test('a query string is refused with a JSON error', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url)
  for (const url of ['/livez?verbose=1', '/readyz?full']) {
    const response = await proxy.inject({ method: 'GET', url }, null)
    t.equal(response.statusCode, 400, url)
    t.match(response.json(), { code: 'PROXY_INVALID_REQUEST', message: /querystring/ })
  }
})

forEachStore(t, 'readiness turns red while the store is down', async (t, stores) => {
  const simulator = await startTestSimulator(t)
  const store = await stores.open()
  const proxy = await buildTestApp(t, simulator.url, {}, { store })
  t.equal((await proxy.inject({ method: 'GET', url: '/readyz' }, null)).statusCode, 200)
  await store.close()
  const response = await proxy.inject({ method: 'GET', url: '/readyz' }, null)
  t.equal(response.statusCode, 503)
  const body = response.json() as ReadinessBody
  t.equal(body.status, 'not ready')
  t.equal(body.message, 'not ready: store')
  t.same(body.checks.store, { ok: false, message: 'the store cannot be reached' })
  t.equal((await proxy.inject({ method: 'GET', url: '/livez' }, null)).statusCode, 200, 'while the process stays alive')
})

t.test('readiness turns red while the circuit to Code Ocean is open, and green once it closes', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, { BREAKER_FAILURES: '2', BREAKER_MIN_PATHS: '1', BREAKER_COOLDOWN_MS: '300', UPSTREAM_RETRY_ATTEMPTS: '1' })
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  simulator.inject({ status: 503, times: 2 })
  for (let call = 0; call < 2; call++) {
    t.equal((await proxy.inject({ method: 'GET', url: `/api/v1/computations/${computation.id}` })).statusCode, 503)
  }
  const red = await proxy.inject({ method: 'GET', url: '/readyz' }, null)
  t.equal(red.statusCode, 503)
  t.same((red.json() as ReadinessBody).checks.upstream, { ok: false, message: 'the circuit to Code Ocean is open after repeated failures' })
  await new Promise((resolve) => setTimeout(resolve, 350))
  t.equal((await proxy.inject({ method: 'GET', url: '/readyz' }, null)).statusCode, 200, 'half-open: a probe may go, so ready again')
  t.equal((await proxy.inject({ method: 'GET', url: `/api/v1/computations/${computation.id}` })).statusCode, 200)
  t.equal((await proxy.inject({ method: 'GET', url: '/readyz' }, null)).statusCode, 200)
})

t.test('readiness turns red while the gateway\'s keys cannot be fetched', async (t) => {
  const simulator = await startTestSimulator(t)
  // Nothing listens on port 9 of loopback: the JWKS fetch is refused at once.
  const proxy = await buildTestApp(t, simulator.url, {
    GATEWAY_JWT_HEADER: 'X-Gateway-Assertion',
    GATEWAY_JWKS_URL: 'http://127.0.0.1:9/jwks.json',
    GATEWAY_JWT_ISSUER: 'https://gateway.example.com',
    GATEWAY_JWT_AUDIENCE: 'codeocean-proxy'
  })
  const response = await proxy.inject({ method: 'GET', url: '/readyz' }, null)
  t.equal(response.statusCode, 503)
  t.same((response.json() as ReadinessBody).checks.gateway, { ok: false, message: 'the gateway\'s signing keys have not been fetched yet' })
})

t.test('with a gateway whose key is at hand, readiness says so', async (t) => {
  const simulator = await startTestSimulator(t)
  const directory = await mkdtemp(join(tmpdir(), 'codeocean-proxy-readyz-'))
  t.teardown(() => rm(directory, { recursive: true, force: true }))
  const pem = join(directory, 'gateway.pem')
  await writeFile(pem, await exportSPKI((await generateKeyPair('ES256', { extractable: true })).publicKey))
  const proxy = await buildTestApp(t, simulator.url, {
    GATEWAY_JWT_HEADER: 'X-Gateway-Assertion',
    GATEWAY_PUBLIC_KEY_FILE: pem,
    GATEWAY_JWT_ISSUER: 'https://gateway.example.com',
    GATEWAY_JWT_AUDIENCE: 'codeocean-proxy',
    GATEWAY_JWT_ALGORITHMS: 'ES256'
  })
  const response = await proxy.inject({ method: 'GET', url: '/readyz' }, null)
  t.equal(response.statusCode, 200)
  t.same((response.json() as ReadinessBody).checks.gateway, { ok: true })
})

t.test('readiness turns red while the audit trail cannot keep up', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, { AUDIT_QUEUE_LIMIT: '2' })
  // The records of two reads (one each) fill the queue until the background write runs.
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  await proxy.store.close()
  for (let read = 0; read < 2; read++) await proxy.inject({ method: 'GET', url: `/api/v1/computations/${computation.id}` })
  const response = await proxy.inject({ method: 'GET', url: '/readyz' }, null)
  t.equal(response.statusCode, 503)
  const { checks, message } = response.json() as ReadinessBody
  t.same(checks.audit, { ok: false, message: '2 audit records are waiting to be written: new requests are refused' })
  t.equal(message, 'not ready: store, audit', 'every failing check is named')
})

t.test('a store that does not answer in time is reported as such', async (t) => {
  const simulator = await startTestSimulator(t)
  const store = openSqliteDatabase(':memory:')
  t.teardown(() => store.close())
  let pings = 0
  const stalling: Store = { ...store, ping: async () => { pings++; await new Promise<void>(() => {}) } }
  const proxy = await buildTestApp(t, simulator.url, {}, { store: stalling })
  const [first, second] = await Promise.all([
    proxy.inject({ method: 'GET', url: '/readyz' }, null),
    proxy.inject({ method: 'GET', url: '/readyz' }, null)
  ])
  t.equal(first.statusCode, 503)
  t.same((first.json() as ReadinessBody).checks.store, { ok: false, message: 'the store did not answer within 2000 ms' })
  t.same(second.json(), first.json())
  t.equal(pings, 1, 'probes arriving together share one ping')
})

t.test('readiness turns red while draining, and a request already on an open connection is still served and audited', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url)
  const address = new URL(await proxy.app.listen({ host: '127.0.0.1', port: 0 }))
  const client = new Pool(address.origin, { connections: 1, keepAliveTimeout: 60_000 })
  t.teardown(async () => { await client.close() })
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  // A slow call keeps the app draining; a probe has begun its request (headers half sent) when close begins.
  simulator.inject({ delayMs: 600, times: 1 })
  const slow = client.request({ path: `/api/v1/computations/${computation.id}`, method: 'GET', headers: DEFAULT_CALLER })
  for (let wait = 0; wait < 200 && simulator.requests.length < 1; wait++) await new Promise((resolve) => setTimeout(resolve, 5))
  const probe = connect(Number(address.port), '127.0.0.1')
  await once(probe, 'connect')
  probe.write('GET /readyz HTTP/1.1\r\nHost: proxy\r\n')
  await new Promise((resolve) => setTimeout(resolve, 50))
  const closed = proxy.app.close()
  for (let wait = 0; wait < 200 && !proxy.app.draining; wait++) await new Promise((resolve) => setImmediate(resolve))
  t.equal(proxy.app.draining, true)
  let received = ''
  probe.on('data', (chunk: Buffer) => { received += chunk.toString() })
  probe.write('\r\n')
  await once(probe, 'close')
  t.match(received, /^HTTP\/1\.1 503 /, 'the probe is told: not ready')
  t.match(received, /"draining":\{"ok":false,"message":"shutting down: finishing the requests in flight"\}/)
  t.match(received, /connection: close/i)
  const answer = await slow
  t.equal(answer.statusCode, 200, 'the in-flight call completed')
  t.equal(answer.headers.connection, 'close', 'telling its client not to reuse the connection')
  await answer.body.dump()
  await closed
  t.equal(proxy.log.audits().filter((audit) => audit.stage === 'completed' && audit.status === 200).length, 1, 'and was audited')
})
