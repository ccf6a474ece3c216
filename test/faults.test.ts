// Code Ocean down, hanging, resetting or failing: the caller gets a clear JSON error quickly,
// Code Ocean's own error answers pass through intact, and every outcome is audited.
import { createServer } from 'node:net'
import t from 'tap'
import { buildTestApp } from './helpers/app.js'
import { startTestSimulator } from './helpers/simulator.js'

const ID = '5f5c3c4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f'

/** A loopback port with nothing listening on it. */
async function closedPort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}

t.test('Code Ocean refusing connections is a 502', async (t) => {
  const proxy = await buildTestApp(t, `http://127.0.0.1:${await closedPort()}`)
  const response = await proxy.inject({ method: 'GET', url: `/api/v1/computations/${ID}` })
  t.equal(response.statusCode, 502)
  t.equal(response.json().code, 'PROXY_UPSTREAM_UNREACHABLE')
  t.notMatch(response.body, /127\.0\.0\.1|ECONNREFUSED|\bat /, 'no internal host, port, errno or stack')
  t.match(proxy.log.audits()[0], { status: 502, errorClass: 'refused', upstreamStatus: null })
})

t.test('Code Ocean hanging is a 504 after the configured timeout', async (t) => {
  const simulator = await startTestSimulator(t)
  simulator.inject({ hang: true })
  const proxy = await buildTestApp(t, simulator.url, { UPSTREAM_HEADERS_TIMEOUT_MS: '300' })
  const response = await proxy.inject({ method: 'GET', url: `/api/v1/computations/${ID}` })
  t.equal(response.statusCode, 504)
  t.equal(response.json().code, 'PROXY_UPSTREAM_TIMEOUT')
  t.match(response.json().message, /300 ms/)
  t.equal(simulator.requests.length, 1, 'the request did reach Code Ocean')
  const [record] = proxy.log.audits()
  t.match(record, { status: 504, errorClass: 'timeout' })
  t.ok((record?.upstreamMs ?? 0) >= 290, 'the proxy waited for the configured timeout')
})

t.test('Code Ocean resetting the connection is a 502', async (t) => {
  const simulator = await startTestSimulator(t)
  simulator.inject({ reset: true })
  const proxy = await buildTestApp(t, simulator.url)
  const response = await proxy.inject({ method: 'POST', url: '/api/v1/computations', payload: { capsule_id: simulator.capsules.analysis } })
  t.equal(response.statusCode, 502)
  t.equal(response.json().code, 'PROXY_UPSTREAM_CONNECTION_RESET')
  t.match(response.json().message, /may or may not have taken effect/)
  t.equal(simulator.requests.length, 1, 'a run is never retried blindly')
  t.match(proxy.log.audits()[0], { status: 502, errorClass: 'reset' })
})

for (const [status, headers] of [[404, {}], [429, { 'retry-after': '7' }], [500, {}], [503, { 'retry-after': '30' }]] as const) {
  t.test(`Code Ocean's ${status} passes through with its status, body and Retry-After`, async (t) => {
    const simulator = await startTestSimulator(t)
    const body = { message: `simulated ${status}`, datasets: [{ id: '123', name: 'tv' }] }
    simulator.inject({ status, body, headers: { ...headers, 'set-cookie': 'upstream=1', server: 'internal' } })
    // One attempt: what is shown is the pass-through, not the retries (test/upstream/resilience.test.ts).
    const proxy = await buildTestApp(t, simulator.url, { UPSTREAM_RETRY_ATTEMPTS: '1' })
    const response = await proxy.inject({ method: 'GET', url: `/api/v1/computations/${ID}` })
    t.equal(response.statusCode, status)
    t.equal(response.body, simulator.requests[0]?.response?.bodyText, 'the body is byte for byte what Code Ocean sent')
    t.same(response.json(), body)
    t.equal(response.headers['retry-after'], (headers as Record<string, string>)['retry-after'])
    t.notOk(response.headers['set-cookie'], 'upstream cookies stay behind')
    t.notOk(response.headers.server === 'internal', 'upstream server header stays behind')
    t.equal(simulator.requests.length, 1)
    t.match(proxy.log.audits()[0], { status, upstreamStatus: status, errorCode: null })
  })
}

t.test('a non-JSON error page from a gateway in front of Code Ocean passes through untouched', async (t) => {
  const simulator = await startTestSimulator(t)
  simulator.inject({ status: 502, body: '<html>Bad Gateway</html>', headers: { 'content-type': 'text/html' } })
  const proxy = await buildTestApp(t, simulator.url)
  const response = await proxy.inject({ method: 'GET', url: `/api/v1/computations/${ID}` })
  t.equal(response.statusCode, 502)
  t.equal(response.body, '<html>Bad Gateway</html>')
  t.match(response.headers['content-type'], /^text\/html/)
})

t.test('Code Ocean rejecting the proxy\'s own token is a 502 and an error log, not a 401', async (t) => {
  const simulator = await startTestSimulator(t, { token: 'cop_some-other-token' })
  const proxy = await buildTestApp(t, simulator.url)
  const response = await proxy.inject({ method: 'GET', url: `/api/v1/computations/${ID}` })
  t.equal(response.statusCode, 502)
  t.equal(response.json().code, 'PROXY_UPSTREAM_CREDENTIAL_REJECTED')
  t.notOk(response.headers['www-authenticate'], 'the caller is not asked for credentials')
  const errors = proxy.log.lines().filter((line) => line.level === 50)
  t.equal(errors.length, 1, 'one error line for the operators')
  t.match(errors[0]?.msg, /CODEOCEAN_TOKEN/)
  t.match(proxy.log.audits()[0], { status: 502, upstreamStatus: 401, errorClass: 'credential_rejected' })
})

t.test('a slow Code Ocean within the timeout is simply waited for', async (t) => {
  const simulator = await startTestSimulator(t)
  simulator.inject({ delayMs: 150 })
  const proxy = await buildTestApp(t, simulator.url)
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  const response = await proxy.inject({ method: 'GET', url: `/api/v1/computations/${computation.id}` })
  t.equal(response.statusCode, 200)
  t.equal(response.json().id, computation.id)
})
