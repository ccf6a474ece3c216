// Callers who present no credential are bounded per source address before any identity or audit
// work, and a flood of them (or of /metrics scrapes) cannot shed callers who do present one.
import t from 'tap'
import { Pool } from 'undici'
import { SourceBudget } from '../../src/net/source-budget.js'
import { buildTestApp, DEFAULT_CALLER } from '../helpers/app.js'
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
