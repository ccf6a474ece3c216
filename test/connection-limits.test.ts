// Slow, idle, unauthenticated and too many callers cannot hold the proxy's connections: over real
// sockets, a request must arrive within its timeout, a 401 closes its connection, and past
// MAX_CONNECTIONS new connections are closed as soon as they are accepted.
import t from 'tap'
import { verifyAuditTrail } from '../src/audit/verify.js'
import { buildTestApp, DEFAULT_CALLER, type TestApp } from './helpers/app.js'
import { parsePrometheusText, sampleValue } from './helpers/prometheus.js'
import { answerIn, drip, openRaw } from './helpers/raw-http.js'
import { TEST_CHAIN_KEYS } from './helpers/secrets.js'
import { startTestSimulator } from './helpers/simulator.js'

const ID = '5f5c3c4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f'
/** Small, so that the tests are quick; the bounds asserted are generous multiples of them. */
const SHORT_TIMEOUTS = { REQUEST_TIMEOUT_MS: '1000', HEADERS_TIMEOUT_MS: '1000' }
const CALLER_HEADERS = Object.entries(DEFAULT_CALLER).map(([name, value]) => `${name}: ${value}\r\n`).join('')

const runHead = (headers: string, length: number): string =>
  `POST /api/v1/computations HTTP/1.1\r\nHost: proxy\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n${headers}\r\n`

async function metric (proxy: TestApp, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  return sampleValue(parsePrometheusText((await proxy.app.inject({ method: 'GET', url: '/metrics' })).body), name, labels)
}

t.test('40 unauthenticated connections dripping a body are all closed within the request timeout', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, SHORT_TIMEOUTS)
  const origin = await proxy.app.listen({ host: '127.0.0.1', port: 0 })
  const exchanges = await Promise.all(Array.from({ length: 40 }, async () => await openRaw(origin)))
  for (const exchange of exchanges) {
    exchange.socket.write(runHead('', 10_000))
    drip(exchange, ' ', 200)
  }
  const closings = await Promise.all(exchanges.map(async (exchange) => await exchange.closed))
  for (const { text, afterMs } of closings) {
    t.ok(afterMs < 5_000, `closed after ${afterMs} ms`)
    t.equal(answerIn(text).status, 401)
  }
  t.equal(simulator.requests.length, 0)
})

t.test('a 401 answer closes its connection', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url)
  const origin = await proxy.app.listen({ host: '127.0.0.1', port: 0 })
  const exchange = await openRaw(origin)
  // Keep-alive is HTTP/1.1's default: only the proxy's answer can close this connection.
  exchange.socket.write(`GET /api/v1/computations/${ID} HTTP/1.1\r\nHost: proxy\r\n\r\n`)
  const { text } = await exchange.closed
  const answer = answerIn(text)
  t.equal(answer.status, 401)
  t.match(answer.headers, /\r\nconnection: close\r\n/)
  t.equal(answer.body.code, 'PROXY_UNAUTHENTICATED')
})

t.test('an authenticated caller dripping a body gets 408 at the request timeout, audited, and the connection closed', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, SHORT_TIMEOUTS)
  const origin = await proxy.app.listen({ host: '127.0.0.1', port: 0 })
  const exchange = await openRaw(origin)
  exchange.socket.write(runHead(CALLER_HEADERS, 10_000))
  drip(exchange, ' ', 200)
  const { text, afterMs } = await exchange.closed
  t.ok(afterMs >= 900 && afterMs < 5_000, `closed after ${afterMs} ms`)
  const answer = answerIn(text)
  t.equal(answer.status, 408)
  t.match(answer.body, { statusCode: 408, code: 'PROXY_REQUEST_TIMEOUT', message: /within 1000 ms/ })
  t.match(answer.headers, /\r\nconnection: close\r\n/)
  t.match(proxy.log.audits(), [{ action: 'runCapsule', status: 408, errorCode: 'PROXY_REQUEST_TIMEOUT', actor: { subject: 'tester@example.com' } }])
  t.equal(await metric(proxy, 'codeocean_proxy_parser_rejections_total', { reason: 'request_timeout' }), 1)
  t.equal(simulator.requests.length, 0, 'nothing was forwarded')
})

t.test('headers dripped past the headers timeout get 408 and a compact audit record', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, SHORT_TIMEOUTS)
  const origin = await proxy.app.listen({ host: '127.0.0.1', port: 0 })
  const exchange = await openRaw(origin)
  exchange.socket.write(`GET /api/v1/computations/${ID} HTTP/1.1\r\n`)
  drip(exchange, 'X-Slow: 1\r\n', 200)
  const { text, afterMs } = await exchange.closed
  t.ok(afterMs >= 900 && afterMs < 5_000, `closed after ${afterMs} ms`)
  const answer = answerIn(text)
  t.equal(answer.status, 408)
  t.match(answer.body, { code: 'PROXY_REQUEST_TIMEOUT', requestId: String })
  const [record] = proxy.log.audits()
  t.match(record, { stage: 'completed', action: null, actor: null, status: 408, errorCode: 'PROXY_REQUEST_TIMEOUT', reason: 'request_timeout', sourceIp: '127.0.0.1' })
  t.match(answer.headers, new RegExp(`\r\naudit-id: ${String(record?.auditId)}\r\n`), 'the answer names its record')
  // Written in the background, shortly.
  let rows = await proxy.store.queryAudit({ limit: 10 })
  for (let wait = 0; wait < 200 && rows.length === 0; wait++) {
    await new Promise((resolve) => setTimeout(resolve, 10))
    rows = await proxy.store.queryAudit({ limit: 10 })
  }
  t.match(rows, [{ auditId: record?.auditId, status: 408, actor: null }], 'the record is in the durable trail')
  t.same(await verifyAuditTrail(proxy.store, { keys: TEST_CHAIN_KEYS }), { chains: 1, records: 1 }, 'and its chain verifies')
})

t.test('a read whose announced body never comes is cut at the request timeout', async (t) => {
  const simulator = await startTestSimulator(t)
  // The read waits on Code Ocean while its body (never read: a GET has none to forward) is missing.
  simulator.inject({ delayMs: 3_000 })
  const proxy = await buildTestApp(t, simulator.url, { ...SHORT_TIMEOUTS, UPSTREAM_HEADERS_TIMEOUT_MS: '5000' })
  const origin = await proxy.app.listen({ host: '127.0.0.1', port: 0 })
  const exchange = await openRaw(origin)
  exchange.socket.write(`GET /api/v1/computations/${ID} HTTP/1.1\r\nHost: proxy\r\nContent-Length: 10\r\n${CALLER_HEADERS}\r\n`)
  const { text, afterMs } = await exchange.closed
  t.ok(afterMs < 2_900, `closed after ${afterMs} ms, before Code Ocean answered`)
  t.equal(text, '', 'no answer had started')
  for (let wait = 0; wait < 500 && proxy.log.audits().length === 0; wait++) await new Promise((resolve) => setTimeout(resolve, 10))
  t.match(proxy.log.audits(), [{ action: 'getComputation', status: 499, clientAborted: true }], 'its own record says the caller was cut off')
  t.equal(await metric(proxy, 'codeocean_proxy_parser_rejections_total', { reason: 'request_timeout' }), 1)
})

t.test('past MAX_CONNECTIONS a new connection is closed at once, and counted', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, { MAX_CONNECTIONS: '2' })
  const origin = await proxy.app.listen({ host: '127.0.0.1', port: 0 })
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  const held = await Promise.all([openRaw(origin), openRaw(origin)])
  for (const exchange of held) {
    exchange.socket.write(`GET /api/v1/computations/${computation.id} HTTP/1.1\r\nHost: proxy\r\n${CALLER_HEADERS}\r\n`)
  }
  // Each answered and kept alive: both connections are open on the proxy's side.
  for (const exchange of held) {
    for (let wait = 0; wait < 200 && !exchange.received().includes('\r\n\r\n'); wait++) await new Promise((resolve) => setTimeout(resolve, 10))
    t.match(exchange.received(), /^HTTP\/1\.1 200 /)
  }
  const refused = await openRaw(origin)
  refused.socket.write(`GET /api/v1/computations/${computation.id} HTTP/1.1\r\nHost: proxy\r\n${CALLER_HEADERS}\r\n`)
  const { text } = await refused.closed
  t.equal(text, '', 'closed without an answer')
  t.equal(await metric(proxy, 'codeocean_proxy_connections_dropped_total'), 1)
  t.notOk(held.some((exchange) => exchange.socket.destroyed), 'the open connections are kept')
  for (const exchange of held) exchange.socket.destroy()
})
