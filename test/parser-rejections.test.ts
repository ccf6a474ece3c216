// Requests Node's HTTP parser refuses are answered with the proxy's JSON error, counted by reason
// in /metrics and audited, over real sockets: headers too large, broken HTTP, a body shorter
// than its Content-Length. A peer that resets the connection is none of these.
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { openSqliteDatabase } from '../src/store/sqlite-database.js'
import { buildTestApp, DEFAULT_CALLER, type TestApp } from './helpers/app.js'
import { parsePrometheusText, sampleValue } from './helpers/prometheus.js'
import { answerIn, openRaw } from './helpers/raw-http.js'
import { startTestSimulator } from './helpers/simulator.js'

const ID = '5f5c3c4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f'
const CALLER_HEADERS = Object.entries(DEFAULT_CALLER).map(([name, value]) => `${name}: ${value}\r\n`).join('')

async function rejections (proxy: TestApp, reason: string): Promise<number | undefined> {
  const text = (await proxy.app.inject({ method: 'GET', url: '/metrics' })).body
  return sampleValue(parsePrometheusText(text), 'codeocean_proxy_parser_rejections_total', { reason })
}

/** What the listening proxy answers `request` with, up to closing the connection. */
async function exchange (proxy: TestApp, request: string, options: { halfClose?: boolean } = {}): Promise<string> {
  const origin = proxy.app.server.listening ? `http://127.0.0.1:${(proxy.app.server.address() as AddressInfo).port}` : await proxy.app.listen({ host: '127.0.0.1', port: 0 })
  const raw = await openRaw(origin)
  raw.socket.write(request)
  if (options.halfClose === true) raw.socket.end()
  return (await raw.closed).text
}

t.test('headers over the size limit get 431, counted and audited', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url)
  const text = await exchange(proxy, `GET /api/v1/computations/${ID} HTTP/1.1\r\nHost: proxy\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`)
  const answer = answerIn(text)
  t.equal(answer.status, 431)
  t.match(answer.body, { statusCode: 431, code: 'PROXY_HEADERS_TOO_LARGE', error: 'Request Header Fields Too Large', message: String, requestId: String })
  t.match(answer.headers, /\r\nconnection: close\r\n/)
  t.match(proxy.log.audits(), [{ actor: null, status: 431, errorCode: 'PROXY_HEADERS_TOO_LARGE', reason: 'headers_too_large', sourceIp: '127.0.0.1', requestId: answer.body.requestId }])
  t.equal(await rejections(proxy, 'headers_too_large'), 1)
})

t.test('broken HTTP gets 400, counted and audited', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url)
  const answer = answerIn(await exchange(proxy, 'NOT HTTP AT ALL\r\n\r\n'))
  t.equal(answer.status, 400)
  t.match(answer.body, { code: 'PROXY_MALFORMED_HTTP' })
  t.match(proxy.log.audits(), [{ actor: null, status: 400, errorCode: 'PROXY_MALFORMED_HTTP', reason: 'malformed' }])
  t.equal(await rejections(proxy, 'malformed'), 1)
})

t.test('headers cut short by the caller are broken HTTP', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url)
  const answer = answerIn(await exchange(proxy, `GET /api/v1/computations/${ID} HTTP/1.1\r\nHost: pro`, { halfClose: true }))
  t.match(answer.body, { code: 'PROXY_MALFORMED_HTTP' })
  t.equal(await rejections(proxy, 'malformed'), 1)
})

t.test('a body shorter than its Content-Length gets 400, audited with the request, and nothing is forwarded', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url)
  const body = JSON.stringify({ capsule_id: simulator.capsules.analysis })
  const text = await exchange(proxy,
    `POST /api/v1/computations HTTP/1.1\r\nHost: proxy\r\nContent-Type: application/json\r\nContent-Length: ${body.length + 10}\r\n${CALLER_HEADERS}\r\n${body}`,
    { halfClose: true })
  const answer = answerIn(text)
  t.equal(answer.status, 400)
  t.match(answer.body, { code: 'PROXY_INCOMPLETE_BODY', message: /Content-Length/ })
  t.match(answer.headers, /\r\nconnection: close\r\n/)
  t.match(proxy.log.audits(), [{ action: 'runCapsule', status: 400, clientAborted: false, errorCode: 'PROXY_INCOMPLETE_BODY', actor: { subject: 'tester@example.com' } }])
  t.equal(await rejections(proxy, 'incomplete_body'), 1)
  t.equal(simulator.requests.length, 0)
})

t.test('a caller resetting the connection mid-headers is not a rejection', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url)
  const origin = await proxy.app.listen({ host: '127.0.0.1', port: 0 })
  const raw = await openRaw(origin)
  raw.socket.write(`GET /api/v1/computations/${ID} HTTP/1.1\r\nHost: pro`)
  await new Promise((resolve) => setTimeout(resolve, 100))
  raw.socket.resetAndDestroy()
  await raw.closed
  // Once the proxy's side has seen the reset and closed the connection, nothing was counted.
  const open = async (): Promise<number> => await new Promise((resolve, reject) => {
    proxy.app.server.getConnections((error, count) => { if (error === null) resolve(count); else reject(error) })
  })
  for (let wait = 0; wait < 200 && await open() > 0; wait++) await new Promise((resolve) => setTimeout(resolve, 10))
  t.equal(await open(), 0)
  for (const reason of ['malformed', 'request_timeout']) t.equal(await rejections(proxy, reason), 0, `no ${reason}`)
  t.same(proxy.log.audits(), [])
})

t.test('rejections are still answered and counted when the audit trail is full', async (t) => {
  const simulator = await startTestSimulator(t)
  // A store that cannot be written: the first record stays queued, and the queue holds one.
  const store = openSqliteDatabase(':memory:')
  await store.close()
  const proxy = await buildTestApp(t, simulator.url, { AUDIT_QUEUE_LIMIT: '1' }, { store })
  for (let attempt = 0; attempt < 2; attempt++) {
    const answer = answerIn(await exchange(proxy, 'NOT HTTP AT ALL\r\n\r\n'))
    t.match(answer.body, { code: 'PROXY_MALFORMED_HTTP' })
  }
  t.equal(await rejections(proxy, 'malformed'), 2)
})
