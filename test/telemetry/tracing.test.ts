// Tracing on: the real app, listening on loopback, in front of the simulator, exporting to a
// stand-in collector. A call is one trace (the request, the policy decision, the audit write and
// the call to Code Ocean), Code Ocean is sent that trace's context, a caller's trace is
// continued, and no span carries a credential.
import { request as httpRequest } from 'node:http'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import t, { type Test } from 'tap'
import { createServiceKey } from '../../src/identity/service-keys.js'
import { loadConfig } from '../../src/config.js'
import { samplerOf, startTracing } from '../../src/telemetry/tracing.js'
import { assertNoSecret, buildTestApp, DEFAULT_CALLER, type TestApp } from '../helpers/app.js'
import { startJwksServer } from '../helpers/jwks-server.js'
import { createLogSink, type LogSink } from '../helpers/log-sink.js'
import { TEST_TOKEN } from '../helpers/secrets.js'
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../helpers/otlp-receiver.js'
import { startTestSimulator } from '../helpers/simulator.js'
import type { Simulator } from '../../src/simulator/index.js'
import { openSqliteDatabase } from '../../src/store/sqlite-database.js'
import type { Store } from '../../src/store/store.js'

const SERVER = 2
const CLIENT = 3
const CALLER_TRACE_ID = '0af7651916cd43dd8448eb211c80319c'
const CALLER_PARENT_ID = 'b7ad6b7169203331'

interface Traced {
  simulator: Simulator
  proxy: TestApp
  receiver: OtlpReceiver
  /** The process-wide tracing's own log (export problems). */
  log: LogSink
  /** The proxy's address, http://127.0.0.1:port. */
  address: string
  /** Shuts tracing down, which sends every span still buffered, and answers what the collector got. */
  spans (): Promise<ReceivedSpan[]>
}

/** Tracing started for one test and shut down after it, around a proxy listening on loopback. */
async function traced (t: Test, env: Record<string, string> = {}, options: { store?: Store, tracingEnv?: Record<string, string> } = {}): Promise<Traced> {
  const receiver = await startOtlpReceiver(t)
  const simulator = await startTestSimulator(t)
  const log = createLogSink('warn')
  // Configured as the process is: from the OTEL_* variables.
  const { tracing: config } = loadConfig({
    CODEOCEAN_DOMAIN: simulator.url,
    CODEOCEAN_TOKEN: TEST_TOKEN,
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_SERVICE_NAME: 'proxy-under-test',
    ...options.tracingEnv
  })
  if (config === undefined) throw new Error('tracing is configured')
  const tracing = startTracing(config, log.logger)
  t.teardown(async () => { await tracing.shutdown() })
  const proxy = await buildTestApp(t, simulator.url, env, { tracing, ...(options.store === undefined ? {} : { store: options.store }) })
  const address = await proxy.app.listen({ host: '127.0.0.1', port: 0 })
  return {
    simulator,
    proxy,
    receiver,
    log,
    address,
    async spans () {
      await tracing.shutdown()
      return receiver.spans
    }
  }
}

/** One call over a real connection (node:http, which no instrumentation here traces). */
async function send (url: string, options: { method?: string, headers?: Record<string, string>, body?: unknown } = {}): Promise<{ status: number, body: string }> {
  const body = options.body === undefined ? undefined : JSON.stringify(options.body)
  const headers = { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...options.headers }
  return await new Promise((resolve, reject) => {
    const request = httpRequest(url, { method: options.method ?? 'GET', headers }, (response) => {
      const chunks: Buffer[] = []
      response.on('data', (chunk: Buffer) => chunks.push(chunk))
      response.on('end', () => resolve({ status: response.statusCode as number, body: Buffer.concat(chunks).toString('utf8') }))
    })
    request.on('error', reject)
    request.end(body)
  })
}

function only (t: Test, spans: ReceivedSpan[], what: string, matches: (span: ReceivedSpan) => boolean): ReceivedSpan {
  const found = spans.filter(matches)
  t.equal(found.length, 1, `one ${what} span`)
  return found[0] as ReceivedSpan
}

/** The trace parts of a traceparent header: [version, trace id, parent id, flags]. */
function partsOf (traceparent: unknown): string[] {
  if (typeof traceparent !== 'string' || !/^00-[\da-f]{32}-[\da-f]{16}-[\da-f]{2}$/.test(traceparent)) throw new Error(`not one traceparent: ${String(traceparent)}`)
  return traceparent.split('-')
}

t.test('a run is one trace: the request, the policy decision, the audit write and the call to Code Ocean', async (t) => {
  const { simulator, address, spans } = await traced(t)
  const run = await send(`${address}/api/v1/computations`, { method: 'POST', headers: DEFAULT_CALLER, body: { capsule_id: simulator.capsules.analysis } })
  t.equal(run.status, 200)
  const received = await spans()

  const request = only(t, received, 'request', (span) => span.kind === SERVER)
  t.match(request, { name: 'POST /api/v1/computations', parentSpanId: '', attributes: { 'http.route': '/api/v1/computations', 'http.response.status_code': 200 } })
  t.match(request.resource, { 'service.name': 'proxy-under-test' })
  const trace = received.filter((span) => span.traceId === request.traceId)
  t.match(only(t, trace, 'policy', (span) => span.name === 'policy'), { parentSpanId: request.spanId, attributes: { 'policy.action': 'run', 'policy.outcome': 'allow' } })
  // The run waits for its `received` record to be written; its `completed` one may make a second write.
  const writes = trace.filter((span) => span.name === 'audit write')
  t.ok(writes.length >= 1 && writes.every((span) => span.attributes['audit.records'] as number >= 1), 'the audit writes')
  const call = only(t, trace, 'call to Code Ocean', (span) => span.kind === CLIENT)
  t.match(call, { name: 'POST', attributes: { 'http.request.method': 'POST', 'url.path': '/api/v1/computations', 'http.response.status_code': 200 } })

  const [, traceId, parentId, flags] = partsOf(simulator.requests[0]?.headers.traceparent)
  t.equal(traceId, request.traceId, 'Code Ocean is sent the request\'s trace')
  t.equal(parentId, call.spanId, 'as a child of the call\'s span')
  t.equal(flags, '01')
})

t.test('OTEL_TRACES_SAMPLER=always_off keeps no trace, while calls still reach Code Ocean with a trace context', async (t) => {
  const { simulator, address, spans } = await traced(t, {}, { tracingEnv: { OTEL_TRACES_SAMPLER: 'always_off' } })
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  t.equal((await send(`${address}/api/v1/computations/${computation.id}`, { headers: DEFAULT_CALLER })).status, 200)
  t.same(await spans(), [], 'no span was exported')
  t.equal(partsOf(simulator.requests[0]?.headers.traceparent)[3], '00', 'the trace is marked as not sampled')
})

t.test('each sampler name gives the sampler OpenTelemetry defines for it', async (t) => {
  t.equal(samplerOf({ name: 'always_on', ratio: 1 }).toString(), 'AlwaysOnSampler')
  t.equal(samplerOf({ name: 'always_off', ratio: 1 }).toString(), 'AlwaysOffSampler')
  t.equal(samplerOf({ name: 'traceidratio', ratio: 0.25 }).toString(), 'TraceIdRatioBased{0.25}')
  t.match(samplerOf({ name: 'parentbased_always_on', ratio: 1 }).toString(), /^ParentBased\{root=AlwaysOnSampler,/)
  t.match(samplerOf({ name: 'parentbased_always_off', ratio: 1 }).toString(), /^ParentBased\{root=AlwaysOffSampler,/)
  t.match(samplerOf({ name: 'parentbased_traceidratio', ratio: 0.5 }).toString(), /^ParentBased\{root=TraceIdRatioBased\{0\.5\},/)
})

t.test('a caller\'s traceparent is continued, and passed on only as the proxy\'s own span', async (t) => {
  const { simulator, address, spans } = await traced(t)
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  const headers = { ...DEFAULT_CALLER, traceparent: `00-${CALLER_TRACE_ID}-${CALLER_PARENT_ID}-01`, tracestate: 'vendor=abc' }
  t.equal((await send(`${address}/api/v1/computations/${computation.id}`, { headers })).status, 200)
  const received = await spans()

  const request = only(t, received, 'request', (span) => span.kind === SERVER)
  t.match(request, { traceId: CALLER_TRACE_ID, parentSpanId: CALLER_PARENT_ID, name: 'GET /api/v1/computations/:computation_id' })
  const call = only(t, received, 'call to Code Ocean', (span) => span.kind === CLIENT)
  t.equal(call.traceId, CALLER_TRACE_ID)
  only(t, received, 'policy', (span) => span.name === 'policy' && span.traceId === CALLER_TRACE_ID)
  const [, traceId, parentId] = partsOf(simulator.requests[0]?.headers.traceparent)
  t.same([traceId, parentId], [CALLER_TRACE_ID, call.spanId], 'one traceparent, the proxy\'s, in the caller\'s trace')
  t.equal(simulator.requests[0]?.headers.tracestate, 'vendor=abc', 'the caller\'s tracestate goes with it')
  t.equal(simulator.requests[0]?.headers.baggage, undefined)
})

t.test('a caller\'s baggage is neither recorded nor passed on', async (t) => {
  const { simulator, address, spans } = await traced(t)
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  await send(`${address}/api/v1/computations/${computation.id}`, { headers: { ...DEFAULT_CALLER, baggage: 'user=mallory' } })
  t.equal(simulator.requests[0]?.headers.baggage, undefined)
  t.notOk((await spans()).some((span) => JSON.stringify(span).includes('mallory')))
})

t.test('a refused call is traced too: the policy span says deny, with the error\'s code', async (t) => {
  const { simulator, address, spans } = await traced(t)
  const outsider = { 'x-forwarded-user': 'mallory@example.com', 'x-forwarded-groups': 'outsiders' }
  const refused = await send(`${address}/api/v1/computations`, { method: 'POST', headers: outsider, body: { capsule_id: simulator.capsules.analysis } })
  t.equal(refused.status, 403)
  t.equal((await send(`${address}/api/v1/nowhere`, { headers: DEFAULT_CALLER })).status, 404)
  const received = await spans()

  t.match(only(t, received, 'policy', (span) => span.name === 'policy'), { attributes: { 'policy.action': 'run', 'policy.outcome': 'deny', 'error.type': 'PROXY_FORBIDDEN' } })
  t.match(only(t, received, 'refused request', (span) => span.kind === SERVER && span.attributes['http.route'] !== undefined), { attributes: { 'http.response.status_code': 403 } })
  t.match(only(t, received, 'unrouted request', (span) => span.kind === SERVER && span.attributes['http.route'] === undefined), { name: 'GET', attributes: { 'http.response.status_code': 404 } })
  t.notOk(received.some((span) => span.kind === CLIENT), 'nothing was forwarded')
  t.equal(simulator.requests.length, 0)
})

t.test('an audit write the store refuses is a failed span', async (t) => {
  const store = openSqliteDatabase(':memory:')
  t.teardown(async () => { await store.close() })
  const failing: Store = Object.assign(Object.create(store) as Store, { appendAudit: async () => { throw new Error('disk full') } })
  const { simulator, proxy, address, spans } = await traced(t, {}, { store: failing })
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  t.equal((await send(`${address}/api/v1/computations/${computation.id}`, { headers: DEFAULT_CALLER })).status, 200, 'a read does not wait for its record')
  // Reads' records are written in the background: wait until a write has failed, however busy the machine.
  const failed = (): boolean => proxy.log.lines().some((line) => line.msg === 'audit records could not be written; they stay queued')
  for (let wait = 0; wait < 500 && !failed(); wait++) await new Promise((resolve) => setTimeout(resolve, 10))
  t.ok(failed(), 'a background write failed')
  t.match((await spans()).find((span) => span.name === 'audit write'), { attributes: { 'error.type': 'Error' } })
})

t.test('no span carries a credential: the token, a service key or a gateway JWT', async (t) => {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true })
  const jwks = await startJwksServer(t)
  jwks.setKeys({ keys: [{ ...(await exportJWK(publicKey)), kid: 'gw-1', alg: 'ES256', use: 'sig' }] })
  const { simulator, proxy, receiver, address, spans } = await traced(t, {
    GATEWAY_JWT_HEADER: 'Authorization',
    GATEWAY_JWKS_URL: jwks.url,
    GATEWAY_JWT_ISSUER: 'https://auth.example.org',
    GATEWAY_JWT_AUDIENCE: 'codeocean-proxy'
  })
  const now = Math.floor(Date.now() / 1000)
  const jwt = await new SignJWT({ iss: 'https://auth.example.org', aud: 'codeocean-proxy', sub: 'u-123', groups: ['proxy-admins'], iat: now, exp: now + 60 })
    .setProtectedHeader({ alg: 'ES256', kid: 'gw-1' })
    .sign(privateKey)
  const { key } = await createServiceKey(proxy.store, { subject: 'svc', groups: ['proxy-admins'] })
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  const url = `${address}/api/v1/computations/${computation.id}`
  t.equal((await send(url, { headers: { authorization: `Bearer ${jwt}` } })).status, 200, 'a gateway caller')
  t.equal((await send(url, { headers: { authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}` } })).status, 200, 'a service key caller')
  t.equal((await send(url, { headers: { authorization: `Bearer ${key}x` } })).status, 401, 'a wrong key')

  t.ok((await spans()).filter((span) => span.kind === CLIENT && span.traceId !== '').length >= 2, 'the calls were traced')
  const exported = receiver.bodies.join('\n')
  assertNoSecret(t, exported, 'the exported spans')
  t.notOk(exported.includes(key), 'no service key')
  t.notOk(exported.includes(jwt.split('.')[2] as string), 'no JWT')
  t.notMatch(exported, /authorization/i, 'no Authorization header at all')
})

t.test('spans the collector refuses are reported in the log, not lost silently', async (t) => {
  // Batches go every 20 ms instead of every 5 s, so one fails before the shutdown.
  const { simulator, receiver, log, address } = await traced(t, {}, { tracingEnv: { OTEL_BSP_SCHEDULE_DELAY: '20' } })
  receiver.status = 400
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  await send(`${address}/api/v1/computations/${computation.id}`, { headers: DEFAULT_CALLER })
  for (let attempt = 0; attempt < 200 && log.lines().length === 0; attempt++) await new Promise((resolve) => setTimeout(resolve, 10))
  t.match(log.lines(), [{ level: 50, msg: /^opentelemetry: / }], 'while running')
})

t.test('spans that cannot be sent at shutdown are reported, and the shutdown still completes', async (t) => {
  const { simulator, receiver, log, address, spans } = await traced(t)
  receiver.status = 400
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  await send(`${address}/api/v1/computations/${computation.id}`, { headers: DEFAULT_CALLER })
  await spans()
  t.match(log.lines(), [{ level: 40, msg: 'opentelemetry: the last spans could not be sent' }])
})

t.test('spans carry route templates and ids, never a query value: a rename\'s name and a result\'s path stay out', async (t) => {
  const { simulator, receiver, address, spans } = await traced(t)
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  const url = `${address}/api/v1/computations/${computation.id}`
  const name = 'RenamedForProjectZanzibar'
  const path = 'zanzibar-results/figure.png'
  t.equal((await send(`${url}?name=${name}`, { method: 'PATCH', headers: DEFAULT_CALLER })).status, 204)
  // No such file in the results: Code Ocean's 404, after a call that carried the path.
  t.equal((await send(`${url}/results/urls?path=${encodeURIComponent(path)}`, { headers: DEFAULT_CALLER })).status, 404)
  // Refused values, whose errors the request span records, are no less private.
  t.equal((await send(`${url}?name=Zanzibar%07`, { method: 'PATCH', headers: DEFAULT_CALLER })).status, 400)
  t.equal((await send(`${url}/results/urls?path=zanzibar%07`, { headers: DEFAULT_CALLER })).status, 400)
  // A query on an unrouted URL, or refused before any route, is no less private.
  t.equal((await send(`${address}/api/v1/nowhere?secret=ZanzibarUnrouted`, { headers: DEFAULT_CALLER })).status, 404)
  const received = await spans()
  t.ok(received.filter((span) => span.kind === CLIENT).length >= 2, 'the calls to Code Ocean were traced')
  const exported = receiver.bodies.join('\n')
  t.notMatch(exported, /zanzibar/i, 'no query value reached the collector')
  const server = received.filter((span) => span.kind === SERVER)
  t.ok(server.some((span) => span.attributes['http.route'] === '/api/v1/computations/:computation_id/results/urls'), 'the route template is kept')
  t.ok(received.some((span) => JSON.stringify(span.attributes).includes(computation.id)), 'and the computation id')
  const rename = only(t, received, 'rename forwarded', (span) => span.kind === CLIENT && span.attributes['http.request.method'] === 'PATCH')
  t.match(rename.attributes, { 'url.path': `/api/v1/computations/${computation.id}`, 'url.query': '?name=REDACTED', 'url.full': `${simulator.url}/api/v1/computations/${computation.id}?name=REDACTED` })
  t.match(only(t, server, 'rename received', (span) => span.name === 'PATCH /api/v1/computations/:computation_id' && span.attributes['http.response.status_code'] === 204).attributes,
    { 'url.path': `/api/v1/computations/${computation.id}`, 'url.query': '?name=REDACTED' }, 'the query\'s names are kept, its values not')
})
