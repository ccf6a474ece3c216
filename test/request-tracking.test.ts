// Request ids and the audit line: every response carries X-Request-Id, and every request
// leaves one structured `audit` line saying what was asked, of what, and how it ended.
import t from 'tap'
import { buildTestApp } from './helpers/app.js'
import { startTestSimulator } from './helpers/simulator.js'

t.test('a well-formed incoming request id is kept and sent on to Code Ocean', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url)
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  const response = await proxy.inject({ method: 'GET', url: `/api/v1/computations/${computation.id}`, headers: { 'x-request-id': 'gateway-trace-0001' } })
  t.equal(response.headers['x-request-id'], 'gateway-trace-0001')
  t.equal(simulator.requests[0]?.headers['x-request-id'], 'gateway-trace-0001')
})

t.test('a missing or malformed request id is replaced with a fresh one', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url)
  const plain = await proxy.inject({ method: 'GET', url: '/api/v1/nowhere' })
  const hostile = await proxy.inject({ method: 'GET', url: '/api/v1/nowhere', headers: { 'x-request-id': 'bad id with spaces <script>' } })
  t.match(plain.headers['x-request-id'], /^[0-9a-f-]{36}$/)
  t.match(hostile.headers['x-request-id'], /^[0-9a-f-]{36}$/)
  t.not(plain.headers['x-request-id'], hostile.headers['x-request-id'])
})

t.test('audit lines are written whatever LOG_LEVEL says', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, { LOG_LEVEL: 'error' })
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  await proxy.inject({ method: 'DELETE', url: `/api/v1/computations/${computation.id}` })
  t.match(proxy.log.audits(), [{ action: 'deleteComputation', status: 204 }])
  t.notOk(proxy.log.lines().some((line) => line.level === 30 && line.audit === undefined), 'other info lines are still off')
})

t.test('HEAD is not part of the API and is never forwarded', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url)
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  const response = await proxy.inject({ method: 'HEAD', url: `/api/v1/computations/${computation.id}` })
  t.equal(response.statusCode, 404)
  t.equal(simulator.requests.length, 0)
  t.match(proxy.log.audits(), [{ method: 'HEAD', status: 404, errorCode: 'PROXY_ROUTE_NOT_FOUND', action: null, route: null }])
})

t.test('body fields name the resource only once the body is valid', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url)
  const id = '11111111-1111-4111-8111-111111111111'
  await proxy.inject({ method: 'POST', url: '/api/v1/nowhere', payload: { computation_id: id, capsule_id: id } })
  await proxy.inject({ method: 'POST', url: '/api/v1/computations', payload: { capsule_id: id, colour: 'red' } })
  t.same(proxy.log.audits().map((audit) => audit.resource), [{}, {}])
})

t.test('a forwarded call leaves one audit line with the operation, ids, statuses and durations', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url)
  const run = await proxy.inject({
    method: 'POST', url: '/api/v1/computations', headers: { 'x-request-id': 'run-0000001' }, payload: { capsule_id: simulator.capsules.analysis }
  })
  const id = run.json().id as string
  await proxy.inject({ method: 'GET', url: `/api/v1/computations/${id}`, headers: { 'x-request-id': 'get-0000001' } })
  const audits = proxy.log.audits()
  t.equal(audits.length, 2)
  t.match(audits[0], {
    requestId: 'run-0000001',
    stage: 'completed',
    method: 'POST',
    action: 'runCapsule',
    route: '/api/v1/computations',
    resource: { capsule_id: simulator.capsules.analysis },
    status: 200,
    clientAborted: false,
    requestBytes: JSON.stringify({ capsule_id: simulator.capsules.analysis }).length,
    responseBytes: Buffer.byteLength(run.body),
    upstreamStatus: 200,
    errorClass: null,
    errorCode: null,
    sourceIp: '127.0.0.1'
  })
  t.match(audits[1], { requestId: 'get-0000001', action: 'getComputation', resource: { computation_id: id }, status: 200, upstreamStatus: 200 })
  for (const audit of audits) {
    t.type(audit.durationMs, 'number')
    t.type(audit.upstreamMs, 'number')
    t.ok((audit.durationMs) >= (audit.upstreamMs ?? 0), 'the whole request took at least as long as the upstream call')
  }
  const line = proxy.log.lines().find((entry) => entry.audit !== undefined)
  t.equal(line?.requestId, 'run-0000001', 'the pino line carries the request id too')
})

t.test('a run leaves one received line naming what it runs, then one completed line', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url)
  const run = await proxy.inject({ method: 'POST', url: '/api/v1/computations', payload: { capsule_id: simulator.capsules.analysis } })
  const auditId = run.headers['audit-id']
  t.match(proxy.log.auditLines(), [
    { auditId, stage: 'received', action: 'runCapsule', actor: { subject: 'tester@example.com' }, resource: { capsule_id: simulator.capsules.analysis } },
    { auditId, stage: 'completed', action: 'runCapsule', resource: { capsule_id: simulator.capsules.analysis, computation_id: run.json().id } }
  ])
  t.equal(proxy.log.auditLines().length, 2, 'and nothing else')
})

t.test('durations are milliseconds to the microsecond, and receivedAt is when the request arrived', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url)
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  simulator.inject({ method: 'GET', path: `/api/v1/computations/${computation.id}`, delayMs: 150, times: 1 })
  const response = await proxy.inject({ method: 'GET', url: `/api/v1/computations/${computation.id}` })
  t.equal(response.statusCode, 200)
  const line = proxy.log.lines().find((entry) => (entry.audit as { stage?: string } | undefined)?.stage === 'completed') as { time: number, audit: { durationMs: number, upstreamMs: number, receivedAt: string } }
  const { durationMs, upstreamMs, receivedAt } = line.audit
  // Code Ocean took 150 ms; the test app gives up on it after 2 s (UPSTREAM_HEADERS_TIMEOUT_MS).
  t.ok(upstreamMs >= 150 && upstreamMs < 2_000, `upstreamMs ${upstreamMs}`)
  t.ok(durationMs >= upstreamMs && durationMs < 10_000, `durationMs ${durationMs}`)
  for (const ms of [durationMs, upstreamMs]) t.ok(Math.abs(ms * 1000 - Math.round(ms * 1000)) < 1e-6, `${ms} is rounded to the microsecond`)
  // The line is logged when the request ends: it arrived durationMs before that.
  const arrived = line.time - durationMs
  t.ok(Math.abs(Date.parse(receivedAt) - arrived) <= 50, `receivedAt ${receivedAt}, ${durationMs} ms before the line at ${new Date(line.time).toISOString()}`)
})

t.test('an id in the path is kept as the caller sent it, cut to 128 characters, in lower case', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url)
  const response = await proxy.inject({ method: 'GET', url: `/api/v1/computations/${'AB'.repeat(100)}` })
  t.equal(response.statusCode, 400)
  t.match(proxy.log.audits(), [{ status: 400 }])
  t.same(proxy.log.audits()[0]?.resource, { computation_id: 'ab'.repeat(64) })
  t.equal(simulator.requests.length, 0)
})

t.test('requestBytes is 0 without a body, and responseBytes is what the answer declared', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url)
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  const read = await proxy.inject({ method: 'GET', url: `/api/v1/computations/${computation.id}` })
  const deleted = await proxy.inject({ method: 'DELETE', url: `/api/v1/computations/${computation.id}` })
  t.equal(deleted.statusCode, 204)
  t.match(proxy.log.audits(), [
    { action: 'getComputation', requestBytes: 0, responseBytes: Buffer.byteLength(read.body) },
    { action: 'deleteComputation', requestBytes: 0, status: 204 }
  ])
})
