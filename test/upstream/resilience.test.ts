// Protecting callers and Code Ocean, through the real app: reads are retried on 503/429/connect
// errors with Retry-After honoured and within a budget, calls that change something never are;
// past the global limit callers get 503 with Retry-After instead of a backlog; a Code Ocean
// that keeps failing trips the circuit breaker, which answers fast until a probe succeeds.
import t from 'tap'
import { buildTestApp } from '../helpers/app.js'
import { startTestSimulator } from '../helpers/simulator.js'

const fast = { UPSTREAM_RETRY_BASE_MS: '10' }

t.test('a read that meets 503, 503, then 200 answers 200 after three upstream calls', async (t) => {
  const simulator = await startTestSimulator(t)
  simulator.inject({ method: 'GET', status: 503, times: 2 })
  const proxy = await buildTestApp(t, simulator.url, fast)
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  const response = await proxy.inject({ method: 'GET', url: `/api/v1/computations/${computation.id}` })
  t.equal(response.statusCode, 200)
  t.equal(response.json().id, computation.id)
  t.equal(simulator.requests.length, 3)
  t.match(proxy.log.audits().at(-1), { status: 200, upstreamStatus: 200, upstreamAttempts: 3 }, 'every attempt is counted in the audit record')
})

t.test('a read that keeps failing gives up after the configured attempts with Code Ocean\'s last answer', async (t) => {
  const simulator = await startTestSimulator(t)
  simulator.inject({ method: 'GET', status: 502, body: { message: 'bad gateway' } })
  const proxy = await buildTestApp(t, simulator.url, { ...fast, UPSTREAM_RETRY_ATTEMPTS: '3' })
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  const response = await proxy.inject({ method: 'GET', url: `/api/v1/computations/${computation.id}/results/urls?path=output.txt` })
  t.equal(response.statusCode, 502)
  t.same(response.json(), { message: 'bad gateway' })
  t.equal(simulator.requests.length, 3)
})

t.test('runs, renames, deletes, attaches and detaches are never retried', async (t) => {
  const simulator = await startTestSimulator(t)
  simulator.inject({ status: 502, body: { message: 'bad gateway' } })
  const proxy = await buildTestApp(t, simulator.url, fast)
  const id = '5f5c3c4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f'
  const calls = [
    { method: 'POST', url: '/api/v1/computations', payload: { capsule_id: simulator.capsules.analysis } },
    { method: 'PATCH', url: `/api/v1/computations/${id}?name=x` },
    { method: 'DELETE', url: `/api/v1/computations/${id}` },
    { method: 'POST', url: `/api/v1/computations/${id}/data_assets`, payload: [{ id, mount: 'm' }] },
    { method: 'DELETE', url: `/api/v1/computations/${id}/data_assets/`, payload: [id] }
  ] as const
  for (const call of calls) {
    const before = simulator.requests.length
    t.equal((await proxy.inject({ ...call })).statusCode, 502, `${call.method} ${call.url}`)
    t.equal(simulator.requests.length - before, 1, 'one upstream call')
  }
})

t.test('Retry-After from Code Ocean is honoured before the next attempt', async (t) => {
  const simulator = await startTestSimulator(t)
  simulator.inject({ method: 'GET', status: 429, headers: { 'retry-after': '2' }, times: 1 })
  const proxy = await buildTestApp(t, simulator.url, fast)
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  const started = performance.now()
  const response = await proxy.inject({ method: 'GET', url: `/api/v1/computations/${computation.id}` })
  t.equal(response.statusCode, 200)
  t.equal(simulator.requests.length, 2)
  t.ok(performance.now() - started >= 2000, 'the second attempt waited the 2 s Code Ocean asked for')
})

t.test('a Retry-After longer than the retry budget is not waited out: the 429 is passed on at once', async (t) => {
  const simulator = await startTestSimulator(t)
  simulator.inject({ method: 'GET', status: 429, headers: { 'retry-after': '30' }, body: { message: 'slow down' } })
  const proxy = await buildTestApp(t, simulator.url, { ...fast, UPSTREAM_RETRY_BUDGET_MS: '1000' })
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  const response = await proxy.inject({ method: 'GET', url: `/api/v1/computations/${computation.id}` })
  t.equal(response.statusCode, 429)
  t.equal(response.headers['retry-after'], '30')
  t.equal(simulator.requests.length, 1)
})

t.test('connect errors are retried (nothing was sent), within the budget', async (t) => {
  const proxy = await buildTestApp(t, 'http://127.0.0.1:1', { ...fast, UPSTREAM_RETRY_ATTEMPTS: '4', BREAKER_FAILURES: '100' })
  const response = await proxy.inject({ method: 'GET', url: '/api/v1/computations/5f5c3c4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f' })
  t.equal(response.statusCode, 502)
  t.equal(response.json().code, 'PROXY_UPSTREAM_UNREACHABLE')
  t.match(proxy.log.audits().at(-1), { errorClass: 'refused', upstreamAttempts: 4 })
  t.equal(proxy.log.lines().filter((line) => line.msg === 'retrying a read from Code Ocean').length, 3)
})

t.test('past the global limit, callers get 503 with Retry-After and nothing is sent', async (t) => {
  const simulator = await startTestSimulator(t)
  simulator.inject({ method: 'GET', delayMs: 300 })
  const proxy = await buildTestApp(t, simulator.url, { UPSTREAM_MAX_CONCURRENT: '2', UPSTREAM_QUEUE_LIMIT: '1', UPSTREAM_QUEUE_TIMEOUT_MS: '2000' })
  const urls = Array.from({ length: 5 }, () => `/api/v1/computations/${simulator.addComputation({ capsule_id: simulator.capsules.analysis }).id}/results/urls?path=a`)
  const responses = await Promise.all(urls.map(async (url) => await proxy.inject({ method: 'GET', url })))
  // The simulator has no file "a": the calls that got through carry its 404.
  const statuses = responses.map((response) => response.statusCode).sort()
  t.same(statuses, [404, 404, 404, 503, 503], 'two at once and one queued got Code Ocean\'s answer; the rest are refused')
  for (const refused of responses.filter((response) => response.statusCode === 503)) {
    t.equal(refused.json().code, 'PROXY_UPSTREAM_OVERLOADED')
    t.ok(Number(refused.headers['retry-after']) >= 1)
  }
  t.equal(simulator.requests.length, 3, 'the refused calls never reached Code Ocean')
})

t.test('a queued caller waits no longer than the queue timeout', async (t) => {
  const simulator = await startTestSimulator(t)
  simulator.inject({ method: 'GET', delayMs: 1500 })
  const proxy = await buildTestApp(t, simulator.url, { UPSTREAM_MAX_CONCURRENT: '1', UPSTREAM_QUEUE_LIMIT: '5', UPSTREAM_QUEUE_TIMEOUT_MS: '100' })
  const url = (id: string): string => `/api/v1/computations/${id}/results/urls?path=a`
  const [a, b] = [0, 1].map(() => simulator.addComputation({ capsule_id: simulator.capsules.analysis }).id)
  const first = proxy.inject({ method: 'GET', url: url(String(a)) })
  for (let wait = 0; wait < 100 && simulator.requests.length === 0; wait++) await new Promise((resolve) => setTimeout(resolve, 5))
  const queued = await proxy.inject({ method: 'GET', url: url(String(b)) })
  t.equal(queued.statusCode, 503)
  t.equal(queued.json().code, 'PROXY_UPSTREAM_OVERLOADED')
  t.equal((await first).statusCode, 404, 'the call that held the slot got Code Ocean\'s answer')
})

t.test('repeated upstream failures open the circuit: fast 503s until a probe succeeds', async (t) => {
  const simulator = await startTestSimulator(t)
  simulator.inject({ status: 503, times: 2 })
  const proxy = await buildTestApp(t, simulator.url, { UPSTREAM_RETRY_ATTEMPTS: '1', BREAKER_FAILURES: '2', BREAKER_MIN_PATHS: '1', BREAKER_COOLDOWN_MS: '300' })
  const computation = simulator.addComputation({ capsule_id: simulator.capsules.analysis })
  const get = { method: 'GET', url: `/api/v1/computations/${computation.id}/results/urls?path=output.txt` } as const
  t.equal((await proxy.inject({ ...get })).statusCode, 503)
  t.equal((await proxy.inject({ ...get })).statusCode, 503)
  const open = await proxy.inject({ ...get })
  t.equal(open.statusCode, 503)
  t.equal(open.json().code, 'PROXY_UPSTREAM_CIRCUIT_OPEN')
  t.ok(Number(open.headers['retry-after']) >= 1)
  const run = await proxy.inject({ method: 'POST', url: '/api/v1/computations', payload: { capsule_id: simulator.capsules.analysis } })
  t.equal(run.json().code, 'PROXY_UPSTREAM_CIRCUIT_OPEN', 'runs are held back too')
  t.equal(simulator.requests.length, 2, 'nothing reached Code Ocean while the circuit was open')
  t.match(proxy.log.audits().at(-1), { status: 503, errorClass: 'circuit_open' })
  await new Promise((resolve) => setTimeout(resolve, 350))
  t.not((await proxy.inject({ ...get })).statusCode, 503, 'after the cooldown a probe goes through')
  t.equal(simulator.requests.length, 3)
  t.not((await proxy.inject({ ...get })).json?.().code, 'PROXY_UPSTREAM_CIRCUIT_OPEN', 'and the circuit is closed again')
})
