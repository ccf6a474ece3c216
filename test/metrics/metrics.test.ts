// /metrics through the real app: Prometheus text that parses, counting what really happened —
// proxied calls, each call to Code Ocean and its retries, shared polls, rate-limit refusals,
// audit writes and store errors — and the gauges read when scraped.
import t from 'tap'
import { Agent } from 'undici'
import { buildTestApp, NO_LOAD_SHEDDING_ENV, type TestApp } from '../helpers/app.js'
import { parsePrometheusText, sampleValue, type Sample } from '../helpers/prometheus.js'
import { startTestSimulator } from '../helpers/simulator.js'

async function scrape (proxy: TestApp): Promise<Sample[]> {
  const response = await proxy.inject({ method: 'GET', url: '/metrics' }, null)
  t.equal(response.statusCode, 200)
  t.match(response.headers['content-type'], /^text\/plain; version=0\.0\.4/)
  return parsePrometheusText(response.body)
}

const REQUESTS = 'codeocean_proxy_request_duration_seconds_count'
const UPSTREAM = 'codeocean_proxy_upstream_duration_seconds_count'

t.test('a proxied call is counted, by operation and status, with its call to Code Ocean', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url)
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  t.equal((await proxy.inject({ method: 'GET', url: `/api/v1/computations/${computation.id}` })).statusCode, 200)
  t.equal((await proxy.inject({ method: 'GET', url: '/api/v1/computations/not-an-id' })).statusCode, 400)
  t.equal((await proxy.inject({ method: 'GET', url: '/api/v2/nothing' })).statusCode, 404)
  await new Promise((resolve) => setTimeout(resolve, 100))
  const samples = await scrape(proxy)
  t.equal(sampleValue(samples, REQUESTS, { operation: 'getComputation', status: '200' }), 1)
  t.equal(sampleValue(samples, REQUESTS, { operation: 'getComputation', status: '400' }), 1)
  t.equal(sampleValue(samples, REQUESTS, { operation: 'none', status: '404' }), 1, 'an unknown route has no operation')
  t.equal(sampleValue(samples, 'codeocean_proxy_request_duration_seconds_bucket', { operation: 'getComputation', status: '200', le: '+Inf' }), 1)
  t.equal(sampleValue(samples, UPSTREAM, { operation: 'getComputation', outcome: '200' }), 1, 'one call reached Code Ocean')
  t.equal(sampleValue(samples, 'codeocean_proxy_answers_total', { operation: 'getComputation', source: 'upstream' }), 1)
  t.ok((sampleValue(samples, 'codeocean_proxy_audit_write_duration_seconds_count') ?? 0) >= 1, 'audit writes are timed')
  t.ok((sampleValue(samples, 'codeocean_proxy_store_duration_seconds_count', { operation: 'appendAudit' }) ?? 0) >= 1, 'store operations are timed')
  t.equal(sampleValue(samples, 'codeocean_proxy_upstream_connections', { state: 'open' }), 1, 'the pool holds one connection to Code Ocean')
  t.equal(sampleValue(samples, 'codeocean_proxy_upstream_connections', { state: 'busy' }), 0)
  t.equal(sampleValue(samples, 'codeocean_proxy_upstream_calls', { state: 'active' }), 0)
  t.equal(sampleValue(samples, 'codeocean_proxy_upstream_circuit', { state: 'closed' }), 1)
  t.equal(sampleValue(samples, 'codeocean_proxy_audit_queued_records'), 0)
  t.ok(sampleValue(samples, 'nodejs_eventloop_lag_p99_seconds') !== undefined, 'the event loop\'s delay is there')
  t.ok(sampleValue(samples, 'process_resident_memory_bytes') !== undefined)
  t.equal(sampleValue(samples, REQUESTS, { operation: 'getMetrics' }), undefined, 'scrapes are not API calls')
  t.equal(proxy.log.audits().filter((audit) => audit.route === '/metrics').length, 0, 'nor audited')
})

t.test('retries, refusals, shared polls and an open circuit are counted', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, {
    UPSTREAM_RETRY_BASE_MS: '1', RATE_LIMIT_CALLS_PER_MINUTE: '7', BREAKER_FAILURES: '2', BREAKER_MIN_PATHS: '1', BREAKER_COOLDOWN_MS: '60000'
  })
  // Running: a finished computation would be answered from the terminal cache instead.
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis, state: 'running' })
  const url = `/api/v1/computations/${computation.id}`
  simulator.inject({ status: 503, times: 1 })
  t.equal((await proxy.inject({ method: 'GET', url })).statusCode, 200, 'after one retry')
  simulator.inject({ delayMs: 200, times: 1 })
  const shared = await Promise.all([1, 2, 3].map(async () => await proxy.inject({ method: 'GET', url })))
  t.same(shared.map((response) => response.statusCode), [200, 200, 200])
  simulator.inject({ status: 502, times: 2 })
  t.equal((await proxy.inject({ method: 'PATCH', url: `${url}?name=renamed` })).statusCode, 502)
  t.equal((await proxy.inject({ method: 'PATCH', url: `${url}?name=renamed` })).statusCode, 502)
  t.equal((await proxy.inject({ method: 'GET', url })).statusCode, 503, 'the circuit is open')
  t.equal((await proxy.inject({ method: 'GET', url })).statusCode, 429, 'past the caller\'s budget')
  const samples = await scrape(proxy)
  t.equal(sampleValue(samples, 'codeocean_proxy_upstream_retries_total', { operation: 'getComputation' }), 1)
  t.equal(sampleValue(samples, UPSTREAM, { operation: 'getComputation', outcome: '503' }), 1)
  t.equal(sampleValue(samples, UPSTREAM, { operation: 'getComputation', outcome: '200' }), 2, 'the retry and the shared poll')
  t.equal(sampleValue(samples, UPSTREAM, { operation: 'renameComputation', outcome: '502' }), 2)
  t.equal(sampleValue(samples, UPSTREAM, { operation: 'getComputation', outcome: 'circuit_open' }), 1, 'refused by the circuit, nothing sent')
  t.equal(sampleValue(samples, 'codeocean_proxy_answers_total', { operation: 'getComputation', source: 'coalesced' }), 2, 'two callers shared the third one\'s call')
  t.equal(sampleValue(samples, 'codeocean_proxy_rate_limited_total', { budget: 'calls' }), 1)
  t.equal(sampleValue(samples, REQUESTS, { operation: 'getComputation', status: '429' }), 1)
  t.equal(sampleValue(samples, 'codeocean_proxy_upstream_circuit', { state: 'open' }), 1)
  t.equal(sampleValue(samples, 'codeocean_proxy_upstream_circuit_openings'), 1)
})

t.test('a run over its budget is counted against the runs budget', async (t) => {
  const simulator = await startTestSimulator(t)
  const proxy = await buildTestApp(t, simulator.url, { RATE_LIMIT_RUNS_PER_MINUTE: '1' })
  for (const expected of [200, 429]) {
    t.equal((await proxy.inject({ method: 'POST', url: '/api/v1/computations', payload: { capsule_id: simulator.capsules.analysis } })).statusCode, expected)
  }
  t.equal(sampleValue(await scrape(proxy), 'codeocean_proxy_rate_limited_total', { budget: 'runs' }), 1)
})

t.test('store errors and failed audit writes are counted', async (t) => {
  const simulator = await startTestSimulator(t)
  // The default policy: reading a computation needs its owner from the store.
  const proxy = await buildTestApp(t, simulator.url, { POLICY_FILE: '' })
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  await proxy.store.close()
  t.equal((await proxy.inject({ method: 'GET', url: `/api/v1/computations/${computation.id}` })).statusCode, 503)
  await new Promise((resolve) => setTimeout(resolve, 100))
  const samples = await scrape(proxy)
  t.equal(sampleValue(samples, 'codeocean_proxy_store_errors_total', { operation: 'ownersOf' }), 1)
  t.ok((sampleValue(samples, 'codeocean_proxy_store_errors_total', { operation: 'appendAudit' }) ?? 0) >= 1)
  t.ok((sampleValue(samples, 'codeocean_proxy_audit_write_failures_total') ?? 0) >= 1)
  t.ok((sampleValue(samples, 'codeocean_proxy_audit_queued_records') ?? 0) >= 1, 'the read\'s record waits in memory')
})

t.test('with a dispatcher from outside, the pool gauge is left out', async (t) => {
  const simulator = await startTestSimulator(t)
  const dispatcher = new Agent()
  t.teardown(() => dispatcher.close())
  const { buildApp } = await import('../../src/app.js')
  const { loadConfig } = await import('../../src/config.js')
  const { TEST_TOKEN, TEST_HMAC_KEY } = await import('../helpers/secrets.js')
  const app = await buildApp({ config: loadConfig({ CODEOCEAN_DOMAIN: simulator.url, CODEOCEAN_TOKEN: TEST_TOKEN, AUDIT_HMAC_KEY: TEST_HMAC_KEY, AUDIT_DB_PATH: ':memory:', LOG_LEVEL: 'silent', ...NO_LOAD_SHEDDING_ENV }), dispatcher })
  t.teardown(() => app.close())
  const response = await app.inject({ method: 'GET', url: '/metrics' })
  const samples = parsePrometheusText(response.body)
  t.equal(samples.filter((sample) => sample.name === 'codeocean_proxy_upstream_connections').length, 0)
  t.equal(sampleValue(samples, 'codeocean_proxy_upstream_calls', { state: 'queued' }), 0)
})
