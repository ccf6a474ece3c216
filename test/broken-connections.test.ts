// Connections that break half-way, on either side: the audit line still says what happened,
// nothing is logged as a proxy failure, and the pooled connection is not leaked.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { abandon } from './helpers/abandon.js'
import { buildTestApp, DEFAULT_CALLER, type TestApp } from './helpers/app.js'
import { startTestSimulator } from './helpers/simulator.js'

const ID = '5f5c3c4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f'

async function listen (proxy: TestApp): Promise<string> {
  return await proxy.app.listen({ host: '127.0.0.1', port: 0 })
}

/** Waits (bounded) until the proxy has written `count` audit lines. */
async function audits (proxy: TestApp, count: number) {
  for (let attempt = 0; attempt < 200 && proxy.log.audits().length < count; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  return proxy.log.audits()
}

t.test('a caller who leaves before Code Ocean answers a run still leaves a record of the run', async (t) => {
  const simulator = await startTestSimulator(t)
  simulator.inject({ delayMs: 300, method: 'POST' })
  const proxy = await buildTestApp(t, simulator.url)
  const address = await listen(proxy)
  await abandon(`${address}/api/v1/computations`, { headers: DEFAULT_CALLER, method: 'POST', body: JSON.stringify({ capsule_id: simulator.capsules.analysis }), afterMs: 50 })
  const [record] = await audits(proxy, 1)
  t.match(record, { action: 'runCapsule', status: 499, clientAborted: true, upstreamStatus: 200, errorClass: null }, 'the run Code Ocean made is on record')
  t.equal(simulator.requests[0]?.response?.status, 200)
  t.notOk(proxy.log.lines().some((line) => (line.level as number) >= 50), 'a caller leaving is not a proxy failure')
})

t.test('a caller who leaves before Code Ocean answers a rename is recorded with Code Ocean\'s answer', async (t) => {
  const simulator = await startTestSimulator(t)
  simulator.inject({ delayMs: 300, method: 'PATCH' })
  const proxy = await buildTestApp(t, simulator.url)
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  const address = await listen(proxy)
  await abandon(`${address}/api/v1/computations/${computation.id}?name=renamed`, { headers: DEFAULT_CALLER, method: 'PATCH', afterMs: 50 })
  const [record] = await audits(proxy, 1)
  t.match(record, { action: 'renameComputation', status: 499, clientAborted: true, upstreamStatus: 204 })
  t.equal(simulator.getComputation(computation.id)?.name, 'renamed', 'Code Ocean did rename it')
})

t.test('a caller who leaves mid-download is recorded, and the pool keeps working', async (t) => {
  const simulator = await startTestSimulator(t)
  simulator.inject({ times: 1, status: 200, body: JSON.stringify({ items: 'x'.repeat(8 * 1024 * 1024) }) })
  const proxy = await buildTestApp(t, simulator.url, { UPSTREAM_CONNECTIONS: '1' })
  const address = await listen(proxy)
  // Result URLs stream through; a poll of the computation itself is read whole (it may be shared).
  await abandon(`${address}/api/v1/computations/${ID}/results/urls?path=a`, { headers: DEFAULT_CALLER, method: 'GET' })
  const [record] = await audits(proxy, 1)
  t.match(record, { action: 'getResultFileUrls', status: 200, clientAborted: true, upstreamStatus: 200, errorClass: null }, 'the answer had started')
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  const next = await proxy.inject({ method: 'GET', url: `/api/v1/computations/${computation.id}` })
  t.equal(next.statusCode, 200, 'the single pooled connection was released')
  t.notOk(proxy.log.lines().some((line) => (line.level as number) >= 50))
})

t.test('a caller who leaves before Code Ocean fails is recorded with both facts', async (t) => {
  const simulator = await startTestSimulator(t)
  simulator.inject({ delayMs: 200, status: 500 })
  const proxy = await buildTestApp(t, simulator.url)
  const address = await listen(proxy)
  await abandon(`${address}/api/v1/computations/${ID}`, { headers: DEFAULT_CALLER, method: 'GET', afterMs: 50 })
  const [record] = await audits(proxy, 1)
  t.match(record, { status: 499, clientAborted: true, upstreamStatus: 500, errorClass: null, errorCode: null })
})

t.test('a caller who leaves before Code Ocean rejects the proxy\'s token is recorded with the code it would have got', async (t) => {
  const simulator = await startTestSimulator(t)
  simulator.inject({ delayMs: 200, status: 401 })
  const proxy = await buildTestApp(t, simulator.url)
  const address = await listen(proxy)
  await abandon(`${address}/api/v1/computations/${ID}`, { headers: DEFAULT_CALLER, method: 'GET', afterMs: 50 })
  const [record] = await audits(proxy, 1)
  t.match(record, { status: 499, clientAborted: true, upstreamStatus: 401, errorClass: 'credential_rejected', errorCode: 'PROXY_UPSTREAM_CREDENTIAL_REJECTED' })
})

t.test('a caller who leaves while Code Ocean hangs is recorded with the timeout it would have got', async (t) => {
  const simulator = await startTestSimulator(t)
  simulator.inject({ hang: true })
  const proxy = await buildTestApp(t, simulator.url, { UPSTREAM_HEADERS_TIMEOUT_MS: '200' })
  const address = await listen(proxy)
  await abandon(`${address}/api/v1/computations/${ID}`, { headers: DEFAULT_CALLER, method: 'GET', afterMs: 50 })
  const [record] = await audits(proxy, 1)
  t.match(record, { status: 499, clientAborted: true, upstreamStatus: null, errorClass: 'timeout', errorCode: 'PROXY_UPSTREAM_TIMEOUT' })
})

t.test('nothing is forwarded for a caller who left before the handler ran', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url)
  // Stands in for slower steps before forwarding (identity, policy, a durable audit write).
  proxy.app.addHook('preHandler', async () => { await new Promise((resolve) => setTimeout(resolve, 150)) })
  const address = await listen(proxy)
  await abandon(`${address}/api/v1/computations`, { headers: DEFAULT_CALLER, method: 'POST', body: JSON.stringify({ capsule_id: simulator.capsules.analysis }), afterMs: 50 })
  const [record] = await audits(proxy, 1)
  await new Promise((resolve) => setTimeout(resolve, 200))
  t.equal(simulator.requests.length, 0, 'no run was started for nobody')
  t.match(record, { action: 'runCapsule', status: 499, clientAborted: true, upstreamStatus: null })
})

/** A stand-in for a broken Code Ocean that the simulator does not model. */
async function brokenUpstream (t: Test, handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server: Server = createServer(handler)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

t.test('Code Ocean breaking off mid-answer is recorded as a reset', async (t) => {
  const origin = await brokenUpstream(t, (_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' })
    response.write('{"partial":')
    setTimeout(() => response.socket?.destroy(), 20)
  })
  const proxy = await buildTestApp(t, origin)
  // The caller's connection is cut too, so it cannot take a truncated body for a whole one.
  await t.rejects(proxy.app.inject({ method: 'GET', url: `/api/v1/computations/${ID}/results/urls?path=a`, headers: DEFAULT_CALLER }), { code: 'LIGHT_ECONNRESET' })
  const [record] = await audits(proxy, 1)
  t.match(record, { status: 200, clientAborted: true, upstreamStatus: 200, errorClass: 'reset' })
  t.ok(proxy.log.lines().some((line) => line.msg === 'Code Ocean\'s answer broke off after it had started'))
})

t.test('a poll whose answer breaks off is read whole first, so its caller gets a clean 502', async (t) => {
  const origin = await brokenUpstream(t, (_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' })
    response.write('{"partial":')
    setTimeout(() => response.socket?.destroy(), 20)
  })
  const proxy = await buildTestApp(t, origin)
  const response = await proxy.inject({ method: 'GET', url: `/api/v1/computations/${ID}` })
  t.equal(response.statusCode, 502)
  t.equal(response.json().code, 'PROXY_UPSTREAM_CONNECTION_RESET')
  t.match(proxy.log.audits()[0], { status: 502, upstreamStatus: null, errorClass: 'reset', upstreamAttempts: 1 })
})

t.test('599 is the last status passed on as Code Ocean sent it; from 600 on it is a 502, streamed or read whole', async (t) => {
  const origin = await brokenUpstream(t, (request, response) => {
    response.writeHead(Number(new URL(String(request.url), 'http://x').searchParams.get('name') ?? (request.method === 'GET' ? 599 : 600)), { 'content-type': 'application/json' })
    response.end('{"message":"edge"}')
  })
  const proxy = await buildTestApp(t, origin)
  // Past the OpenAPI check of test apps' answers: no document lists a status like these.
  const read = await proxy.app.inject({ method: 'GET', url: `/api/v1/computations/${ID}`, headers: DEFAULT_CALLER })
  t.equal(read.statusCode, 599, 'a read answered whole')
  t.equal(read.body, '{"message":"edge"}')
  const streamed = await proxy.app.inject({ method: 'PATCH', url: `/api/v1/computations/${ID}?name=599`, headers: DEFAULT_CALLER })
  t.equal(streamed.statusCode, 599, 'a rename, streamed')
  const impossible = await proxy.inject({ method: 'PATCH', url: `/api/v1/computations/${ID}?name=600` })
  t.equal(impossible.statusCode, 502)
  t.equal(impossible.json().code, 'PROXY_UPSTREAM_PROTOCOL_ERROR')
  t.match(proxy.log.audits().at(-1), { status: 502, upstreamStatus: 600, errorClass: 'protocol', errorCode: 'PROXY_UPSTREAM_PROTOCOL_ERROR' })
})

t.test('a status Code Ocean cannot mean is a 502, not a crash', async (t) => {
  const origin = await brokenUpstream(t, (_request, response) => {
    response.writeHead(999, { 'content-type': 'application/json' })
    response.end('{"message":"odd"}')
  })
  const proxy = await buildTestApp(t, origin)
  const response = await proxy.inject({ method: 'GET', url: `/api/v1/computations/${ID}` })
  t.equal(response.statusCode, 502)
  t.equal(response.json().code, 'PROXY_UPSTREAM_PROTOCOL_ERROR')
  t.match(proxy.log.audits()[0], { status: 502, clientAborted: false, upstreamStatus: 999, errorClass: 'protocol', errorCode: 'PROXY_UPSTREAM_PROTOCOL_ERROR' })
})
